/**
 * @module Turns what `@kubernetes/client-node` throws into SecretStoreErrors an operator can act on: the
 * API server's `Status` reason and message, and for RBAC denials the verb and namespace to grant.
 */
import { firstLine, redact } from "../shared/redact.js";
import { SecretStoreError, type SecretStoreErrorKind } from "../types.js";

/** What the store was doing, for the message. */
export interface Operation {
  verb: "get" | "list" | "watch";
  namespace: string;
  /** The secret, for `get`. */
  name?: string;
  /** API server URL, for "cannot reach" messages. */
  server: string;
}

export interface ApiStatus {
  code: number;
  reason: string;
  message: string;
}

/** The `Status` carried by an ApiException (or a watch ERROR event), when there is one. */
export function statusOf(err: unknown): ApiStatus | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const e = err as { code?: unknown; statusCode?: unknown; body?: unknown };
  const code = typeof e.code === "number" ? e.code : typeof e.statusCode === "number" ? e.statusCode : undefined;
  if (code === undefined) return undefined;
  let body: unknown = e.body;
  if (typeof body === "string") {
    try {
      body = JSON.parse(body);
    } catch {
      body = undefined;
    }
  }
  const b = (typeof body === "object" && body !== null ? body : {}) as { reason?: unknown; message?: unknown };
  return {
    code,
    reason: typeof b.reason === "string" ? b.reason : defaultReason(code),
    message: typeof b.message === "string" ? b.message : "",
  };
}

function defaultReason(code: number): string {
  switch (code) {
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 410:
      return "Expired";
    case 429:
      return "TooManyRequests";
    default:
      return code >= 500 ? "InternalError" : "Unknown";
  }
}

function describe(code: number, detail: string, op: Operation): [SecretStoreErrorKind, string] {
  if (code === 404) {
    if (op.verb === "get")
      return [
        "not_found",
        `secret "${op.name ?? ""}" not found in namespace "${op.namespace}" (Kubernetes API server: ${detail})`,
      ];
    return ["not_found", `cannot ${op.verb} ${what(op)} (Kubernetes API server: ${detail})`];
  }
  if (code === 403) {
    return [
      "permission_denied",
      `permission denied: the Kubernetes API server refused verb "${op.verb}" on secrets in namespace "${op.namespace}" (${detail}); ` +
        `add verb "${op.verb}" on secrets in namespace "${op.namespace}" to the Role bound to this user or service account`,
    ];
  }
  if (code === 401)
    return [
      "bad_credentials",
      `the Kubernetes API server at ${op.server} rejected the credentials (${detail}) while trying to ${op.verb} ${what(op)}`,
    ];
  if (code === 429)
    return ["throttled", `throttled by the Kubernetes API server while trying to ${op.verb} ${what(op)} (${detail})`];
  if (code === 400 || code === 422)
    return ["invalid_request", `the Kubernetes API server rejected the request to ${op.verb} ${what(op)} (${detail})`];
  if (code >= 500) return ["unavailable", `the Kubernetes API server failed to ${op.verb} ${what(op)} (${detail})`];
  return ["internal", `cannot ${op.verb} ${what(op)}: Kubernetes API server answered ${detail}`];
}

function what(op: Operation): string {
  return op.verb === "get"
    ? `secret "${op.name ?? ""}" in namespace "${op.namespace}"`
    : `secrets in namespace "${op.namespace}"`;
}

/** Maps any failure of a Kubernetes API call to a SecretStoreError; never quotes request or response bodies beyond the Status. */
export function toStoreError(err: unknown, op: Operation): SecretStoreError {
  if (err instanceof SecretStoreError) return err;
  const st = statusOf(err);
  if (st) {
    const detail = `${st.code} ${st.reason}${st.message ? `: ${st.message}` : ""}`;
    const [kind, message] = describe(st.code, detail, op);
    return new SecretStoreError(kind, message, { cause: err });
  }
  const e = err as { name?: string; code?: string; type?: string; message?: string };
  if (e?.name === "AbortError" || e?.type === "aborted" || e?.name === "TimeoutError") {
    return new SecretStoreError(
      "unavailable",
      `timed out trying to ${op.verb} ${what(op)} at the Kubernetes API server ${op.server}`,
      { cause: err },
    );
  }
  const code = typeof e?.code === "string" ? e.code : undefined;
  if (code) {
    return new SecretStoreError(
      "unavailable",
      `cannot reach the Kubernetes API server at ${op.server} to ${op.verb} ${what(op)}: ${code}`,
      { cause: err },
    );
  }
  // Neither a Status nor a system error: the first line of the message, without any response body.
  return new SecretStoreError(
    "unavailable",
    `cannot ${op.verb} ${what(op)} at the Kubernetes API server ${op.server}: ${safeMessage(err)}`,
    { cause: err },
  );
}

/**
 * The first line of an error's message with credentials removed: some client errors quote header values
 * (node-fetch: "Bearer <token> is not a legal HTTP header value").
 */
export function safeMessage(err: unknown): string {
  return firstLine(redact(err instanceof Error ? err.message : String(err)));
}
