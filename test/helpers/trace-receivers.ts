/**
 * Span receivers started by tracing tests on 127.0.0.1: OTLP over HTTP (JSON, as the OTLP/HTTP exporter
 * sends it), OTLP over gRPC (decoded with the collector's proto) and Zipkin v2 JSON. Each keeps the spans
 * it got in one shape, and the raw bytes, so a test can grep them for values that must never be exported.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { loadPackageDefinition, Server as GrpcServer, ServerCredentials, type sendUnaryData } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { REPO_ROOT } from "./paths.js";

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** "" for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP's numbers (1 internal, 2 server, 3 client) or Zipkin's words. */
  kind: number | string;
  attributes: Record<string, string>;
  /** OTLP status code (2 = error) or Zipkin's `error` tag. */
  error: boolean;
  serviceName: string;
}

export interface TraceReceiver {
  /** `127.0.0.1:port` */
  address: string;
  spans: ReceivedSpan[];
  /** Every request body as received (JSON text, or protobuf bytes as latin1). */
  raw: string[];
  close(): Promise<void>;
}

type OtlpValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
type OtlpJsonSpan = {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: { key: string; value: OtlpValue }[];
  status?: { code?: number };
};
type OtlpJson = {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value: OtlpValue }[] };
    scopeSpans?: { spans?: OtlpJsonSpan[] }[];
  }[];
};

function attributes(list: { key: string; value?: OtlpValue | null }[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of list ?? []) {
    const v = a.value ?? {};
    out[a.key] = String(v.stringValue ?? v.intValue ?? v.boolValue ?? v.doubleValue ?? "");
  }
  return out;
}

function listenHttp(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

function collectingServer(path: string, onBody: (text: string) => void, answer: string): Server {
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== path) return void res.writeHead(404).end();
      onBody(Buffer.concat(chunks).toString("utf8"));
      res.writeHead(200, { "Content-Type": "application/json" }).end(answer);
    });
  });
}

/** OTLP/HTTP with JSON bodies on /v1/traces. */
export async function otlpHttpReceiver(): Promise<TraceReceiver> {
  const spans: ReceivedSpan[] = [];
  const raw: string[] = [];
  const server = collectingServer(
    "/v1/traces",
    (text) => {
      raw.push(text);
      for (const rs of (JSON.parse(text) as OtlpJson).resourceSpans ?? []) {
        const serviceName = attributes(rs.resource?.attributes)["service.name"] ?? "";
        for (const ss of rs.scopeSpans ?? [])
          for (const s of ss.spans ?? [])
            spans.push({
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId ?? "",
              name: s.name,
              kind: s.kind,
              attributes: attributes(s.attributes),
              error: s.status?.code === 2,
              serviceName,
            });
      }
    },
    "{}",
  );
  const address = await listenHttp(server);
  return { address, spans, raw, close: () => new Promise((r) => server.close(() => r())) };
}

/** Zipkin v2 JSON on /api/v2/spans. */
export async function zipkinReceiver(): Promise<TraceReceiver> {
  const spans: ReceivedSpan[] = [];
  const raw: string[] = [];
  type ZipkinSpan = {
    traceId: string;
    id: string;
    parentId?: string;
    name: string;
    kind?: string;
    tags?: Record<string, string>;
    localEndpoint?: { serviceName?: string };
  };
  const server = collectingServer(
    "/api/v2/spans",
    (text) => {
      raw.push(text);
      for (const s of JSON.parse(text) as ZipkinSpan[])
        spans.push({
          traceId: s.traceId,
          spanId: s.id,
          parentSpanId: s.parentId ?? "",
          name: s.name,
          kind: s.kind ?? "",
          attributes: s.tags ?? {},
          error: s.tags?.error !== undefined,
          serviceName: s.localEndpoint?.serviceName ?? "",
        });
    },
    "",
  );
  const address = await listenHttp(server);
  return { address, spans, raw, close: () => new Promise((r) => server.close(() => r())) };
}

type GrpcValue = { string_value?: string; int_value?: string; bool_value?: boolean; double_value?: number };
type GrpcSpan = {
  trace_id: Buffer;
  span_id: Buffer;
  parent_span_id: Buffer;
  name: string;
  kind: number;
  attributes: { key: string; value: GrpcValue | null }[];
  status: { code: number } | null;
};
type GrpcExport = {
  resource_spans: {
    resource: { attributes: { key: string; value: GrpcValue | null }[] } | null;
    scope_spans: { spans: GrpcSpan[] }[];
  }[];
};

/** OTLP/gRPC: the collector's TraceService/Export. */
export async function otlpGrpcReceiver(): Promise<TraceReceiver> {
  const spans: ReceivedSpan[] = [];
  const raw: string[] = [];
  const def = loadSync("trace_service.proto", {
    includeDirs: [join(REPO_ROOT, "test", "fixtures", "otlp")],
    keepCase: true,
    longs: String,
    defaults: true,
  });
  const pkg = loadPackageDefinition(def) as unknown as {
    opentelemetry: { proto: { collector: { trace: { v1: { TraceService: { service: never } } } } } };
  };
  const server = new GrpcServer();
  server.addService(pkg.opentelemetry.proto.collector.trace.v1.TraceService.service, {
    Export: (call: { request: GrpcExport }, cb: sendUnaryData<unknown>) => {
      raw.push(JSON.stringify(call.request));
      const str = (v: GrpcValue | null) =>
        v
          ? { stringValue: v.string_value, intValue: v.int_value, boolValue: v.bool_value, doubleValue: v.double_value }
          : {};
      for (const rs of call.request.resource_spans) {
        const serviceName =
          attributes(rs.resource?.attributes.map((a) => ({ key: a.key, value: str(a.value) })))["service.name"] ?? "";
        for (const ss of rs.scope_spans)
          for (const s of ss.spans)
            spans.push({
              traceId: s.trace_id.toString("hex"),
              spanId: s.span_id.toString("hex"),
              parentSpanId: s.parent_span_id.toString("hex"),
              name: s.name,
              kind: s.kind,
              attributes: attributes(s.attributes.map((a) => ({ key: a.key, value: str(a.value) }))),
              error: s.status?.code === 2,
              serviceName,
            });
      }
      cb(null, {});
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    address: `127.0.0.1:${port}`,
    spans,
    raw,
    close: () => new Promise((r) => server.tryShutdown(() => r())),
  };
}
