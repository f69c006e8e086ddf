/** @module Turning Key Vault and Microsoft Entra failures into SecretStoreErrors that say what went wrong, and nothing secret. */
import { SecretStoreError, type SecretStoreErrorKind } from "../types.js";

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_SOCKET",
]);

const TLS_CODES = /^(?:UNABLE_TO_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_|ERR_TLS_|ERR_SSL_)/;

/** Removes values that must never leave the process: configured secrets, bearer tokens, JWTs. */
export class Redactor {
  private readonly values: string[] = [];

  add(value: string | undefined): void {
    if (value && value.length >= 4 && !this.values.includes(value)) this.values.push(value);
  }

  redact(text: string): string {
    let out = text;
    for (const v of this.values) out = out.split(v).join("[REDACTED]");
    return out
      .replace(/eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, "[REDACTED-TOKEN]")
      .replace(/(Bearer\s+)[^\s"',]+/gi, "$1[REDACTED]")
      .replace(/((?:client_secret|client_assertion|access_token|password)=)[^&\s"']+/gi, "$1[REDACTED]");
  }
}

interface ErrorLike {
  name?: string;
  message?: string;
  code?: string;
  statusCode?: number;
  cause?: unknown;
  errors?: unknown[];
  details?: unknown;
}

function asErrorLike(err: unknown): ErrorLike {
  return typeof err === "object" && err !== null ? (err as ErrorLike) : { message: String(err) };
}

/** The first network or TLS error code in an error's cause chain (the SDKs wrap them). */
export function networkCode(err: unknown): string | undefined {
  const seen = new Set<unknown>();
  for (let e: unknown = err; e && !seen.has(e); e = asErrorLike(e).cause) {
    seen.add(e);
    const { code, message, errors } = asErrorLike(e);
    if (code && (NETWORK_CODES.has(code) || TLS_CODES.test(code))) return code;
    const m =
      /\b(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|socket hang up|self[- ]signed certificate[^.,;]*|unable to verify the first certificate|certificate has expired)\b/i.exec(
        message ?? "",
      );
    if (m) return m[1];
    for (const inner of errors ?? []) {
      const c = networkCode(inner);
      if (c) return c;
    }
  }
  return undefined;
}

export function isTlsProblem(code: string): boolean {
  return TLS_CODES.test(code) || /certificate/i.test(code);
}

/** Key Vault's `{"error":{"code","message"}}` as the SDK's RestError carries it. */
function vaultError(err: ErrorLike): { code?: string; message?: string } {
  const details = err.details as { error?: { code?: string; message?: string } } | undefined;
  if (details?.error) return details.error;
  // The pager only says "Pagination failed with unexpected statusCode"; the body is on the response.
  const response = (err as { response?: { bodyAsText?: string } }).response;
  for (const text of [response?.bodyAsText, err.message]) {
    try {
      const parsed = JSON.parse(text ?? "") as { error?: { code?: string; message?: string } };
      if (parsed.error) return parsed.error;
    } catch {
      // not JSON: try the next source
    }
  }
  // The pager keeps only Key Vault's error code; its own message says nothing more.
  const message = /^Pagination failed/.test(err.message ?? "") ? "" : err.message;
  return { code: err.code, message };
}

export interface ErrorContext {
  vault: string;
  /** What was being done, e.g. "get secret db-password". */
  action: string;
  /** Secret name, for not-found messages. */
  name?: string;
  version?: string;
  redactor: Redactor;
  /** The caller's signal: when it fired, the failure is a timeout or cancellation. */
  signal?: AbortSignal;
  /** The call's last transport error before its budget ran out, if any. */
  lastFailure?: unknown;
}

function firstSentence(text: string): string {
  const line = text.split(/\r?\n/)[0] ?? "";
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/** Maps any failure from the Key Vault client to a SecretStoreError with a useful, redacted message. */
export function toStoreError(err: unknown, ctx: ErrorContext): SecretStoreError {
  if (err instanceof SecretStoreError) {
    return new SecretStoreError(err.kind, ctx.redactor.redact(err.message), { cause: err.cause });
  }
  const e = asErrorLike(err);
  const make = (kind: SecretStoreErrorKind, message: string) =>
    new SecretStoreError(kind, ctx.redactor.redact(message), { cause: err });
  const what = ctx.version ? `secret ${ctx.name} version ${ctx.version}` : `secret ${ctx.name}`;

  if (e.statusCode !== undefined) {
    const v = vaultError(e);
    const code = v.code ?? `HTTP ${e.statusCode}`;
    const detail = v.message ? `${code}: ${firstSentence(v.message)}` : code;
    const status = e.statusCode;
    if (status === 404) return make("not_found", `${what} not found in Azure Key Vault ${ctx.vault} (${detail})`);
    if (status === 403 && /disabled/i.test(v.message ?? "")) {
      return make("permission_denied", `${what} is disabled in Azure Key Vault ${ctx.vault} (${detail})`);
    }
    if (status === 403) {
      return make(
        "permission_denied",
        `permission denied: cannot ${ctx.action} in Azure Key Vault ${ctx.vault}; the identity lacks the needed secrets permission or role (${detail})`,
      );
    }
    if (status === 401)
      return make(
        "bad_credentials",
        `bad credentials: Azure Key Vault ${ctx.vault} rejected the access token to ${ctx.action} (${detail})`,
      );
    if (status === 429)
      return make(
        "throttled",
        `throttled: Azure Key Vault ${ctx.vault} kept answering 429 Too Many Requests to ${ctx.action} (${detail})`,
      );
    if (status === 400)
      return make(
        "invalid_request",
        `Azure Key Vault ${ctx.vault} refused to ${ctx.action} as a bad request (${detail})`,
      );
    if (status >= 500)
      return make(
        "unavailable",
        `Azure Key Vault ${ctx.vault} is unavailable: HTTP ${status} to ${ctx.action} (${detail})`,
      );
    return make("internal", `Azure Key Vault ${ctx.vault} answered HTTP ${status} to ${ctx.action} (${detail})`);
  }
  if (e.name === "AbortError" || ctx.signal?.aborted) {
    const last = ctx.lastFailure === undefined ? undefined : networkCode(ctx.lastFailure);
    if (last) {
      return make(
        "unavailable",
        `Azure Key Vault ${ctx.vault} is unreachable (${last}): still failing when the request's time budget ran out while trying to ${ctx.action}`,
      );
    }
    return make(
      "unavailable",
      `timed out or cancelled: could not ${ctx.action} in Azure Key Vault ${ctx.vault} within the request's time budget`,
    );
  }
  const code = networkCode(err);
  if (code) {
    if (isTlsProblem(code)) {
      return make(
        "unavailable",
        `Azure Key Vault ${ctx.vault} is unreachable: TLS verification failed (${code}); trust its CA with NODE_EXTRA_CA_CERTS`,
      );
    }
    return make("unavailable", `Azure Key Vault ${ctx.vault} is unreachable (${code}) while trying to ${ctx.action}`);
  }
  return make(
    "internal",
    `could not ${ctx.action} in Azure Key Vault ${ctx.vault}: ${firstSentence(e.message ?? String(err))}`,
  );
}
