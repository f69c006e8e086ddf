/** @module Turning Secret Manager gRPC failures into SecretStoreErrors whose message says which kind, with nothing secret in it. */
import { redact } from "../shared/redact.js";
import { SecretStoreError, type SecretStoreErrorKind } from "../types.js";

const CODE_NAMES: Record<number, string> = {
  1: "CANCELLED",
  2: "UNKNOWN",
  3: "INVALID_ARGUMENT",
  4: "DEADLINE_EXCEEDED",
  5: "NOT_FOUND",
  7: "PERMISSION_DENIED",
  8: "RESOURCE_EXHAUSTED",
  9: "FAILED_PRECONDITION",
  13: "INTERNAL",
  14: "UNAVAILABLE",
  16: "UNAUTHENTICATED",
};

const PLUGIN_FAILURE = "Getting metadata from plugin failed with error: ";

/** Whether an error is a gRPC status of Secret Manager saying the version cannot be read (bulk skips those). */
export function isUnreadableVersion(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 5 || code === 9;
}

/**
 * `prefix` is daprd's ("failed to access secret version", "failed to list secrets"); `subject` names what
 * was asked for; `endpoint` is shown when the service cannot be reached.
 */
export function toStoreError(
  err: unknown,
  prefix: string,
  subject: string,
  endpoint: string,
  secrets: Iterable<string> = [],
): SecretStoreError {
  if (err instanceof SecretStoreError) return err;
  const e = err as { code?: unknown; details?: unknown; message?: unknown };
  const code = typeof e.code === "number" ? e.code : undefined;
  const details = redact(
    typeof e.details === "string" && e.details !== "" ? e.details : String(e.message ?? err),
    secrets,
  );
  let kind: SecretStoreErrorKind;
  let what: string;
  if (details.startsWith(PLUGIN_FAILURE)) {
    // The call never left: getting its credentials failed (token endpoint, metadata server, key).
    kind = code === 14 ? "unavailable" : "bad_credentials";
    what = code === 14 ? "could not reach the token service" : "bad credentials (could not get an access token)";
  } else {
    switch (code) {
      case 5:
        kind = "not_found";
        what = "not found";
        break;
      case 9:
        kind = "not_found";
        what = "version disabled or destroyed";
        break;
      case 7:
        kind = "permission_denied";
        what = "permission denied";
        break;
      case 8:
        kind = "throttled";
        what = "throttled (quota exceeded, retries exhausted)";
        break;
      case 14:
      case 4:
        kind = "unavailable";
        what = `Secret Manager unreachable at ${endpoint}`;
        break;
      case 1:
        kind = "unavailable";
        what = "request cancelled";
        break;
      case 16:
        kind = "bad_credentials";
        what = "bad credentials";
        break;
      case 3:
        kind = "invalid_request";
        what = "invalid request";
        break;
      case undefined:
      default:
        kind = "internal";
        what = "Secret Manager error";
    }
  }
  const codeName = code === undefined ? "" : `${CODE_NAMES[code] ?? `code ${code}`}: `;
  return new SecretStoreError(kind, `${prefix} ${subject}: ${what} (${codeName}${details})`);
}
