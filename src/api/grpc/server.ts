/**
 * @module daprd's gRPC API (docs/compatibility.md §2) on `dapr.proto.runtime.v1.Dapr`, loaded from the .proto files
 * vendored in proto/. Secrets, metadata and shutdown are served; every other method answers
 * UNIMPLEMENTED. Keyward's own `keyward.v1alpha1.Secrets` (change notifications) shares the port and interceptor. grpc-js accepts both `application/grpc` and Connect's `application/grpc+proto`.
 */
import {
  Metadata,
  Server,
  ServerCredentials,
  ServerInterceptingCall,
  status,
  type sendUnaryData,
  type ServerInterceptor,
  type ServerUnaryCall,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { audited, deniedRecord, peerAddress, traceIdOf, type AuditCall } from "../../audit/audit-record.js";
import { Cancelled, type CallControl, type InFlightCalls } from "../../core/cancellation.js";
import { ApiError, errorCategory, Errors } from "../../errors/catalogue.js";
import type { Logger } from "../../log.js";
import type { GrpcConnectionSink } from "../grpc-listener.js";
import { apiOpen, metadataView, setMetadata, tokenMatches, type SidecarState } from "../sidecar-api.js";
import { AnswerGates, approximateBytes, type GatedCall } from "./answer-gate.js";
import { daprService, SERVICE, warmDaprService, wireBytes } from "./dapr-service.js";
import { grpcSpanAttributes } from "../../tracing/span-attributes.js";
import type { CallSpan } from "../../tracing/types.js";
import { keywardService, subscribeSecretHandler } from "./keyward-service.js";
import { addReflection } from "./reflection.js";
import { errorInfoMetadata } from "./status-details.js";

export interface GrpcApiOptions {
  state: SidecarState;
  maxMessageBytes: number;
  apiLogging: boolean;
  log: Logger;
}

const GROUP: Record<string, string> = {
  GetSecret: "secrets",
  GetBulkSecret: "secrets",
  SubscribeSecret: "secrets",
  GetMetadata: "metadata",
  SetMetadata: "metadata",
  Shutdown: "shutdown",
};

/**
 * Per-connection bounds. A client may keep at most this many calls open at once on one connection, and
 * while answers not yet taken by the client hold more than max_session_memory MiB, new calls on that
 * connection are refused until it reads: a client that never reads cannot grow the process without end.
 */
export const GRPC_CONNECTION_BOUNDS = {
  "grpc.max_concurrent_streams": 100,
  "grpc-node.max_session_memory": 16,
} as const;

type Unary<Req> = (call: ServerUnaryCall<Req, unknown>, cb: sendUnaryData<unknown>) => void;

const gates = new AnswerGates();

/** The daprd error code behind each error status a handler answered, for the error-code metric. */
const apiErrorCodes = new WeakMap<object, string>();

/** Runs a call's work once its connection may build another answer, then answers it. */
function reply<T>(call: GatedCall, cb: sendUnaryData<unknown>, work: () => Promise<T> | T): void {
  void gates.admit(call).then(async (admission) => {
    // The client went away while the call waited for its turn: nothing is built, the call still ends.
    if (!admission) return cb({ code: status.CANCELLED, details: "cancelled" });
    let value: T;
    try {
      value = await work();
    } catch (err) {
      admission.built(0);
      // Anything but an ApiError is a bug: the caller learns nothing of its cause.
      const e = err instanceof ApiError ? err : new ApiError(Errors.INTERNAL);
      const answer = { code: e.grpcCode, details: e.message };
      apiErrorCodes.set(answer, e.code);
      cb(answer);
      return;
    }
    admission.built(approximateBytes(value));
    cb(null, value);
  });
}

/** Go's names of the gRPC codes, as daprd's grpc_server_status label spells them. */
const GO_CODE_NAMES = [
  "OK",
  "Canceled",
  "Unknown",
  "InvalidArgument",
  "DeadlineExceeded",
  "NotFound",
  "AlreadyExists",
  "PermissionDenied",
  "ResourceExhausted",
  "FailedPrecondition",
  "Aborted",
  "OutOfRange",
  "Unimplemented",
  "Internal",
  "Unavailable",
  "DataLoss",
  "Unauthenticated",
];

/**
 * daprd's gRPC server metrics around a served method. As in daprd, they sit after the token check: a call
 * refused there is counted by keyward_api_refusals_total only.
 */
function observed(state: SidecarState, method: string, handler: Unary<unknown>): Unary<unknown> {
  const metrics = state.metrics;
  if (!metrics) return handler;
  const fullMethod = `/dapr.proto.runtime.v1.Dapr/${method}`;
  return (call, cb) => {
    const started = performance.now();
    handler(call, (err, value) => {
      cb(err, value);
      // grpc-js serialized the answer inside cb, so its size is known now.
      const sent = value !== null && typeof value === "object" ? (wireBytes.get(value) ?? 0) : 0;
      const received = wireBytes.get(call.request as object) ?? 0;
      const code = err ? (err.code ?? status.UNKNOWN) : status.OK;
      metrics.recordGrpc(fullMethod, GO_CODE_NAMES[code] ?? "Unknown", received, sent, performance.now() - started);
      const apiCode = err ? apiErrorCodes.get(err) : undefined;
      if (apiCode !== undefined) {
        metrics.errorCode(apiCode, errorCategory(apiCode));
        if (apiCode === Errors.PERMISSION_DENIED.code) metrics.refused("grpc", "scope");
      }
    });
  };
}

/** Each traced call's span, for the handler's store call and audit line. */
const spans = new WeakMap<object, CallSpan>();

/**
 * daprd's gRPC tracing around a served method: a span named by the full method, continuing the caller's
 * grpc-trace-bin or traceparent, and grpc-trace-bin sent back in the response headers.
 */
function traced(state: SidecarState, method: string, handler: Unary<unknown>): Unary<unknown> {
  const tracing = state.tracing;
  if (!tracing) return handler;
  const fullMethod = `/${SERVICE}/${method}`;
  return (call, cb) => {
    const md = call.metadata;
    const text = (key: string) => {
      const v = md.get(key)[0];
      return typeof v === "string" ? v : undefined;
    };
    const bin = md.get("grpc-trace-bin")[0];
    const span = tracing.start(fullMethod, {
      traceparent: text("traceparent"),
      tracestate: text("tracestate"),
      binary: Buffer.isBuffer(bin) ? bin : undefined,
    });
    spans.set(call, span);
    const header = new Metadata();
    header.set("grpc-trace-bin", span.binary());
    call.sendMetadata(header);
    handler(call, (err, value) => {
      const store = method === "GetSecret" ? (call.request as { store_name?: string }).store_name : undefined;
      span.set(grpcSpanAttributes(fullMethod, Object.entries(md.getMap()), store));
      span.end(err ? (err.details ?? "error") : undefined);
      cb(err, value);
    });
  };
}

/**
 * A gRPC call's cancellation signal, made and registered with the calls in flight only when a store call
 * reads it: aborted when the client cancels, its deadline passes (grpc-js then reports the call cancelled) or
 * shutdown cancels it. An answer at hand (a cache hit, a secret held in memory) never makes one (hot path).
 */
class GrpcCallSignal {
  private control: CallControl | undefined;
  private readonly onCancel = () => this.control?.abort(new Cancelled("client gone"));

  constructor(
    private readonly call: ServerUnaryCall<unknown, unknown>,
    private readonly calls: InFlightCalls,
  ) {}

  get signal(): AbortSignal {
    if (!this.control) {
      this.control = this.calls.begin();
      if (this.call.cancelled) this.onCancel();
      else this.call.once("cancelled", this.onCancel);
    }
    return this.control.signal;
  }

  end(): void {
    if (!this.control) return;
    this.call.off("cancelled", this.onCancel);
    this.calls.end(this.control);
  }
}

/** `reply` for a call that reaches a store, with its cancellation signal. */
function replyCancellable<T>(
  call: ServerUnaryCall<unknown, unknown>,
  cb: sendUnaryData<unknown>,
  calls: InFlightCalls,
  work: (control: GrpcCallSignal) => Promise<T> | T,
): void {
  const control = new GrpcCallSignal(call, calls);
  reply(
    call,
    (err, value) => {
      control.end();
      cb(err, value);
    },
    () => work(control),
  );
}

const GRPC_OPERATION: Record<string, string> = {
  GetSecret: "get",
  GetBulkSecret: "bulk",
  GetMetadata: "metadata",
  SetMetadata: "metadata",
  Shutdown: "shutdown",
};

/** Who asks, for the audit line: grpc-js gives the peer as `address:port`. */
function grpcAuditCall(peer: string, md: Metadata, operation: string, span?: CallSpan): AuditCall {
  const m = /^(.*):(\d+)$/.exec(peer);
  const traceId = span?.traceId ?? traceIdOf(md.get("traceparent")[0]);
  return {
    transport: "grpc",
    remote_address: m ? peerAddress(m[1], Number(m[2])) : peer,
    operation,
    ...(traceId ? { trace_id: traceId } : {}),
  };
}

export function createGrpcApi(opts: GrpcApiOptions): Server {
  const { state } = opts;
  const service = daprService();

  const interceptor: ServerInterceptor = (descriptor, call) => {
    // With no token, no API allow/deny list and no API logging the wrapper below would pass everything
    // through unchanged: hand grpc-js its own call back and spare every call the extra layer (hot path, profiled).
    const cfg0 = state.runtime.configuration;
    if (
      state.token === undefined &&
      !opts.apiLogging &&
      !state.audit &&
      cfg0.apiAllowed === undefined &&
      cfg0.apiDenied === undefined
    )
      return call as ServerInterceptingCall;
    const method = descriptor.path.slice(descriptor.path.lastIndexOf("/") + 1);
    const started = performance.now();
    let ended = false;
    const logCall = (code: status, reason?: string) => {
      ended = true;
      if (!opts.apiLogging) return;
      const duration = Math.round((performance.now() - started) * 1000) / 1000;
      // Refusals say why; the reason is a status text or a fixed phrase, never a token or a value.
      const fields = { method: descriptor.path, code: status[code], duration, ...(reason ? { reason } : {}) };
      opts.log.info(fields, "gRPC API called");
    };
    const refuse = (code: status, details: string, httpCode: string, reason: string, md: Metadata) => {
      logCall(code, reason);
      // Refused on the metadata, before the request message is read: the line has no store or secret name.
      state.audit?.write(
        deniedRecord(
          grpcAuditCall(call.getPeer(), md, GRPC_OPERATION[method] ?? "other"),
          code === status.UNAUTHENTICATED ? "token" : "allowlist",
        ),
      );
      state.metrics?.refused("grpc", code === status.UNAUTHENTICATED ? "token" : "api_denied");
      call.sendStatus({
        code,
        details,
        metadata: errorInfoMetadata(code, details, details, { "http.code": httpCode, "http.error_message": reason }),
      });
    };
    return new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(md, mdNext) {
            const group = GROUP[method];
            if (group !== undefined && !apiOpen(state, group, "grpc"))
              return refuse(status.UNIMPLEMENTED, "Not Implemented", "501", "requested endpoint is not available", md);
            if (state.token !== undefined) {
              const given = md.get("dapr-api-token");
              const detail =
                given.length === 0
                  ? "missing api token in request metadata"
                  : !tokenMatches(state.token, String(given[0]))
                    ? "authentication error: api token mismatch"
                    : undefined;
              if (detail !== undefined) return refuse(status.UNAUTHENTICATED, "Unauthorized", "401", detail, md);
              md.remove("dapr-api-token");
            }
            mdNext(md);
          },
          onCancel() {
            // grpc-js ends a call itself, bypassing sendStatus below, for a message over the size limit,
            // a deadline or a client cancel; the log still shows the call.
            if (!ended)
              logCall(status.CANCELLED, "ended by the gRPC layer: client cancel, deadline or message too large");
          },
        });
      },
      sendStatus(st, next) {
        if (!ended) logCall(st.code, st.code === status.OK ? undefined : st.details);
        next(st);
      },
    });
  };

  const impl: UntypedServiceImplementation = {
    GetSecret: ((call, cb) =>
      replyCancellable(call, cb, state.calls, async (control) => {
        const r = call.request as { store_name: string; key: string; metadata: Record<string, string> };
        const span = state.tracing && spans.get(call);
        const service = state.runtime.service;
        const audit = state.audit;
        // Without an audit line to wait for, an answer at hand comes back without a promise (hot path).
        if (!audit) {
          const now = service.secretAnswer(r.store_name, r.key, r.metadata ?? {}, control, span);
          return (now instanceof Promise ? await now : now).grpc();
        }
        const answer = service.getSecretAnswer(r.store_name, r.key, r.metadata ?? {}, control, span);
        const who = {
          ...grpcAuditCall(call.getPeer(), call.metadata, "get", span),
          store: r.store_name,
          secret: r.key,
        };
        return (await audited(audit, who, answer, false)).grpc();
      })) as Unary<unknown>,
    GetBulkSecret: ((call, cb) =>
      replyCancellable(call, cb, state.calls, async (control) => {
        const r = call.request as { store_name: string; metadata: Record<string, string> };
        const span = state.tracing && spans.get(call);
        const answer = state.runtime.service.getBulkSecretAnswer(r.store_name, r.metadata ?? {}, control.signal, span);
        const audit = state.audit;
        if (!audit) return (await answer).grpc();
        const who = {
          ...grpcAuditCall(call.getPeer(), call.metadata, "bulk", span),
          store: r.store_name,
          secret: "bulk",
        };
        return (await audited(audit, who, answer, true)).grpc();
      })) as Unary<unknown>,
    GetMetadata: ((call, cb) =>
      reply(call, cb, () => {
        const view = metadataView(state);
        return {
          id: view.id,
          registered_components: view.components,
          extended_metadata: view.extended,
          runtime_version: view.runtimeVersion,
          enabled_features: [],
          app_connection_properties: {
            protocol: view.appConnection.protocol,
            channel_address: view.appConnection.channelAddress,
          },
          actor_runtime: {
            runtime_status: view.actorRuntime.runtimeStatus,
            host_ready: view.actorRuntime.hostReady,
          },
        };
      })) as Unary<unknown>,
    SetMetadata: ((call, cb) =>
      reply(call, cb, () => {
        const r = call.request as { key: string; value: string };
        setMetadata(state, r.key, r.value);
        return {};
      })) as Unary<unknown>,
    Shutdown: ((call, cb) =>
      reply(call, cb, () => {
        setImmediate(() => state.requestShutdown("gRPC Shutdown"));
        return {};
      })) as Unary<unknown>,
  };

  const server = new Server({
    interceptors: [interceptor],
    "grpc.max_receive_message_length": opts.maxMessageBytes,
    "grpc.max_send_message_length": opts.maxMessageBytes,
    ...GRPC_CONNECTION_BOUNDS,
  });
  for (const [name, handler] of Object.entries(impl))
    impl[name] = observed(state, name, traced(state, name, handler as Unary<unknown>));
  server.addService(service, impl);
  server.addService(keywardService(), { SubscribeSecret: subscribeSecretHandler(state) });
  addReflection(server);
  return server;
}

/**
 * The gRPC API on connections the sidecar's own listener accepts (api/grpc-listener.ts, which loads this
 * module on the first one). The protobuf code of the served messages is built now, before the first call.
 */
export function grpcConnectionSink(opts: GrpcApiOptions): GrpcConnectionSink {
  const server = createGrpcApi(opts);
  try {
    const differ = warmDaprService();
    if (differ.length)
      opts.log.error(
        `gRPC: dapr.proto's method list read differently at start-up and by protobufjs: ${differ.join(", ")}`,
      );
  } catch (err) {
    opts.log.error(`gRPC: cannot load the Dapr protos: ${(err as Error).message}`);
  }
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  return {
    accept: (socket) => injector.injectConnection(socket),
    close: () => new Promise<void>((r) => server.tryShutdown(() => r())),
    destroy: () => server.forceShutdown(),
  };
}
