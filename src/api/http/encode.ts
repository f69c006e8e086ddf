/**
 * @module JSON exactly as daprd writes it (Go encoding/json): sorted keys, `<`, `>`, `&`, U+2028 and
 * U+2029 escaped. Hand-rolled because this is the hot path and JSON.stringify neither sorts nor escapes.
 */
const NEEDS_ESCAPE = /[<>&\u2028\u2029]/;
const ESCAPES: Record<string, string> = { "<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029" };

export function goString(s: string): string {
  const j = JSON.stringify(s);
  return NEEDS_ESCAPE.test(j) ? j.replace(/[<>&\u2028\u2029]/g, (c) => ESCAPES[c]!) : j;
}

export function goFlatMap(m: Readonly<Record<string, string>>): string {
  const keys = Object.keys(m);
  if (keys.length > 1) keys.sort();
  let out = "{";
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    out += (i ? "," : "") + goString(k) + ":" + goString(m[k]!);
  }
  return out + "}";
}

export function goNestedMap(m: Readonly<Record<string, Readonly<Record<string, string>>>>): string {
  const keys = Object.keys(m).sort();
  const parts = new Array<string>(keys.length);
  for (let i = 0; i < keys.length; i++) parts[i] = goString(keys[i]!) + ":" + goFlatMap(m[keys[i]!]!);
  return "{" + parts.join(",") + "}";
}

/** daprd's APIError body: json.Marshal of {errorCode, message}, no trailing newline. */
export function apiErrorBody(code: string, message: string): string {
  return `{"errorCode":${goString(code)},"message":${goString(message)}}`;
}
