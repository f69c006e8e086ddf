/**
 * @module `GET /v1.0-alpha1/secrets/{store}/{name}/subscribe`: a secret's changes as a `text/event-stream`.
 * The first event is the secret's current state, then one `update` (or `delete`) per change. A reader that
 * does not keep up is sent only the latest state once it reads again: nothing queues behind it.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { LatestOnly } from "../../core/notify/latest-only.js";
import { KEEPALIVE_MS, type SecretEvent, type Subscriber } from "../../core/notify/events.js";
import { REFRESH_CACHE } from "../../core/secrets-service.js";
import { ApiError, Errors } from "../../errors/catalogue.js";
import { failedRecord, type AuditCall } from "../../audit/audit-record.js";
import type { SidecarState } from "../sidecar-api.js";
import { metadataFromQuery } from "./decode.js";

/** A stable name per client connection, for the per-connection subscription bound. */
const connectionIds = new WeakMap<Socket, string>();
let nextConnection = 0;

function connectionOf(req: IncomingMessage): string {
  let id = connectionIds.get(req.socket);
  if (id === undefined) connectionIds.set(req.socket, (id = `http-${++nextConnection}`));
  return id;
}

/** One SSE event; `id:` only when the store has a version, stripped of anything that would end the line. */
export function sseEvent(event: SecretEvent): string {
  const id = event.version === undefined ? "" : `id: ${event.version.replace(/[\r\n]/g, "")}\n`;
  if (event.kind === "delete") return `event: delete\n${id}data: {}\n\n`;
  const body = event.answer?.http()?.toString("utf8").trimEnd() ?? "{}";
  return `event: update\n${id}data: ${body}\n\n`;
}

class EventStream implements Subscriber {
  private ended = false;
  private readonly slot: LatestOnly<string>;
  private readonly keepalive: NodeJS.Timeout;

  constructor(private readonly res: ServerResponse) {
    this.slot = new LatestOnly(
      res,
      (text) => res.write(text),
      () => !this.ended,
    );
    this.keepalive = setInterval(() => {
      // A reader that is behind already has bytes on the way; a comment would only queue behind them.
      if (!this.res.headersSent || this.slot.holding || this.res.writableNeedDrain) return;
      this.res.write(": keepalive\n\n");
    }, KEEPALIVE_MS);
    this.keepalive.unref();
    res.once("close", () => this.stop());
  }

  push(event: SecretEvent): void {
    if (this.ended) return;
    if (!this.res.headersSent)
      this.res.writeHead(200, {
        "Content-Type": "text/event-stream",
        "Cache-Control": "no-cache",
        // Tells nginx-style proxies not to buffer the stream.
        "X-Accel-Buffering": "no",
      });
    this.slot.offer(sseEvent(event));
  }

  close(why: string): void {
    if (this.ended) return;
    if (this.res.headersSent) this.res.end(`: closed: ${why}\n\n`);
    else this.res.end();
    this.stop();
  }

  /** The subscription was refused before any event: the response is the caller's to answer. */
  abandon(): void {
    this.stop();
  }

  private stop(): void {
    this.ended = true;
    clearInterval(this.keepalive);
  }
}

/**
 * Subscribes after the same checks as a GET (store, name, scopes, API token and lists before this); a
 * refusal is answered as a GET's would be, by `fail`.
 */
export async function subscribeHttp(
  req: IncomingMessage,
  res: ServerResponse,
  state: SidecarState,
  store: string,
  key: string,
  rawQuery: string,
  fail: (err: ApiError) => void,
  audit?: AuditCall,
): Promise<void> {
  const { [REFRESH_CACHE]: _refresh, ...metadata } = metadataFromQuery(rawQuery);
  const stream = new EventStream(res);
  try {
    const { entry, name } = await state.runtime.service.subscribeTarget(store, key);
    if (res.destroyed) return;
    // The audit line of a subscription is written when it is let in; its events are not accesses of their own.
    if (audit && state.audit) {
      const written = state.audit.write({ ...audit, decision: "allowed", outcome: "ok", keys: [] });
      if (!written && state.audit.required) throw new ApiError(Errors.AUDIT_LOG);
    }
    const stop = await state.runtime.notifications.subscribe(
      { entry, name, metadata, connection: connectionOf(req) },
      stream,
    );
    if (res.destroyed) stop();
    else res.once("close", stop);
  } catch (err) {
    if (audit && state.audit && !(err instanceof ApiError && err.code === Errors.AUDIT_LOG.code))
      state.audit.write(failedRecord(audit, err));
    if (err instanceof ApiError && !res.headersSent) {
      stream.abandon();
      return fail(err);
    }
    stream.close("failed");
    if (!(err instanceof ApiError)) throw err;
  }
}
