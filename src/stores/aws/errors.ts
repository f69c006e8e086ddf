/**
 * @module Turns AWS SDK failures into `SecretStoreError`s whose message says which kind of failure it was
 * (not found, permission denied, bad credentials, throttled, unreachable) and never carries a credential.
 */
import { isNetworkCode } from "../shared/network-errors.js";
import { firstLine, redact } from "../shared/redact.js";
import { SecretStoreError, type SecretStoreErrorKind } from "../types.js";

/** Thrown by our credential provider wrapper, so a failure to obtain credentials is told apart from the call. */
export class AwsCredentialError extends Error {
  override readonly name = "AwsCredentialError";
  constructor(
    readonly source: string,
    options: { cause: unknown },
  ) {
    super(`could not obtain AWS credentials (${source})`, options);
  }
}

/** Error codes AWS answers, by the kind of failure they mean. Codes are compared case-sensitively, as AWS sends them. */
const CODES: Record<string, SecretStoreErrorKind> = {
  // Missing resources.
  ResourceNotFoundException: "not_found",
  ParameterNotFound: "not_found",
  ParameterVersionNotFound: "not_found",
  // The caller is known but not allowed (IAM policy, resource policy, KMS key policy).
  AccessDeniedException: "permission_denied",
  AccessDenied: "permission_denied",
  UnauthorizedOperation: "permission_denied",
  UnauthorizedAccess: "permission_denied",
  KMSAccessDeniedException: "permission_denied",
  DecryptionFailure: "permission_denied",
  // The caller is not known, or the credentials are malformed, expired or wrongly signed.
  UnrecognizedClientException: "bad_credentials",
  InvalidClientTokenId: "bad_credentials",
  InvalidSignatureException: "bad_credentials",
  SignatureDoesNotMatch: "bad_credentials",
  IncompleteSignature: "bad_credentials",
  IncompleteSignatureException: "bad_credentials",
  MissingAuthenticationToken: "bad_credentials",
  MissingAuthenticationTokenException: "bad_credentials",
  ExpiredToken: "bad_credentials",
  ExpiredTokenException: "bad_credentials",
  InvalidIdentityToken: "bad_credentials",
  InvalidIdentityTokenException: "bad_credentials",
  IDPRejectedClaim: "bad_credentials",
  IDPRejectedClaimException: "bad_credentials",
  IDPCommunicationError: "unavailable",
  IDPCommunicationErrorException: "unavailable",
  AuthFailure: "bad_credentials",
  RequestExpired: "bad_credentials",
  CredentialsProviderError: "bad_credentials",
  // Rate limits.
  ThrottlingException: "throttled",
  Throttling: "throttled",
  ThrottledException: "throttled",
  TooManyRequestsException: "throttled",
  RequestLimitExceeded: "throttled",
  RequestThrottled: "throttled",
  RequestThrottledException: "throttled",
  ProvisionedThroughputExceededException: "throttled",
  SlowDown: "throttled",
  // The service side.
  InternalServiceError: "unavailable",
  InternalServiceErrorException: "unavailable",
  InternalServerError: "unavailable",
  InternalFailure: "unavailable",
  ServiceUnavailable: "unavailable",
  ServiceUnavailableException: "unavailable",
  // Requests AWS rejects as malformed.
  InvalidRequestException: "invalid_request",
  InvalidParameterException: "invalid_request",
  ValidationException: "invalid_request",
  ValidationError: "invalid_request",
  InvalidParameterValue: "invalid_request",
  InvalidKeyId: "invalid_request",
  InvalidParameterCombination: "invalid_request",
};

const WHAT: Record<SecretStoreErrorKind, string> = {
  not_found: "not found",
  permission_denied: "permission denied",
  bad_credentials: "bad credentials",
  throttled: "throttled",
  unavailable: "unreachable",
  invalid_request: "invalid request",
  invalid_config: "invalid configuration",
  internal: "failed",
};

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number; keywardErrorCode?: string; keywardErrorMessage?: string };
}

function shape(err: unknown): SdkErrorShape {
  return typeof err === "object" && err !== null ? (err as SdkErrorShape) : {};
}

/** A message as it may be shown: one line, without any credential. */
function clean(text: string, secrets: readonly string[]): string {
  return firstLine(redact(text, secrets));
}

interface Classified {
  kind: SecretStoreErrorKind;
  /** The AWS error code or socket error, e.g. "ResourceNotFoundException", "ECONNREFUSED". */
  code: string;
  detail: string;
}

function classifyOne(err: unknown, secrets: readonly string[]): Classified {
  const e = shape(err);
  const name = typeof e.name === "string" ? e.name : "";
  const code = typeof e.code === "string" ? e.code : "";
  const message = typeof e.message === "string" ? clean(e.message, secrets) : clean(String(err), secrets);
  const status = e.$metadata?.httpStatusCode ?? e.$response?.statusCode;

  if (name === "AbortError" || code === "ABORT_ERR")
    return { kind: "unavailable", code: "timeout", detail: "the request was cancelled or timed out" };
  if (name === "TimeoutError" || code === "TimeoutError")
    return { kind: "unavailable", code: "timeout", detail: message };
  if (isNetworkCode(code)) return { kind: "unavailable", code, detail: message };
  // An error body the SDK could not parse (XML from an emulator or proxy, HTML from a gateway): the code was read from it.
  const bodyCode = e.$response?.keywardErrorCode;
  if (bodyCode) {
    const detail = clean(e.$response?.keywardErrorMessage ?? "", secrets);
    return { kind: CODES[bodyCode] ?? kindFromStatus(status), code: bodyCode, detail };
  }
  const known = CODES[name];
  if (known) return { kind: known, code: name, detail: message };
  if (e.cause !== undefined && e.cause !== err && typeof e.cause === "object") {
    const inner = classifyOne(e.cause, secrets);
    if (inner.kind !== "internal") return inner;
  }
  if (status !== undefined)
    return { kind: kindFromStatus(status), code: name && name !== "Error" ? name : `HTTP ${status}`, detail: message };
  return { kind: "internal", code: name || "Error", detail: message };
}

function kindFromStatus(status: number | undefined): SecretStoreErrorKind {
  if (status === undefined) return "internal";
  if (status === 401) return "bad_credentials";
  if (status === 403) return "permission_denied";
  if (status === 404) return "not_found";
  if (status === 429) return "throttled";
  if (status >= 500) return "unavailable";
  return "invalid_request";
}

export interface ErrorContext {
  /** e.g. "AWS Secrets Manager". */
  service: string;
  /** What was being done, e.g. `get secret "db"`, `list secrets`. */
  action: string;
  /** The secret's name, when one was asked for (a not-found message names it). */
  secretName?: string;
  /** Credentials to keep out of the message. */
  secrets: readonly string[];
}

/** Maps any failure of an AWS call to a `SecretStoreError` with a message that says what kind it was. */
export function toStoreError(err: unknown, ctx: ErrorContext): SecretStoreError {
  if (err instanceof SecretStoreError) return err;
  if (err instanceof AwsCredentialError) {
    const inner = classifyOne(err.cause, ctx.secrets);
    // A missing credential, a rejected token or an unreachable STS all stop the call before it is made.
    const kind: SecretStoreErrorKind =
      inner.kind === "unavailable" || inner.kind === "throttled" || inner.kind === "permission_denied"
        ? inner.kind
        : "bad_credentials";
    return new SecretStoreError(
      kind,
      `${ctx.action} in ${ctx.service} failed: ${WHAT[kind]}: could not obtain AWS credentials from ${err.source} (${inner.code}: ${inner.detail})`,
      { cause: err },
    );
  }
  const c = classifyOne(err, ctx.secrets);
  // Secrets Manager refuses reads of a secret scheduled for deletion: for the reader it is gone.
  if (c.code === "InvalidRequestException" && /marked (for )?delet/i.test(c.detail)) c.kind = "not_found";
  if (c.kind === "not_found" && ctx.secretName !== undefined) {
    return new SecretStoreError(
      "not_found",
      `secret ${ctx.secretName} not found in ${ctx.service} (${c.code}: ${c.detail})`,
      { cause: err },
    );
  }
  return new SecretStoreError(
    c.kind,
    `${ctx.action} in ${ctx.service} failed: ${WHAT[c.kind]} (${c.code}: ${c.detail})`,
    { cause: err },
  );
}
