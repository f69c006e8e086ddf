/** @module Decoding component metadata the way daprd does: case-insensitive names, weak typing. */
import { SecretStoreError, type ComponentMetadata } from "./types.js";

/** Value of the first property whose name matches one of `names` case-insensitively (aliases in order). */
export function metadataValue(metadata: ComponentMetadata, ...names: string[]): string | undefined {
  for (const wanted of names) {
    if (Object.hasOwn(metadata, wanted)) return metadata[wanted];
    const lower = wanted.toLowerCase();
    for (const [k, v] of Object.entries(metadata)) if (k.toLowerCase() === lower) return v;
  }
  return undefined;
}

const TRUTHY = new Set(["y", "yes", "true", "t", "on", "1"]);

/** daprd's `utils.IsTruthy`: y, yes, true, t, on, 1 (any case). */
export function isTruthy(value: string | undefined): boolean {
  return value !== undefined && TRUTHY.has(value.trim().toLowerCase());
}

/** A boolean option that must be a recognisable boolean when present. */
export function booleanOption(metadata: ComponentMetadata, name: string, fallback: boolean): boolean {
  const raw = metadataValue(metadata, name);
  if (raw === undefined || raw.trim() === "") return fallback;
  const v = raw.trim().toLowerCase();
  if (TRUTHY.has(v)) return true;
  if (["n", "no", "false", "f", "off", "0"].includes(v)) return false;
  throw new SecretStoreError("invalid_config", `metadata ${name}: ${JSON.stringify(raw)} is not a boolean`);
}

/** A required, non-empty option. */
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a Go duration ("1h2m3.5s", "500ms") or a bare integer (taken as seconds, as dapr/kit does for
 * metadata durations). Returns milliseconds, or undefined when the text is not a duration.
 */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (/^-?\d+$/.test(s)) return Number(s) * 1000;
  const m = /^(-?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$/.exec(s);
  if (!m) return s === "0" ? 0 : undefined;
  let total = 0;
  for (const part of s.replace(/^-/, "").matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(part[1]) * (UNIT_MS[part[2] as string] ?? 0);
  }
  return m[1] === "-" ? -total : total;
}
