/**
 * @module Tracing with the OpenTelemetry SDK, as daprd sets it up from `spec.tracing`: a parent-based
 * ratio sampler, W3C trace context in, OTLP (HTTP or gRPC), Zipkin and stdout exporters out. Every
 * OpenTelemetry package is imported here, dynamically, and only when tracing is on: a sidecar without
 * `spec.tracing` never loads them.
 */
import { createRequire } from "node:module";
import type * as Api from "@opentelemetry/api";
import type { ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace";
import type { Logger } from "../log.js";
import { KEYWARD_VERSION } from "../version.js";
import type { OtelSettings, TracingSettings } from "./settings.js";
import type { CallSpan, IncomingContext, StoreSpan, Tracing } from "./types.js";
import { fromBinary, toBinary } from "./binary-context.js";
import { storeErrorKind } from "../core/error-kind.js";

/** Spans are sent in batches at least this often (the SDK's default is 5 s). */
const BATCH_MS = 1000;

/** At most one warning about failed exports in this many ms: a collector that is down must not flood the log. */
const WARN_EVERY_MS = 30_000;

/** The collector URL for OTLP over HTTP: daprd takes `host:port` and adds the scheme and /v1/traces. */
export function otlpHttpUrl(otel: OtelSettings): string {
  if (!otel.endpointAddress.includes("://"))
    return `${otel.isSecure ? "https" : "http"}://${otel.endpointAddress}/v1/traces`;
  const url = new URL(otel.endpointAddress);
  if (url.pathname === "/" || url.pathname === "") url.pathname = "/v1/traces";
  return url.toString();
}

/** The collector address for OTLP over gRPC: a scheme (for the exporter) and host:port, no path. */
export function otlpGrpcUrl(otel: OtelSettings): string {
  const address = otel.endpointAddress.replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "");
  return `${otel.isSecure ? "https" : "http"}://${address}`;
}

async function exporters(settings: TracingSettings, appId: string, log: Logger): Promise<SpanExporter[]> {
  const out: SpanExporter[] = [];
  if (settings.stdout) out.push(new LogExporter(log));
  if (settings.zipkin) {
    const { ZipkinExporter } = await import("@opentelemetry/exporter-zipkin");
    out.push(new ZipkinExporter({ url: settings.zipkin.endpointAddress, serviceName: appId }));
  }
  const otel = settings.otel;
  if (otel?.protocol === "http") {
    const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
    const timeout = otel.timeoutMs === undefined ? {} : { timeoutMillis: otel.timeoutMs };
    out.push(new OTLPTraceExporter({ url: otlpHttpUrl(otel), headers: otel.headers, ...timeout }));
  } else if (otel?.protocol === "grpc") {
    const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-grpc");
    // The exporter takes grpc-js from node_modules (its own require); credentials and metadata must come
    // from that same copy, not from the one bundled into the server's chunk, or grpc-js rejects them.
    const grpc = createRequire(import.meta.url)("@grpc/grpc-js") as typeof import("@grpc/grpc-js");
    const metadata = new grpc.Metadata();
    for (const [k, v] of Object.entries(otel.headers)) metadata.set(k, v);
    out.push(
      new OTLPTraceExporter({
        url: otlpGrpcUrl(otel),
        credentials: otel.isSecure ? grpc.credentials.createSsl() : grpc.credentials.createInsecure(),
        metadata,
        ...(otel.timeoutMs === undefined ? {} : { timeoutMillis: otel.timeoutMs }),
      }),
    );
  }
  return out;
}

/** daprd's stdout exporter: one log line per span. */
class LogExporter implements SpanExporter {
  constructor(private readonly log: Logger) {}
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    for (const s of spans) {
      const sc = s.spanContext();
      const parent = s.parentSpanContext?.spanId ?? "0000000000000000";
      const ms = (t: [number, number]) => new Date(t[0] * 1000 + t[1] / 1e6).toISOString();
      this.log.info(
        `[${s.name}] Trace: ${sc.traceId} Span: ${parent}/${sc.spanId} Time: [${ms(s.startTime)} ->  ${ms(s.endTime)}] Annotations: []`,
      );
    }
    done({ code: 0 });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** Loads the SDK and starts exporting; undefined when the sampling rate is 0 (daprd then traces nothing). */
export async function startTracing(
  settings: TracingSettings,
  appId: string,
  log: Logger,
): Promise<Tracing | undefined> {
  if (settings.samplingRate === 0) return undefined;
  const [api, core, sdk, resources] = await Promise.all([
    import("@opentelemetry/api"),
    import("@opentelemetry/core"),
    import("@opentelemetry/sdk-trace"),
    import("@opentelemetry/resources"),
  ]);
  let lastWarn = -Infinity;
  // Export failures reach OpenTelemetry's diagnostic logger; shown as warnings, at most one per period.
  api.diag.setLogger(
    {
      error: (msg) => {
        if (performance.now() - lastWarn < WARN_EVERY_MS) return;
        lastWarn = performance.now();
        log.warn(`tracing: ${msg}`);
      },
      warn: () => undefined,
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    { logLevel: api.DiagLogLevel.ERROR, suppressOverrideMessage: true },
  );
  const exporting = await exporters(settings, appId, log);
  const provider = new sdk.TracerProvider({
    sampler: new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(settings.samplingRate) }),
    resource: resources.resourceFromAttributes({ "service.name": appId }),
    spanProcessors: exporting.map(
      (exporter) => new sdk.BatchSpanProcessor({ exporter, scheduledDelayMillis: BATCH_MS }),
    ),
  });
  const tracer = provider.getTracer("keyward", KEYWARD_VERSION);
  const propagator = new core.W3CTraceContextPropagator();
  const names = [
    settings.otel ? `otel ${settings.otel.protocol} ${new URL(otlpGrpcUrl(settings.otel)).host}` : "",
    settings.zipkin ? "zipkin" : "",
    settings.stdout ? "stdout" : "",
  ].filter(Boolean);
  log.info(
    `tracing on: sampling rate ${settings.samplingRate} (parent-based), exporters: ${names.join(", ") || "none"}`,
  );

  const parentContext = (incoming: IncomingContext): Api.Context => {
    if (incoming.binary) {
      const sc = fromBinary(incoming.binary);
      if (sc) return api.trace.setSpanContext(api.ROOT_CONTEXT, { ...sc, isRemote: true });
    }
    if (!incoming.traceparent) return api.ROOT_CONTEXT;
    const carrier: Record<string, string> = { traceparent: incoming.traceparent };
    if (incoming.tracestate) carrier.tracestate = incoming.tracestate;
    return propagator.extract(api.ROOT_CONTEXT, carrier, api.defaultTextMapGetter);
  };

  return {
    start(name, incoming) {
      const span = tracer.startSpan(name, { kind: api.SpanKind.SERVER }, parentContext(incoming));
      const sc = span.spanContext();
      const context = api.trace.setSpan(api.ROOT_CONTEXT, span);
      const call: CallSpan = {
        traceId: sc.traceId,
        traceparent: `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, "0")}`,
        tracestate: sc.traceState?.serialize() ?? "",
        binary: () => toBinary(sc),
        storeCall(store, type, operation): StoreSpan {
          const child = tracer.startSpan(
            `store.${operation}`,
            {
              kind: api.SpanKind.CLIENT,
              attributes: {
                "db.system": "secrets",
                "db.name": store,
                "db.operation": operation,
                "keyward.store.type": type,
              },
            },
            context,
          );
          return {
            end(error) {
              if (error !== undefined)
                child.setStatus({ code: api.SpanStatusCode.ERROR, message: storeErrorKind(error) });
              child.end();
            },
          };
        },
        set(attributes) {
          span.setAttributes(attributes);
        },
        end(error) {
          if (error !== undefined) span.setStatus({ code: api.SpanStatusCode.ERROR, message: error });
          span.end();
        },
      };
      return call;
    },
    async shutdown() {
      await Promise.race([provider.shutdown(), new Promise((r) => setTimeout(r, 3000).unref())]);
    },
  };
}
