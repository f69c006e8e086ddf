/**
 * @module JSON text as Go's encoding/json writes it, for values daprd's stores re-encode: object keys sorted,
 * `<`, `>`, `&`, U+2028 and U+2029 escaped. Numbers already print alike (both switch to exponent form at 1e21).
 */
import type { SecretData } from "../types.js";

const GO_ESCAPES: Record<string, string> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
};

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(o)
        .sort()
        .map((k) => [k, sortKeys(o[k])]),
    );
  }
  return v;
}

/** Go's `json.Marshal` of a value decoded from JSON. */
export function goJson(value: unknown): string {
  return JSON.stringify(sortKeys(value)).replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c] as string);
}

/** A decoded JSON object as secret data: strings as they are, any other member as its Go JSON text. */
export function stringValues(data: Record<string, unknown>): SecretData {
  const out: SecretData = {};
  for (const [k, v] of Object.entries(data)) out[k] = typeof v === "string" ? v : goJson(v);
  return out;
}
