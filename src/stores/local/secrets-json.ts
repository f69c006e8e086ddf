/** @module Reading and flattening local.file's JSON document: bounded in size and nesting, never quoting content. */
import { fileReadReason, readRegularTextFile } from "../shared/files.js";
import { SecretStoreError, type SecretData } from "../types.js";

export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

/** Deeper documents are refused: flattening recurses once per level, and no real secrets file comes close. */
export const MAX_JSON_DEPTH = 64;

export function isObject(v: Json): v is { [k: string]: Json } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export async function readSecretsFile(
  path: string,
  maxBytes: number,
  signal: AbortSignal | undefined,
): Promise<{ [k: string]: Json }> {
  let text: string;
  try {
    text = await readRegularTextFile(path, { maxBytes, signal });
  } catch (err) {
    throw new SecretStoreError("invalid_config", `cannot read secrets file ${path}: ${fileReadReason(err)}`, {
      cause: err,
    });
  }
  const tooDeep = depthExceededAt(text, MAX_JSON_DEPTH);
  if (tooDeep !== undefined)
    throw new SecretStoreError(
      "invalid_config",
      `secrets file ${path} nests deeper than ${MAX_JSON_DEPTH} levels${position(text, tooDeep)}`,
    );
  let doc: Json;
  try {
    doc = JSON.parse(text) as Json;
  } catch (err) {
    // V8's message quotes the file's text, which is secret: report only where it broke.
    throw new SecretStoreError(
      "invalid_config",
      `secrets file ${path} is not valid JSON${jsonErrorPosition(err, text)}`,
    );
  }
  if (!isObject(doc))
    throw new SecretStoreError("invalid_config", `secrets file ${path} must hold a JSON object at the top level`);
  return doc;
}

/** The offset of the first `[` or `{` (outside strings) that opens level `max + 1`, if any. */
function depthExceededAt(text: string, max: number): number | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return i;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return undefined;
}

function jsonErrorPosition(err: unknown, text: string): string {
  const m = /position (\d+)/.exec(String(err));
  const pos = m ? Number(m[1]) : /end of JSON input/.test(String(err)) ? text.length : undefined;
  return pos === undefined ? "" : position(text, pos);
}

function position(text: string, pos: number): string {
  const before = text.slice(0, pos);
  const line = before.split("\n").length;
  const column = pos - before.lastIndexOf("\n");
  return ` (line ${line}, column ${column})`;
}

/** Flattens nested objects and arrays into `a<sep>b<sep>0` keys; leaves become their JSON text. */
export function flatten(root: Json, separator: string): SecretData {
  const out: SecretData = {};
  const visit = (value: Json, path: string): void => {
    if (Array.isArray(value)) {
      value.forEach((v, i) => visit(v, path === "" ? String(i) : `${path}${separator}${i}`));
      return;
    }
    if (isObject(value)) {
      for (const [k, v] of Object.entries(value)) visit(v, path === "" ? k : `${path}${separator}${k}`);
      return;
    }
    if (Object.hasOwn(out, path)) {
      // daprd silently stops loading here; a clear error is kinder than missing secrets.
      throw new SecretStoreError(
        "invalid_config",
        `secrets file has two values for the flattened key ${JSON.stringify(path)}`,
      );
    }
    out[path] = typeof value === "string" ? value : JSON.stringify(value);
  };
  visit(root, "");
  return out;
}
