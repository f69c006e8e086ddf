/**
 * @module What an audit line says about a secrets call, from what the secrets service answered: both
 * transports build their lines here so they agree.
 */
import { ApiError, Errors } from "../errors/catalogue.js";
import { storeErrorKind } from "../core/error-kind.js";
import type { BulkSecretData, SecretData } from "../stores/types.js";
import type { AuditLog, AuditRecord, DenyReason } from "./audit-log.js";

/** The fields of a call known before it is answered: who asked what. */
export type AuditCall = Pick<
  AuditRecord,
  "transport" | "remote_address" | "store" | "secret" | "operation" | "trace_id"
>;

/** The line for a call the store answered. */
export function allowedRecord(call: AuditCall, data: SecretData | BulkSecretData | null, bulk: boolean): AuditRecord {
  const keys = data === null ? [] : bulk ? bulkKeys(data as BulkSecretData) : Object.keys(data);
  return { ...call, decision: "allowed", outcome: "ok", keys };
}

function bulkKeys(data: BulkSecretData): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, secrets] of Object.entries(data)) out[name] = Object.keys(secrets);
  return out;
}

const DENIED_BY_CODE: Record<string, DenyReason> = {
  [Errors.PERMISSION_DENIED.code]: "scope",
  [Errors.SECRET_STORE_NOT_FOUND.code]: "store_not_found",
  [Errors.SECRET_STORES_NOT_CONFIGURED.code]: "stores_not_configured",
  [Errors.MALFORMED_REQUEST.code]: "bad_request",
  [Errors.BODY_READ.code]: "bad_request",
};

/** The line for a call the secrets service refused or whose store call failed. */
export function failedRecord(call: AuditCall, err: unknown): AuditRecord {
  const reason = err instanceof ApiError ? DENIED_BY_CODE[err.code] : undefined;
  if (reason) return deniedRecord(call, reason);
  const kind = storeErrorKind(err);
  return {
    ...call,
    decision: "allowed",
    outcome: kind === "not_found" ? "not_found" : "error",
    error_kind: kind,
  };
}

export function deniedRecord(call: AuditCall, reason: DenyReason): AuditRecord {
  return { ...call, decision: "denied", reason };
}

/** `address:port` (`[v6]:port`) of a peer, as it appears in the audit line. */
export function peerAddress(address: string | undefined, port: number | undefined): string {
  if (address === undefined) return "";
  const host = address.includes(":") ? `[${address}]` : address;
  return port === undefined ? host : `${host}:${port}`;
}

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The trace id of a W3C traceparent, or undefined for none or a malformed one (never echoed as given). */
export function traceIdOf(traceparent: unknown): string | undefined {
  if (typeof traceparent !== "string") return undefined;
  const m = TRACEPARENT.exec(traceparent.trim());
  if (!m || /^0+$/.test(m[1]!) || traceparent.startsWith("ff")) return undefined;
  return m[1];
}

/**
 * The store's answer once its audit line is written; with --audit-log-required an answer whose line cannot
 * be written is refused instead.
 */
export async function audited<A extends { data: SecretData | BulkSecretData | null }>(
  audit: AuditLog,
  call: AuditCall,
  answer: Promise<A>,
  bulk: boolean,
): Promise<A> {
  let value: A;
  try {
    value = await answer;
  } catch (err) {
    const record = failedRecord(call, err);
    if (!audit.write(record) && audit.required && record.decision === "allowed") throw new ApiError(Errors.AUDIT_LOG);
    throw err;
  }
  if (!audit.write(allowedRecord(call, value.data, bulk)) && audit.required) throw new ApiError(Errors.AUDIT_LOG);
  return value;
}
