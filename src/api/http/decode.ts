/** @module Go's URL decoding rules, which daprd applies to paths and queries. */
import { NO_METADATA } from "../../core/secrets-service.js";

/** Go `path.Clean`: collapse slashes, resolve "." and "..", drop a trailing slash. */
export function cleanPath(p: string): string {
  if (p === "") return ".";
  // Fast path: nothing to clean in the common case.
  if (!p.includes("//") && !p.includes("/.") && (p.length === 1 || !p.endsWith("/"))) return p;
  const rooted = p.startsWith("/");
  const out: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
    } else out.push(seg);
  }
  const joined = out.join("/");
  return rooted ? `/${joined}` : joined || ".";
}

/** The start of a secret read's path, `/v1.0/secrets/{store}/{key}`. */
export const SECRETS_PREFIX = "/v1.0/secrets/";

/**
 * Where the slash between store and key is when `url` (its path ending at `end`) is a plain secret read:
 * `/v1.0/secrets/{store}/{key}`, both names there and neither "." nor "..". Go's path.Clean leaves such a path
 * as it is, so it can be routed without cleaning and splitting it (hot path, profiled). -1 for any other path.
 */
export function plainSecretPath(url: string, end: number): number {
  if (!url.startsWith(SECRETS_PREFIX)) return -1;
  const start = SECRETS_PREFIX.length;
  const slash = url.indexOf("/", start);
  if (slash <= start || slash + 1 >= end) return -1;
  const next = url.indexOf("/", slash + 1);
  if (next >= 0 && next < end) return -1;
  return isDots(url, start, slash) || isDots(url, slash + 1, end) ? -1 : slash;
}

/** Whether `s` from `from` to `to` is "." or "..". */
function isDots(s: string, from: number, to: number): boolean {
  const n = to - from;
  return n <= 2 && s.charCodeAt(from) === 46 && (n === 1 || s.charCodeAt(from + 1) === 46);
}

const hexVal = (c: number): number =>
  c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;

export class EscapeError extends Error {
  constructor(readonly bad: string) {
    super(`invalid URL escape ${JSON.stringify(bad)}`);
  }
}

/** Go `url.QueryUnescape`: "+" is a space; a bad escape throws with Go's message. */
export function queryUnescape(s: string): string {
  if (!s.includes("%") && !s.includes("+")) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 37) {
      const h = hexVal(s.charCodeAt(i + 1));
      const l = hexVal(s.charCodeAt(i + 2));
      if (i + 2 >= s.length || h < 0 || l < 0) throw new EscapeError(s.slice(i, i + 3));
      bytes.push(h * 16 + l);
      i += 2;
    } else if (c === 43) bytes.push(32);
    else if (c < 128) bytes.push(c);
    else for (const b of Buffer.from(s[i]!, "utf8")) bytes.push(b);
  }
  return Buffer.from(bytes).toString("utf8");
}

/** `metadata.*` query parameters, prefix removed, first value wins; undecodable pairs are dropped as Go does. */
export function metadataFromQuery(rawQuery: string): Readonly<Record<string, string>> {
  // Most calls carry none: they share one empty object (hot path).
  if (!rawQuery.includes("metadata.")) return NO_METADATA;
  const out: Record<string, string> = {};
  for (const pair of rawQuery.split("&")) {
    if (pair === "" || pair.includes(";")) continue;
    const eq = pair.indexOf("=");
    let key: string;
    let value: string;
    try {
      key = queryUnescape(eq < 0 ? pair : pair.slice(0, eq));
      value = eq < 0 ? "" : queryUnescape(pair.slice(eq + 1));
    } catch {
      continue;
    }
    if (key.startsWith("metadata.")) {
      const name = key.slice("metadata.".length);
      if (!Object.hasOwn(out, name)) out[name] = value;
    }
  }
  return out;
}
