/**
 * @module The one catalogue of API errors: daprd's codes with their HTTP status and gRPC code.
 * Messages are Go format templates filled positionally; clients depend on the exact text.
 */

/**
 * The gRPC status codes the catalogue uses (grpc's status.proto numbers). Spelled here rather than taken
 * from grpc-js, so the HTTP path, which reads this catalogue, never loads a gRPC library.
 */
export const GrpcStatus = {
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;
export type GrpcStatus = (typeof GrpcStatus)[keyof typeof GrpcStatus];

export interface ApiErrorDefinition {
  readonly code: string;
  readonly httpStatus: number;
  readonly grpcCode: GrpcStatus;
  readonly template: string;
}

function define(code: string, httpStatus: number, grpcCode: GrpcStatus, template: string): ApiErrorDefinition {
  return { code, httpStatus, grpcCode, template };
}

export const Errors = {
  SECRET_STORES_NOT_CONFIGURED: define(
    "ERR_SECRET_STORES_NOT_CONFIGURED",
    500,
    GrpcStatus.FAILED_PRECONDITION,
    "secret store is not configured",
  ),
  SECRET_STORE_NOT_FOUND: define(
    "ERR_SECRET_STORE_NOT_FOUND",
    401,
    GrpcStatus.INVALID_ARGUMENT,
    "failed finding secret store with key %s",
  ),
  PERMISSION_DENIED: define(
    "ERR_PERMISSION_DENIED",
    403,
    GrpcStatus.PERMISSION_DENIED,
    "access denied by policy to get %q from %q",
  ),
  SECRET_GET: define(
    "ERR_SECRET_GET",
    500,
    GrpcStatus.INTERNAL,
    "failed getting secret with key %s from secret store %s: %s",
  ),
  BULK_SECRET_GET: define(
    "ERR_SECRET_GET",
    500,
    GrpcStatus.INTERNAL,
    "failed getting secrets from secret store %s: %s",
  ),
  SUBSCRIBE_UNSUPPORTED: define(
    "ERR_SECRET_SUBSCRIBE_UNSUPPORTED",
    501,
    GrpcStatus.FAILED_PRECONDITION,
    "secret store %s (%s) cannot notify changes: %s",
  ),
  SUBSCRIPTIONS_EXCEEDED: define(
    "ERR_SECRET_SUBSCRIPTIONS_EXCEEDED",
    429,
    GrpcStatus.RESOURCE_EXHAUSTED,
    "too many secret subscriptions: %s",
  ),
  SUBSCRIBE_UNAVAILABLE: define(
    "ERR_SECRET_SUBSCRIBE_UNAVAILABLE",
    503,
    GrpcStatus.UNAVAILABLE,
    "cannot subscribe to secret store %s: %s",
  ),
  MALFORMED_REQUEST: define(
    "ERR_MALFORMED_REQUEST",
    400,
    GrpcStatus.INVALID_ARGUMENT,
    "failed deserializing HTTP body: %s",
  ),
  BODY_READ: define("ERR_BODY_READ", 400, GrpcStatus.INVALID_ARGUMENT, "failed to read request body: %s"),
  DIRECT_INVOKE: define(
    "ERR_DIRECT_INVOKE",
    404,
    GrpcStatus.NOT_FOUND,
    "failed getting app id either from the URL path or the header dapr-app-id",
  ),
  HEALTH_NOT_READY: define("ERR_HEALTH_NOT_READY", 500, GrpcStatus.UNAVAILABLE, "dapr is not ready: %s"),
  HEALTH_APPID_NOT_MATCH: define(
    "ERR_HEALTH_APPID_NOT_MATCH",
    500,
    GrpcStatus.INVALID_ARGUMENT,
    "dapr app-id does not match",
  ),
  OUTBOUND_HEALTH_NOT_READY: define(
    "ERR_OUTBOUND_HEALTH_NOT_READY",
    500,
    GrpcStatus.UNAVAILABLE,
    "dapr outbound is not ready",
  ),
  /** Anything that is not an ApiError: the cause stays in the log, the caller sees only this. */
  INTERNAL: define("ERR_INTERNAL", 500, GrpcStatus.INTERNAL, "internal error"),
  // Keyward's own: --audit-log-required refuses an access whose audit line could not be written.
  AUDIT_LOG: define(
    "ERR_AUDIT_LOG",
    500,
    GrpcStatus.INTERNAL,
    "access refused: the audit log cannot be written (--audit-log-required)",
  ),
  METADATA_SET: define("ERR_METADATA_SET", 400, GrpcStatus.INVALID_ARGUMENT, "failed setting metadata: %s"),
} as const satisfies Record<string, ApiErrorDefinition>;

/** Go's `%q` for strings: double-quoted with Go escapes (close enough to JSON for printable text). */
function goQuote(s: string): string {
  return JSON.stringify(s).replace(/\\u([0-9a-f]{4})/g, (_m, hex: string) => `\\x${hex.slice(2)}`);
}

export function formatTemplate(template: string, args: readonly string[]): string {
  let i = 0;
  return template.replace(/%[sqv]/g, (verb) => {
    const arg = args[i++] ?? "";
    return verb === "%q" ? goQuote(arg) : arg;
  });
}

/** An error that crosses the API boundary. `cause` never leaves the process. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly code: string;
  readonly httpStatus: number;
  readonly grpcCode: GrpcStatus;
  constructor(def: ApiErrorDefinition, args: readonly string[] = [], options?: { cause?: unknown }) {
    super(formatTemplate(def.template, args), options);
    this.code = def.code;
    this.httpStatus = def.httpStatus;
    this.grpcCode = def.grpcCode;
  }
}

/** daprd's error category for `dapr_error_code_total` (errorcodes.go). */
export function errorCategory(code: string): string {
  if (code.startsWith("ERR_SECRET") || code === "ERR_PERMISSION_DENIED") return "secret";
  if (code.includes("HEALTH")) return "health";
  if (code === "ERR_DIRECT_INVOKE") return "service-invocation";
  return "common";
}
