/** @module Turning Key Vault and Microsoft Entra failures into SecretStoreErrors that say what went wrong, and nothing secret. */
import { isTlsProblem, networkCode } from "../shared/network-errors.js";
import { firstLine, type Redactor } from "../shared/redact.js";
import { SecretStoreError, type SecretStoreErrorKind } from "../types.js";
import type { CallTrace } from "./throttle.js";

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
  /** What the call's tries met before its budget ran out, if anything. */
  trace?: CallTrace | undefined;
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
    const detail = v.message ? `${code}: ${firstLine(v.message)}` : code;
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
    const wait = ctx.trace?.throttledMs;
    if (wait !== undefined) {
      return make(
        "throttled",
        `throttled: Azure Key Vault ${ctx.vault} answered 429 Too Many Requests and asked to wait ${Math.ceil(wait / 1000)} s (Retry-After), longer than the request's remaining time budget`,
      );
    }
    const last = ctx.trace?.lastFailure === undefined ? undefined : networkCode(ctx.trace.lastFailure);
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
    `could not ${ctx.action} in Azure Key Vault ${ctx.vault}: ${firstLine(e.message ?? String(err))}`,
  );
}
