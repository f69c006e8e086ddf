/**
 * @module The access audit log (`--audit-log`): one JSON line per secret access or refusal, appended with a
 * synchronous write so the line is in the file before the answer leaves. Never holds a value or a token.
 */
import { closeSync, constants, fstatSync, openSync, statSync, writeSync } from "node:fs";
import type { Logger } from "../log.js";
import { rfc3339Nano } from "../log.js";
import type { SidecarMetrics } from "../metrics.js";

export type Transport = "http" | "grpc";
export type Decision = "allowed" | "denied";
/** Why a call was denied. */
export type DenyReason =
  "token" | "allowlist" | "scope" | "store_not_found" | "stores_not_configured" | "bad_request" | "limit";
export type Outcome = "ok" | "not_found" | "error";

/** One audit line; field order is the order written. */
export interface AuditRecord {
  transport: Transport;
  remote_address: string;
  store?: string;
  /** The secret name, or `bulk` for a bulk read. */
  secret?: string;
  operation: string;
  decision: Decision;
  reason?: DenyReason;
  outcome?: Outcome;
  error_kind?: string;
  /** Key names returned: a list for one secret, secret name → key names for a bulk read. */
  keys?: readonly string[] | Readonly<Record<string, readonly string[]>>;
  trace_id?: string;
}

export class AuditLogError extends Error {}

const STDOUT = 1;
/** How many 1 ms pauses a full stdout pipe gets before the line counts as not written. */
const PIPE_RETRIES = 1000;
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/** Opens `path` for appending (created 0600); a directory, FIFO or socket is refused with a clear message. */
function openAppend(path: string): number {
  let kind: string | undefined;
  try {
    const st = statSync(path);
    if (st.isDirectory()) kind = "a directory";
    else if (st.isFIFO()) kind = "a FIFO";
    else if (st.isSocket()) kind = "a socket";
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  if (kind) throw new AuditLogError(`--audit-log ${JSON.stringify(path)} is ${kind}: give a file path or -`);
  // O_NONBLOCK: a FIFO swapped in after the check above must never block the event loop on open.
  const fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK, 0o600);
  if (fstatSync(fd).isFIFO()) {
    closeSync(fd);
    throw new AuditLogError(`--audit-log ${JSON.stringify(path)} is a FIFO: give a file path or -`);
  }
  return fd;
}

export class AuditLog {
  private fd: number | undefined;

  /** Opens the file now, so a bad path is a start-up error. */
  constructor(
    private readonly path: string,
    readonly required: boolean,
    private readonly appId: string,
    private readonly log: Logger,
    private readonly metrics: SidecarMetrics | undefined,
  ) {
    try {
      this.fd = path === "-" ? STDOUT : openAppend(path);
    } catch (err) {
      if (err instanceof AuditLogError) throw err;
      throw new AuditLogError(`cannot open --audit-log ${JSON.stringify(path)}: ${(err as Error).message}`);
    }
  }

  /** SIGHUP: a rotated file is closed and the path opened again; on failure writes fail until the next reopen. */
  reopen(): void {
    if (this.path === "-") return;
    const old = this.fd;
    this.fd = undefined;
    if (old !== undefined) closeSync(old);
    try {
      this.fd = openAppend(this.path);
      this.log.info({ path: this.path }, "audit log reopened");
    } catch (err) {
      this.failed("reopen", err);
    }
  }

  /**
   * Appends one line; true once it is written. On failure the failure is logged and counted and false comes
   * back: with `required`, the caller then refuses the access.
   */
  write(record: AuditRecord): boolean {
    const line = JSON.stringify({ time: rfc3339Nano(), app_id: this.appId, ...record }) + "\n";
    try {
      if (this.fd === undefined) throw new Error("the audit log is not open");
      const total = Buffer.byteLength(line);
      let bytes: Buffer | undefined;
      let done = 0;
      let busy = 0;
      // A regular file takes the whole line at once (written from the string: no copy); a non-blocking pipe on
      // stdout may take part of it or be full.
      while (done < total) {
        try {
          done += done === 0 ? writeSync(this.fd, line) : writeSync(this.fd, (bytes ??= Buffer.from(line)), done);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "EAGAIN" || ++busy > PIPE_RETRIES) throw err;
          Atomics.wait(PAUSE, 0, 0, 1);
        }
      }
      this.metrics?.auditLine();
      return true;
    } catch (err) {
      this.failed("write", err);
      return false;
    }
  }

  private failed(what: "write" | "reopen", err: unknown): void {
    this.metrics?.auditFailure();
    const then = this.required ? "accesses are refused (--audit-log-required)" : "accesses are still served";
    // The error names the path and the system error (ENOSPC, EACCES...), never the line.
    this.log.error({ path: this.path }, `audit log: cannot ${what}, ${then}: ${(err as Error).message}`);
  }

  close(): void {
    if (this.fd !== undefined && this.fd !== STDOUT) closeSync(this.fd);
    this.fd = undefined;
  }
}
