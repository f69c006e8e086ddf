/**
 * @module daprd's HTTP API for secrets (docs/compatibility.md §1): routing, token auth, request decoding and response
 * shaping around the secrets service. One handler function and no framework: this is the hot path.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { Cancelled, type CallControl } from "../../core/cancellation.js";
import { ApiError, errorCategory, Errors, type ApiErrorDefinition } from "../../errors/catalogue.js";
import { EXTENDED_METADATA_LIMITS } from "../extended-metadata.js";
import type { Logger } from "../../log.js";
import { apiOpen, authenticated, healthProblem, metadataView, setMetadata, type SidecarState } from "../sidecar-api.js";
import type { DenyReason } from "../../audit/audit-log.js";
import { audited, deniedRecord, peerAddress, traceIdOf, type AuditCall } from "../../audit/audit-record.js";
import type { BulkAnswer, SecretAnswer } from "../../core/cache/answer.js";
import { httpErrorStatus, httpSpanAttributes } from "../../tracing/span-attributes.js";
import type { CallSpan, Tracing } from "../../tracing/types.js";
import { cleanPath, EscapeError, metadataFromQuery, plainSecretPath, queryUnescape, SECRETS_PREFIX } from "./decode.js";
import { apiErrorBody, goFlatMap, goString } from "./encode.js";
import { metricsMethod, metricsPath, secretsLabel } from "./metrics-path.js";
import { pipelineGates } from "./pipeline-gate.js";
import { validateRequestBody } from "./request-body.js";
import { subscribeHttp } from "./subscribe.js";

export interface HttpApiOptions {
  state: SidecarState;
  maxBodyBytes: number;
  apiLogging: boolean;
  log: Logger;
}

const JSON_TYPE = "application/json";

type Refusal = "token" | "api_denied" | "scope";

/**
 * What Keyward keeps about one request beside node:http's own objects: one object set on every response as
 * its first and only added property, so every response keeps one shape. (Symbols added in varying order
 * gave responses many shapes and made node:http's own property reads megamorphic: hot path, profiled.)
 */
class Exchange {
  /** The response body's size, for the metrics. */
  bodyBytes = 0;
  /** Why the call was refused, for the refusal metric. */
  outcome: Refusal | undefined = undefined;
  /** The error code or fixed text of a refusal, for the API log line and the error-code metric. */
  reason: string | undefined = undefined;
  /** The call's span, when tracing is on. */
  span: CallSpan | undefined = undefined;
  /** When the request came in, when metrics are on. */
  started = 0;
  /** The store call, once one starts. */
  call: CallControl | undefined = undefined;
  /** Whether `closed` listens on the response. */
  hooked = false;
  /** Whether the request's HTTP metrics are recorded. */
  recorded = false;
  /** A plain secret read's store segment as sent: routing found it, so the metrics label needs no parse. */
  storeSegment: string | undefined = undefined;

  constructor(
    readonly state: SidecarState,
    readonly res: ServerResponse,
  ) {}

  /**
   * The call's cancellation signal, made and registered with the calls in flight only when a store call reads
   * it: aborted when the client closes the connection before the response is sent (nobody will read it), or
   * by shutdown. An answer at hand (a cache hit, a secret held in memory) never makes one.
   */
  get signal(): AbortSignal {
    if (!this.call) {
      this.call = this.state.calls.begin();
      hookClose(this.res, this);
    }
    return this.call.signal;
  }
}

const EXCHANGE = Symbol("keyward.exchange");
type Annotated = ServerResponse & { [EXCHANGE]: Exchange };

function ex(res: ServerResponse): Exchange {
  return (res as Annotated)[EXCHANGE];
}

function send(res: ServerResponse, status: number, body: string | Buffer, type = JSON_TYPE): void {
  const length = Buffer.byteLength(body);
  ex(res).bodyBytes = length;
  res.writeHead(status, { "Content-Type": type, "Content-Length": length });
  res.end(body);
}

function refused(res: ServerResponse, why: Refusal): void {
  ex(res).outcome ??= why;
}

function sendError(res: ServerResponse, err: ApiError | ApiErrorDefinition, args: string[] = []): void {
  const e = err instanceof ApiError ? err : new ApiError(err, args);
  ex(res).reason = e.code;
  if (e.code === Errors.PERMISSION_DENIED.code) refused(res, "scope");
  send(res, e.httpStatus, apiErrorBody(e.code, e.message));
}

/** Go's http.Error: plain text with a newline. */
function sendText(res: ServerResponse, status: number, text: string): void {
  ex(res).reason = text.slice(0, text.indexOf(".") < 0 ? undefined : text.indexOf("."));
  const length = Buffer.byteLength(text) + 1;
  ex(res).bodyBytes = length;
  res.writeHead(status, {
    "Content-Type": "text/plain; charset=utf-8",
    "X-Content-Type-Options": "nosniff",
    "Content-Length": length,
  });
  res.end(text + "\n");
}

class BodyTooLarge extends Error {
  constructor() {
    super("http: request body too large");
  }
}

function hasBody(req: IncomingMessage): boolean {
  const len = req.headers["content-length"];
  return (len !== undefined && len !== "0") || req.headers["transfer-encoding"] !== undefined;
}

/**
 * A body over the limit is still read to its end, up to this much more, and thrown away, so the client
 * has finished sending when the 4xx goes out: answering while it still writes makes its next write fail
 * (EPIPE) and most clients then report that instead of the answer. Past this, the socket is cut.
 */
const DISCARD_LIMIT = 16 * 1024 * 1024;

/** Reads the whole body, or fails with BodyTooLarge once it is read (or cut) past `max`. Never holds more than `max`. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) chunks.push(chunk);
      else if (chunks.length) chunks.length = 0;
      if (size > max + DISCARD_LIMIT) {
        req.destroy();
        reject(new BodyTooLarge());
      }
    });
    req.on("end", () => (size > max ? reject(new BodyTooLarge()) : resolve(Buffer.concat(chunks))));
    req.on("error", reject);
    req.on("close", () => {
      if (!req.complete) reject(new Error("the request body ended early"));
    });
  });
}

/** Reads and checks a body as daprd's universal handler does; answers 400 itself and returns false on error. */
async function acceptBody(
  req: IncomingMessage,
  res: ServerResponse,
  max: number,
  kind: "get" | "bulk",
  audit: ((reason: DenyReason) => void) | undefined,
): Promise<boolean> {
  if (!hasBody(req)) return true;
  let body: Buffer;
  try {
    body = await readBody(req, max);
  } catch (err) {
    audit?.(err instanceof BodyTooLarge ? "limit" : "bad_request");
    res.setHeader("Connection", "close");
    sendError(res, Errors.BODY_READ, [(err as Error).message]);
    return false;
  }
  if (body.length === 0) return true;
  const problem = validateRequestBody(body.toString("utf8"), kind);
  if (problem !== undefined) {
    audit?.("bad_request");
    sendError(res, Errors.MALFORMED_REQUEST, [problem]);
    return false;
  }
  return true;
}

/** The store and secret a secrets route names (unescaped when they can be), or undefined for another route. */
function secretsRoute(seg: readonly string[]): { store: string; secret: string } | undefined {
  if (seg[1] !== "v1.0" || seg[2] !== "secrets" || seg.length !== 5) return undefined;
  const name = (raw: string) => {
    try {
      return queryUnescape(raw);
    } catch {
      return raw;
    }
  };
  return { store: name(seg[3]!), secret: seg[4] === "bulk" ? "bulk" : name(seg[4]!) };
}

/** Who asks what, for the audit line; the trace is the call's span's, else the caller's traceparent. */
function auditCall(req: IncomingMessage, res: ServerResponse, rawPath: string): AuditCall {
  const seg = cleanPath(rawPath).split("/");
  const route = secretsRoute(seg);
  const traceId = ex(res).span?.traceId ?? traceIdOf(req.headers.traceparent);
  return {
    transport: "http",
    remote_address: peerAddress(req.socket.remoteAddress, req.socket.remotePort),
    ...route,
    operation: route ? (route.secret === "bulk" ? "bulk" : "get") : httpOperation(seg),
    ...(traceId ? { trace_id: traceId } : {}),
  };
}

/**
 * daprd's HTTP tracing: a span per call (healthz excepted) named by the path, continuing the caller's
 * traceparent, the traceparent (and tracestate) answered in the response headers.
 */
function traced(req: IncomingMessage, res: ServerResponse, tracing: Tracing): void {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  const path = q < 0 ? url : url.slice(0, q);
  if (path.includes("/healthz")) return;
  const header = (name: string) => {
    const v = req.headers[name];
    return typeof v === "string" ? v : undefined;
  };
  const span = tracing.start(path, { traceparent: header("traceparent"), tracestate: header("tracestate") });
  ex(res).span = span;
  // Set now, sent with whatever head the handler writes.
  res.setHeader("traceparent", span.traceparent);
  if (span.tracestate !== "" && span.tracestate.length <= 512) res.setHeader("tracestate", span.tracestate);
  res.once("close", () => {
    const method = req.method ?? "GET";
    const store = secretsRoute(cleanPath(path).split("/"))?.store;
    const remote = { address: req.socket?.remoteAddress, port: req.socket?.remotePort };
    span.set(httpSpanAttributes(method, path, url, res.statusCode, remote, req.headers, store));
    span.end(httpErrorStatus(res.statusCode, STATUS_CODES[res.statusCode]));
  });
}

/** The API group of a path that is not a secret read, as the audit line names it (a fixed word). */
function httpOperation(seg: readonly string[]): string {
  const group = seg[1] === "v1.0" ? seg[2] : undefined;
  return group === "metadata" || group === "shutdown" || group === "healthz" ? group : "other";
}

/**
 * The one close listener a response gets (a shared function, not a closure per request: hot path, profiled).
 * It ends the response's store call, aborting it when the client left before the answer was written, and
 * records the request's metrics if its handler has not.
 */
function closed(this: ServerResponse): void {
  const x = ex(this);
  const { call } = x;
  if (call) {
    if (!this.writableFinished) call.abort(new Cancelled("client gone"));
    x.state.calls.end(call);
  }
  record(this, x);
}

/**
 * Records daprd's HTTP server metrics for a request, once. As daprd's middleware does, they are taken when the
 * handler is done with the request: an answer already ended is recorded at once, with no listener (hot path,
 * profiled); one still streaming (a subscription) when its response closes.
 */
function handled(res: ServerResponse): void {
  const x = ex(res);
  if (res.writableEnded || res.destroyed) record(res, x);
  else if (x.state.metrics) hookClose(res, x);
}

/** Records the request's metrics, when metrics are on and they are not recorded yet. */
function record(res: ServerResponse, x: Exchange): void {
  const metrics = x.state.metrics;
  if (!metrics || x.recorded) return;
  x.recorded = true;
  const req = res.req;
  const reqBytes = Math.max(0, Number(req.headers["content-length"]) || 0);
  const stores = x.state.runtime.stores;
  const path = x.storeSegment === undefined ? metricsPath(req.url, stores) : secretsLabel(x.storeSegment, stores);
  metrics.recordHttp(metricsMethod(req), path, res.statusCode, reqBytes, x.bodyBytes, performance.now() - x.started);
  const code = x.reason;
  if (code?.startsWith("ERR_")) metrics.errorCode(code, errorCategory(code));
  if (x.outcome) metrics.refused("http", x.outcome);
}

/** Hooks `closed` to a response once. */
function hookClose(res: ServerResponse, x: Exchange): void {
  if (x.hooked) return;
  x.hooked = true;
  // `on`, not `once`: a response closes once, and `once` would wrap the listener in a new closure.
  res.on("close", closed);
}

function unexpected(res: ServerResponse, err: unknown, log: Logger): void {
  log.error({ err: (err as Error).message }, "unexpected error in HTTP handler");
  if (!res.headersSent) sendError(res, Errors.INTERNAL);
  else res.destroy();
}

export function createHttpApi(opts: HttpApiOptions): Server {
  const { log } = opts;
  /** Runs a request's handler when its connection's gate lets it: one function for every request (hot path). */
  const run = (res: ServerResponse): Promise<void> | void => {
    let pending: Promise<void> | undefined;
    try {
      // Most calls are answered before this returns (hot path): only the others make a promise.
      pending = handle(res.req, res, opts)?.catch((err: unknown) => unexpected(res, err, log));
    } catch (err) {
      unexpected(res, err, log);
    }
    if (!pending) return handled(res);
    return pending.then(() => handled(res));
  };
  const gates = pipelineGates(run);
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const started = opts.apiLogging ? performance.now() : 0;
    const x = new Exchange(opts.state, res);
    (res as Annotated)[EXCHANGE] = x;
    // daprd's HTTP server metrics for the request, recorded when its handler is done (or its client gone).
    if (opts.state.metrics) x.started = performance.now();
    if (opts.state.tracing) traced(req, res, opts.state.tracing);
    gates.enter(res);
    if (opts.apiLogging) {
      res.once("finish", () => {
        log.info(
          {
            method: req.method,
            path: (req.url ?? "").split("?")[0],
            code: res.statusCode,
            duration: Math.round((performance.now() - started) * 1000) / 1000,
            useragent: req.headers["user-agent"] ?? "",
            ...(res.statusCode >= 400 ? { reason: x.reason ?? "" } : {}),
          },
          "HTTP API called",
        );
      });
    }
  };
  const server = createServer({ maxHeaderSize: 16 * 1024, requestTimeout: 60_000 }, handler);
  server.on("connection", gates.attach);
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    // Malformed requests never reach the handler; answer them plainly and never crash.
    if (!socket.writable) return socket.destroy();
    const status = err.code === "HPE_HEADER_OVERFLOW" ? "431 Request Header Fields Too Large" : "400 Bad Request";
    // The parser's code says what was wrong; the raw bytes (which may hold a token) are never logged.
    if (opts.apiLogging)
      log.info(
        { code: Number(status.slice(0, 3)), reason: err.code ?? "malformed request" },
        "HTTP API request refused",
      );
    socket.end(
      `HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
    );
  });
  return server;
}

/** Routes one request; a promise only for a call that is not answered before it returns. */
function handle(req: IncomingMessage, res: ServerResponse, opts: HttpApiOptions): Promise<void> | void {
  const { state } = opts;
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  const end = q < 0 ? url.length : q;
  const rawPath = url.slice(0, end);
  const rawQuery = q < 0 ? "" : url.slice(q + 1);
  const method = req.method ?? "GET";

  if (state.token !== undefined) {
    const trimmed = rawPath.replace(/^\/+|\/+$/g, "");
    const exempt = method === "GET" && (trimmed === "v1.0/healthz" || trimmed === "v1.0/healthz/outbound");
    if (!exempt && !authenticated(state, req.headers["dapr-api-token"] as string | undefined)) {
      state.audit?.write(deniedRecord(auditCall(req, res, rawPath), "token"));
      refused(res, "token");
      sendText(res, 401, "invalid api token");
      return;
    }
  }

  // The common call routed without cleaning and splitting its path (hot path, profiled); a denied API is
  // answered below.
  if (method === "GET") {
    const slash = plainSecretPath(url, end);
    if (slash > 0 && apiOpen(state, "secrets", "http")) {
      const rawStore = url.slice(SECRETS_PREFIX.length, slash);
      ex(res).storeSegment = rawStore;
      return secrets(req, res, opts, rawPath, rawStore, url.slice(slash + 1, end), rawQuery);
    }
  }
  const path = cleanPath(rawPath);
  const seg = path.split("/");
  if (seg[1] === "v1.0") {
    if (seg[2] === "secrets" && seg.length === 5 && method === "GET") {
      if (apiOpen(state, "secrets", "http")) return secrets(req, res, opts, rawPath, seg[3]!, seg[4]!, rawQuery);
      // daprd registers no route for a denied API, so the answer below is its "no route" one.
      state.audit?.write(deniedRecord(auditCall(req, res, rawPath), "allowlist"));
      refused(res, "api_denied");
    }
    if (seg[2] === "healthz" && method === "GET") {
      if (seg.length === 3) return healthz(res, state, rawQuery);
      if (seg.length === 4 && seg[3] === "outbound") {
        if (state.shuttingDown) return sendError(res, Errors.OUTBOUND_HEALTH_NOT_READY);
        res.writeHead(204).end();
        return;
      }
    }
    if (seg[2] === "metadata" && apiOpen(state, "metadata", "http")) {
      if (seg.length === 3 && method === "GET") return send(res, 200, metadataBody(state));
      if (seg.length === 4 && method === "PUT") return putMetadata(req, res, opts, seg[3]!);
    }
    if (seg[2] === "shutdown" && seg.length === 3 && method === "POST" && apiOpen(state, "shutdown", "http")) {
      res.writeHead(204).end();
      if (String(req.headers["dapr-force-shutdown"]).toLowerCase() === "true") setTimeout(() => process.exit(1), 100);
      else state.requestShutdown("POST /v1.0/shutdown");
      return;
    }
  }
  if (seg[1] === "v1.0-alpha1" && seg[2] === "secrets" && seg.length === 6 && seg[5] === "subscribe") {
    if (method === "GET" && apiOpen(state, "secrets", "http"))
      return secrets(req, res, opts, rawPath, seg[3]!, seg[4]!, rawQuery, true);
    refused(res, "api_denied");
  }
  sendError(res, Errors.DIRECT_INVOKE);
}

/** The store and secret names of a path, decoded as Go's query unescape does; answers 400 itself when one is not. */
function decodeNames(res: ServerResponse, rawStore: string, rawKey: string): [string, string] | undefined {
  let param = "secretStoreName";
  try {
    const store = queryUnescape(rawStore);
    param = "key";
    return [store, queryUnescape(rawKey)];
  } catch (err) {
    if (!(err instanceof EscapeError)) throw err;
    sendText(res, 400, `failed to unescape request parameter "${param}". Error: ${err.message}`);
    return undefined;
  }
}

function secrets(
  req: IncomingMessage,
  res: ServerResponse,
  opts: HttpApiOptions,
  rawPath: string,
  rawStore: string,
  rawKey: string,
  rawQuery: string,
  subscribe = false,
): Promise<void> | void {
  const audit = opts.state.audit;
  const names = decodeNames(res, rawStore, rawKey);
  // Built only with --audit-log: without it a call pays this one test.
  const call = audit
    ? {
        ...auditCall(req, res, rawPath),
        ...(subscribe ? { store: names?.[0] ?? rawStore, secret: names?.[1] ?? rawKey, operation: "subscribe" } : {}),
      }
    : undefined;
  if (!names) {
    audit?.write(deniedRecord(call!, "bad_request"));
    return;
  }
  const bulk = !subscribe && rawKey === "bulk";
  // GETs almost never carry a body: testing first spares them acceptBody's promise (hot path, profiled). No
  // closure here either: one would put this function's variables in a context object on every call.
  if (!hasBody(req)) return read(req, res, opts.state, names, bulk, subscribe, rawQuery, call);
  return readAfterBody(req, res, opts, names, bulk, subscribe, rawQuery, call);
}

/** A secrets call with a body: the body is read and checked first, as daprd does. */
async function readAfterBody(
  req: IncomingMessage,
  res: ServerResponse,
  opts: HttpApiOptions,
  names: [string, string],
  bulk: boolean,
  subscribe: boolean,
  rawQuery: string,
  call: AuditCall | undefined,
): Promise<void> {
  const audit = opts.state.audit;
  const refusedBody = audit ? (reason: DenyReason) => void audit.write(deniedRecord(call!, reason)) : undefined;
  if (await acceptBody(req, res, opts.maxBodyBytes, bulk ? "bulk" : "get", refusedBody))
    return read(req, res, opts.state, names, bulk, subscribe, rawQuery, call);
}

function read(
  req: IncomingMessage,
  res: ServerResponse,
  state: SidecarState,
  [store, key]: [string, string],
  bulk: boolean,
  subscribe: boolean,
  rawQuery: string,
  call: AuditCall | undefined,
): Promise<void> | void {
  // A subscription: the secret's changes as an event stream, after the same name and scope checks as a GET.
  if (subscribe) return subscribeHttp(req, res, state, store, key, rawQuery, (err) => sendError(res, err), call);
  return answer(res, state, store, bulk ? undefined : key, rawQuery, call);
}

/**
 * Answers a secret read (`key`) or a bulk read (no key). Without an audit line to wait for, an answer at hand
 * (a cache hit, a secret held in memory) is sent before this returns: no promise, no microtask.
 */
function answer(
  res: ServerResponse,
  state: SidecarState,
  store: string,
  key: string | undefined,
  rawQuery: string,
  call: AuditCall | undefined,
): Promise<void> | void {
  const metadata = metadataFromQuery(rawQuery);
  const service = state.runtime.service;
  const x = ex(res);
  const span = state.tracing && x.span;
  const audit = state.audit;
  try {
    const pending =
      key === undefined
        ? service.getBulkSecretAnswer(store, metadata, x.signal, span)
        : audit
          ? service.getSecretAnswer(store, key, metadata, x, span)
          : service.secretAnswer(store, key, metadata, x, span);
    const answered = audit ? audited(audit, call!, pending as Promise<SecretAnswer | BulkAnswer>, !key) : pending;
    if (answered instanceof Promise)
      return answered.then(
        (a) => sendAnswer(res, a),
        (err: unknown) => sendApiError(res, err),
      );
    sendAnswer(res, answered);
  } catch (err) {
    sendApiError(res, err);
  }
}

/** The body is the answer's own, made once: a cached answer is sent again without serialising it. */
function sendAnswer(res: ServerResponse, answer: SecretAnswer | BulkAnswer): void {
  const body = answer.http();
  if (body === null) res.writeHead(204).end();
  else send(res, 200, body);
}

function sendApiError(res: ServerResponse, err: unknown): void {
  if (err instanceof ApiError) return sendError(res, err);
  throw err;
}

function healthz(res: ServerResponse, state: SidecarState, rawQuery: string): void {
  const problem = healthProblem(state, new URLSearchParams(rawQuery).get("appid"));
  if (problem) return sendError(res, problem);
  res.writeHead(204).end();
}

/** The metadata answer as daprd's JSON encoder writes it (field order, omitted empty components). */
export function metadataBody(state: SidecarState): string {
  const view = metadataView(state);
  const components = view.components.map((c) => {
    const parts = [`"name":${goString(c.name)}`, `"type":${goString(c.type)}`, `"version":${goString(c.version)}`];
    if (c.capabilities.length) parts.push(`"capabilities":[${c.capabilities.map(goString).join(",")}]`);
    return `{${parts.join(",")}}`;
  });
  const { appConnection: app, actorRuntime: actors } = view;
  return (
    `{"id":${goString(view.id)},"runtimeVersion":${goString(view.runtimeVersion)}` +
    (components.length ? `,"components":[${components.join(",")}]` : "") +
    `,"extended":${goFlatMap(view.extended)}` +
    `,"appConnectionProperties":{"protocol":${goString(app.protocol)},"channelAddress":${goString(app.channelAddress)}}` +
    `,"actorRuntime":{"runtimeStatus":${goString(actors.runtimeStatus)},"hostReady":${actors.hostReady}}}\n`
  );
}

async function putMetadata(
  req: IncomingMessage,
  res: ServerResponse,
  opts: HttpApiOptions,
  rawKey: string,
): Promise<void> {
  let key: string;
  try {
    key = queryUnescape(rawKey);
  } catch (err) {
    return sendText(res, 400, `failed to unescape request parameter "key". Error: ${(err as Error).message}`);
  }
  // A value can never be larger than the total limit: refuse it without reading megabytes first.
  const max = Math.min(opts.maxBodyBytes, EXTENDED_METADATA_LIMITS.maxTotalBytes);
  let body: Buffer;
  try {
    body = await readBody(req, max);
  } catch (err) {
    res.setHeader("Connection", "close");
    if (err instanceof BodyTooLarge && max < opts.maxBodyBytes)
      return sendError(res, Errors.METADATA_SET, [`a value may be at most ${max} bytes`]);
    return sendError(res, Errors.BODY_READ, [(err as Error).message]);
  }
  try {
    setMetadata(opts.state, key, body.toString("utf8"));
  } catch (err) {
    if (err instanceof ApiError) return sendError(res, err);
    throw err;
  }
  res.writeHead(204).end();
}
