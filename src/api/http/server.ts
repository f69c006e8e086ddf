/**
 * @module daprd's HTTP API for secrets (docs/compatibility.md §1): routing, token auth, request decoding and response
 * shaping around the secrets service. One handler function and no framework: this is the hot path.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { Cancelled, type InFlightCalls } from "../../core/cancellation.js";
import { ApiError, errorCategory, Errors, type ApiErrorDefinition } from "../../errors/catalogue.js";
import { EXTENDED_METADATA_LIMITS } from "../extended-metadata.js";
import type { Logger } from "../../log.js";
import { apiOpen, authenticated, healthProblem, metadataView, setMetadata, type SidecarState } from "../sidecar-api.js";
import type { DenyReason } from "../../audit/audit-log.js";
import { audited, deniedRecord, peerAddress, traceIdOf, type AuditCall } from "../../audit/audit-record.js";
import type { BulkAnswer, SecretAnswer } from "../../core/cache/answer.js";
import { httpErrorStatus, httpSpanAttributes } from "../../tracing/span-attributes.js";
import type { CallSpan, Tracing } from "../../tracing/types.js";
import { cleanPath, EscapeError, metadataFromQuery, queryUnescape } from "./decode.js";
import { apiErrorBody, goFlatMap, goString } from "./encode.js";
import { metricsMethod, metricsPath } from "./metrics-path.js";
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

/** What the metrics read off a response once it is done: why it was refused, its body's size. */
const OUTCOME = Symbol("keyward.outcome");
const BODY_BYTES = Symbol("keyward.bodyBytes");
/** The call's span, when tracing is on. */
const SPAN = Symbol("keyward.span");
type Refusal = "token" | "api_denied" | "scope";
type Annotated = ServerResponse & { [OUTCOME]?: Refusal; [BODY_BYTES]?: number; [SPAN]?: CallSpan };

function send(res: ServerResponse, status: number, body: string | Buffer, type = JSON_TYPE): void {
  const length = Buffer.byteLength(body);
  (res as Annotated)[BODY_BYTES] = length;
  res.writeHead(status, { "Content-Type": type, "Content-Length": length });
  res.end(body);
}

function refused(res: ServerResponse, why: Refusal): void {
  (res as Annotated)[OUTCOME] ??= why;
}

/** Why a call was refused, for the API log line: an error code or a fixed text, never a value or token. */
const refusals = new WeakMap<ServerResponse, string>();

function sendError(res: ServerResponse, err: ApiError | ApiErrorDefinition, args: string[] = []): void {
  const e = err instanceof ApiError ? err : new ApiError(err, args);
  refusals.set(res, e.code);
  if (e.code === Errors.PERMISSION_DENIED.code) refused(res, "scope");
  send(res, e.httpStatus, apiErrorBody(e.code, e.message));
}

/** Go's http.Error: plain text with a newline. */
function sendText(res: ServerResponse, status: number, text: string): void {
  refusals.set(res, text.slice(0, text.indexOf(".") < 0 ? undefined : text.indexOf(".")));
  const length = Buffer.byteLength(text) + 1;
  (res as Annotated)[BODY_BYTES] = length;
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
  const traceId = (res as Annotated)[SPAN]?.traceId ?? traceIdOf(req.headers.traceparent);
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
  (res as Annotated)[SPAN] = span;
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

/** daprd's HTTP server metrics for one request, recorded when its response is done or its client gone. */
function observe(req: IncomingMessage, res: ServerResponse, state: SidecarState): void {
  const metrics = state.metrics!;
  const started = performance.now();
  res.once("close", () => {
    const reqBytes = Math.max(0, Number(req.headers["content-length"]) || 0);
    const resBytes = (res as Annotated)[BODY_BYTES] ?? 0;
    const path = metricsPath(req.url, (n) => state.runtime.stores.has(n));
    metrics.recordHttp(metricsMethod(req), path, res.statusCode, reqBytes, resBytes, performance.now() - started);
    const code = refusals.get(res);
    if (code?.startsWith("ERR_")) metrics.errorCode(code, errorCategory(code));
    const why = (res as Annotated)[OUTCOME];
    if (why) metrics.refused("http", why);
  });
}

export function createHttpApi(opts: HttpApiOptions): Server {
  const { log } = opts;
  const gates = pipelineGates();
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const started = opts.apiLogging ? performance.now() : 0;
    if (opts.state.metrics) observe(req, res, opts.state);
    if (opts.state.tracing) traced(req, res, opts.state.tracing);
    gates.enter(res, () =>
      handle(req, res, opts).catch((err: unknown) => {
        log.error({ err: (err as Error).message }, "unexpected error in HTTP handler");
        if (!res.headersSent) sendError(res, Errors.INTERNAL);
        else res.destroy();
      }),
    );
    if (opts.apiLogging) {
      res.once("finish", () => {
        log.info(
          {
            method: req.method,
            path: (req.url ?? "").split("?")[0],
            code: res.statusCode,
            duration: Math.round((performance.now() - started) * 1000) / 1000,
            useragent: req.headers["user-agent"] ?? "",
            ...(res.statusCode >= 400 ? { reason: refusals.get(res) ?? "" } : {}),
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

async function handle(req: IncomingMessage, res: ServerResponse, opts: HttpApiOptions): Promise<void> {
  const { state } = opts;
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  const rawPath = q < 0 ? url : url.slice(0, q);
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

async function secrets(
  req: IncomingMessage,
  res: ServerResponse,
  opts: HttpApiOptions,
  rawPath: string,
  rawStore: string,
  rawKey: string,
  rawQuery: string,
  subscribe = false,
): Promise<void> {
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
  const [store, key] = names;
  const bulk = !subscribe && rawKey === "bulk";
  const refusedBody = audit ? (reason: DenyReason) => void audit.write(deniedRecord(call!, reason)) : undefined;
  // GETs almost never carry a body: testing first spares them acceptBody's extra promise (hot path, profiled).
  if (hasBody(req) && !(await acceptBody(req, res, opts.maxBodyBytes, bulk ? "bulk" : "get", refusedBody))) return;
  // A subscription: the secret's changes as an event stream, after the same name and scope checks as a GET.
  if (subscribe) return subscribeHttp(req, res, opts.state, store, key, rawQuery, (err) => sendError(res, err), call);
  const metadata = metadataFromQuery(rawQuery);
  const service = opts.state.runtime.service;
  const cancel = callSignal(res, opts.state.calls);
  try {
    const span = opts.state.tracing && (res as Annotated)[SPAN];
    const pending: Promise<SecretAnswer | BulkAnswer> = bulk
      ? service.getBulkSecretAnswer(store, metadata, cancel.signal, span)
      : service.getSecretAnswer(store, key, metadata, cancel, span);
    // The body is the answer's own, made once: a cached answer is sent again without serialising it.
    const body = (await (audit ? audited(audit, call!, pending, bulk) : pending)).http();
    if (body === null) res.writeHead(204).end();
    else send(res, 200, body);
  } catch (err) {
    if (err instanceof ApiError) return sendError(res, err);
    throw err;
  }
}

/**
 * The call's controller: aborted when the client closes the connection before the response is sent (nobody
 * will read it), or by shutdown. The call stays in `calls` until its response is written or the socket is
 * gone. Its signal is made only when read (see CallSignal).
 */
function callSignal(res: ServerResponse, calls: InFlightCalls): AbortController {
  const ctl = calls.begin();
  res.once("close", () => {
    if (!res.writableFinished) ctl.abort(new Cancelled("client gone"));
    calls.end(ctl);
  });
  return ctl;
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
