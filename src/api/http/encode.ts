/**
 * @module JSON exactly as daprd writes it (Go encoding/json): sorted keys, `<`, `>`, `&`, U+2028 and
 * U+2029 escaped. Hand-rolled because this is the hot path and JSON.stringify neither sorts nor escapes.
 */
const NEEDS_ESCAPE = /[<>&\u2028\u2029]/;
const ESCAPES: Record<string, string> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
};

export function goString(s: string): string {
  const j = JSON.stringify(s);
  return NEEDS_ESCAPE.test(j) ? j.replace(/[<>&\u2028\u2029]/g, (c) => ESCAPES[c]!) : j;
}

/**
 * Go's extra escapes, applied once to a whole document rather than per string: outside its strings JSON
 * text never holds these characters, so the result is the same, and a bulk answer of 10,000 secrets
 * costs one regex scan instead of 20,000 (profiled: per-string escaping was most of a bulk get).
 */
function goEscape(json: string): string {
  return NEEDS_ESCAPE.test(json) ? json.replace(/[<>&\u2028\u2029]/g, (c) => ESCAPES[c]!) : json;
}

/** A flat map as plain JSON (Go's escapes not yet applied). One key, the shape of most secrets, skips the sort. */
function flatMapJson(m: Readonly<Record<string, string>>): string {
  const keys = Object.keys(m);
  if (keys.length === 1) return "{" + JSON.stringify(keys[0]) + ":" + JSON.stringify(m[keys[0]!]) + "}";
  if (keys.length > 1) keys.sort();
  let out = "{";
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    out += (i ? "," : "") + JSON.stringify(k) + ":" + JSON.stringify(m[k]!);
  }
  return out + "}";
}

/**
 * Anything JSON.stringify or Go would escape (quote, backslash, controls, surrogates, `<>&`, U+2028/9).
 * A string without any is quoted as it is: one regex scan instead of JSON.stringify, which takes ~450 ns
 * for a 90-character secret value (profiled: encoding was the largest part of a single get's own cost).
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what must be found here
const ESCAPABLE = /["\\\u0000-\u001f<>&\u2028\u2029\ud800-\udfff]/;

export function goFlatMap(m: Readonly<Record<string, string>>): string {
  const keys = Object.keys(m);
  if (keys.length === 1) {
    const k = keys[0]!;
    const v = m[k];
    if (typeof v === "string" && !ESCAPABLE.test(k) && !ESCAPABLE.test(v)) return '{"' + k + '":"' + v + '"}';
  }
  return goEscape(flatMapJson(m));
}

/** True when `keys` already stand in the order `sort()` gives (UTF-16 code units, as the `>` operator compares). */
function inOrder(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! > keys[i]!) return false;
  return true;
}

export function goNestedMap(m: Readonly<Record<string, Readonly<Record<string, string>>>>): string {
  const keys = Object.keys(m);
  // Fast path, about twice as fast on 10,000 secrets: when every map already enumerates its keys in sorted
  // order (one-key maps always do; a secrets file written in order does), the native JSON.stringify, which
  // follows the same enumeration order as Object.keys, writes exactly the text of the loop below.
  let native = inOrder(keys);
  for (let i = 0; native && i < keys.length; i++) {
    const inner = Object.keys(m[keys[i]!]!);
    if (inner.length > 1 && !inOrder(inner)) native = false;
  }
  if (native) return goEscape(JSON.stringify(m));
  keys.sort();
  let out = "{";
  for (let i = 0; i < keys.length; i++)
    out += (i ? "," : "") + JSON.stringify(keys[i]) + ":" + flatMapJson(m[keys[i]!]!);
  return goEscape(out + "}");
}

/** daprd's APIError body: json.Marshal of {errorCode, message}, no trailing newline. */
export function apiErrorBody(code: string, message: string): string {
  return `{"errorCode":${goString(code)},"message":${goString(message)}}`;
}
