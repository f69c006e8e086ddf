/** @module Telling "could not reach the service" (network, TLS) apart from what the service answered. */

/** Node socket and undici errors that mean the endpoint could not be reached. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_SOCKET",
]);

/** OpenSSL's verification codes and Node's TLS errors. */
const TLS_CODES = /^(?:UNABLE_TO_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_|ERR_TLS_|ERR_SSL_)/;

/** The same failures as some clients word them, without a code. */
const IN_MESSAGE =
  /\b(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|socket hang up|self[- ]signed certificate[^.,;]*|unable to verify the first certificate|certificate has expired)\b/i;

/** Whether a code (or message fragment) says the connection failed, the TLS handshake included. */
export function isNetworkCode(code: string): boolean {
  return NETWORK_CODES.has(code) || isTlsProblem(code);
}

/** Whether the failure was the server's certificate not being trusted or valid. */
export function isTlsProblem(code: string): boolean {
  return TLS_CODES.test(code) || /certificate/i.test(code);
}

interface ErrorLike {
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  errors?: unknown;
}

/**
 * The first network or TLS error code in an error, its `cause` chain and, for AggregateErrors (one per address
 * tried), its `errors`; undefined when the failure was something else. SDKs wrap these several layers deep.
 */
export function networkCode(err: unknown, depth = 0): string | undefined {
  const seen = new Set<unknown>();
  for (let e: unknown = err; typeof e === "object" && e !== null && !seen.has(e); e = (e as ErrorLike).cause) {
    seen.add(e);
    const { code, message, errors } = e as ErrorLike;
    if (typeof code === "string" && isNetworkCode(code)) return code;
    const m = typeof message === "string" ? IN_MESSAGE.exec(message) : null;
    if (m) return m[1];
    if (Array.isArray(errors) && depth < 4) {
      for (const inner of errors) {
        const c = networkCode(inner, depth + 1);
        if (c) return c;
      }
    }
  }
  return undefined;
}
