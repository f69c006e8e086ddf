/**
 * Tracing from the Configuration's spec.tracing: spans exported to receivers started here (OTLP over HTTP
 * and gRPC, Zipkin) continue the caller's trace, carry daprd's names and attributes, and never a value.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { daprGrpcClient, unary, type DaprGrpcClient } from "../helpers/clients.js";
import { get } from "../helpers/raw-http.js";
import { componentYaml, runKeyward, startSidecar, type Sidecar } from "../helpers/sidecar.js";
import {
  otlpGrpcReceiver,
  otlpHttpReceiver,
  zipkinReceiver,
  type ReceivedSpan,
  type TraceReceiver,
} from "../helpers/trace-receivers.js";
import { writeJson } from "./fixtures.js";

const TOKEN = `tracing-token-${process.pid}-canary`;
const VALUES = { alpha: `trace-alpha-${process.pid}-value`, beta: `trace-beta-${process.pid}-value` };
const CALLER_SPAN = "00f067aa0ba902b7";
const traceparent = (traceId: string) => `00-${traceId}-${CALLER_SPAN}-01`;
const SERVER = 2;
const CLIENT = 3;

const components = () => ({
  "vault.yaml": componentYaml("vault", "secretstores.local.file", { secretsFile: writeJson(VALUES) }),
});

function tracingConfig(tracing: string): string {
  return `apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: tracing\nspec:\n  tracing:\n${tracing}`;
}

const otelTracing = (rate: string, address: string, protocol: "http" | "grpc") =>
  `    samplingRate: "${rate}"\n    otel:\n      endpointAddress: ${address}\n      isSecure: false\n      protocol: ${protocol}\n`;

/** A sidecar exporting to one OTLP collector. */
function otelSidecar(rate: string, address: string, protocol: "http" | "grpc"): Promise<Sidecar> {
  return startSidecar({
    appId: "traced",
    components: components(),
    config: tracingConfig(otelTracing(rate, address, protocol)),
  });
}

/** A GetSecret whose response headers are kept. */
function grpcGet(
  c: DaprGrpcClient,
  md: Metadata,
): Promise<{ err: ServiceError | null; res: unknown; headers: Metadata | undefined }> {
  return new Promise((resolve) => {
    let headers: Metadata | undefined;
    const call = (
      c as unknown as Record<
        string,
        (req: unknown, md: Metadata, cb: (err: ServiceError | null, res: unknown) => void) => NodeJS.EventEmitter
      >
    ).GetSecret!({ store_name: "vault", key: "beta" }, md, (err, res) => resolve({ err, res, headers }));
    call.on("metadata", (m: Metadata) => (headers = m));
  });
}

async function waitFor(receiver: TraceReceiver, test: (spans: ReceivedSpan[]) => boolean): Promise<void> {
  for (let i = 0; i < 100 && !test(receiver.spans); i++) await new Promise((r) => setTimeout(r, 50));
}

const hex = (n: number) => [...Array(n)].map(() => Math.floor(Math.random() * 16).toString(16)).join("");

describe("tracing to an OTLP/HTTP collector and Zipkin", () => {
  let otlp: TraceReceiver;
  let zipkin: TraceReceiver;
  let s: Sidecar;
  let c: DaprGrpcClient;
  let auditPath = "";
  const httpTrace = hex(32);
  const grpcTrace = hex(32);
  let httpAnswerSpan = "";
  let grpcAnswerSpan = "";

  before(async () => {
    [otlp, zipkin] = await Promise.all([otlpHttpReceiver(), zipkinReceiver()]);
    auditPath = join(mkdtempSync(join(tmpdir(), "keyward-tracing-")), "audit.log");
    s = await startSidecar({
      appId: "traced",
      components: components(),
      env: { DAPR_API_TOKEN: TOKEN },
      args: ["--audit-log", auditPath],
      config: tracingConfig(
        otelTracing("1", otlp.address, "http") +
          `    zipkin:\n      endpointAddress: http://${zipkin.address}/api/v2/spans\n`,
      ),
    });
    c = daprGrpcClient(s.grpcAddress);
  });
  after(async () => {
    c.close();
    await s.stop();
    await Promise.all([otlp.close(), zipkin.close()]);
  });

  it("continues the caller's traceparent on HTTP and answers with the call's own", async () => {
    const r = await get(
      s.httpPort,
      "/v1.0/secrets/vault/alpha",
      `dapr-api-token: ${TOKEN}\r\ntraceparent: ${traceparent(httpTrace)}\r\ntracestate: vendor=one\r\ndapr-custom: tagged\r\n`,
    );
    assert.equal(r.status, 200);
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(r.headers.traceparent ?? "");
    assert.ok(m, `traceparent answered: ${r.headers.traceparent}`);
    assert.equal(m[1], httpTrace);
    assert.notEqual(m[2], CALLER_SPAN);
    httpAnswerSpan = m[2]!;
    assert.equal(r.headers.tracestate, "vendor=one");
  });

  it("continues a traceparent sent as gRPC metadata and answers grpc-trace-bin", async () => {
    const md = new Metadata();
    md.set("dapr-api-token", TOKEN);
    md.set("traceparent", traceparent(grpcTrace));
    const { err, headers } = await grpcGet(c, md);
    assert.equal(err, null);
    const bin = headers?.get("grpc-trace-bin")[0];
    assert.ok(Buffer.isBuffer(bin), "grpc-trace-bin in the response headers");
    assert.equal(bin.subarray(2, 18).toString("hex"), grpcTrace);
    grpcAnswerSpan = bin.subarray(19, 27).toString("hex");
  });

  it("does not trace healthz", async () => {
    const r = await get(s.httpPort, "/v1.0/healthz");
    assert.equal(r.status, 204);
    assert.equal(r.headers.traceparent, undefined);
  });

  it("exports a server span per call and a child span for the store call, with daprd's names", async () => {
    await waitFor(otlp, (spans) => spans.length >= 4);
    const httpSpans = otlp.spans.filter((x) => x.traceId === httpTrace);
    const server = httpSpans.find((x) => x.name === "/v1.0/secrets/vault/alpha");
    assert.ok(server, JSON.stringify(otlp.spans));
    assert.equal(server.spanId, httpAnswerSpan);
    assert.equal(server.parentSpanId, CALLER_SPAN);
    assert.equal(server.kind, SERVER);
    assert.equal(server.serviceName, "traced");
    assert.deepEqual(
      {
        "db.system": server.attributes["db.system"],
        "db.name": server.attributes["db.name"],
        "db.statement": server.attributes["db.statement"],
        "dapr.api": server.attributes["dapr.api"],
        "dapr.protocol": server.attributes["dapr.protocol"],
        "dapr.status_code": server.attributes["dapr.status_code"],
        "http.request.method": server.attributes["http.request.method"],
        "dapr-custom": server.attributes["dapr-custom"],
      },
      {
        "db.system": "secrets",
        "db.name": "vault",
        "db.statement": "GET /v1.0/secrets/vault/alpha",
        "dapr.api": "GET /v1.0/secrets/vault/alpha",
        "dapr.protocol": "http",
        "dapr.status_code": "200",
        "http.request.method": "GET",
        "dapr-custom": "tagged",
      },
    );
    assert.equal(server.attributes["dapr-api-token"], undefined, "the token header is never an attribute");
    const store = httpSpans.find((x) => x.name === "store.get");
    assert.ok(store);
    assert.equal(store.parentSpanId, server.spanId);
    assert.equal(store.kind, CLIENT);
    assert.equal(store.attributes["db.name"], "vault");

    const grpcSpans = otlp.spans.filter((x) => x.traceId === grpcTrace);
    const rpc = grpcSpans.find((x) => x.name === "/dapr.proto.runtime.v1.Dapr/GetSecret");
    assert.ok(rpc, JSON.stringify(otlp.spans));
    assert.equal(rpc.spanId, grpcAnswerSpan);
    assert.equal(rpc.parentSpanId, CALLER_SPAN);
    assert.equal(rpc.attributes["dapr.protocol"], "grpc");
    assert.equal(rpc.attributes["rpc.service"], "Dapr");
    assert.equal(rpc.attributes["db.name"], "vault");
    assert.equal(grpcSpans.find((x) => x.name === "store.get")?.parentSpanId, rpc.spanId);
    assert.ok(!otlp.spans.some((x) => x.name.includes("healthz")));
  });

  it("marks a refused call's span as an error and starts a trace for a call that brought none", async () => {
    const r = await get(s.httpPort, "/v1.0/secrets/vault/missing", `dapr-api-token: ${TOKEN}\r\n`);
    assert.equal(r.status, 500);
    const traceId = /^00-([0-9a-f]{32})-/.exec(r.headers.traceparent ?? "")?.[1];
    assert.ok(traceId);
    await waitFor(otlp, (spans) => spans.some((x) => x.traceId === traceId && x.name !== "store.get"));
    const span = otlp.spans.find((x) => x.traceId === traceId && x.name === "/v1.0/secrets/vault/missing");
    assert.ok(span);
    assert.equal(span.parentSpanId, "");
    assert.equal(span.error, true);
    assert.equal(span.attributes["dapr.status_code"], "500");
    const line = readFileSync(auditPath, "utf8").trim().split("\n").at(-1)!;
    assert.equal((JSON.parse(line) as { trace_id?: string }).trace_id, traceId, "the audit line names the trace");
  });

  it("exports the same spans to Zipkin", async () => {
    await waitFor(zipkin, (spans) => spans.length >= 4);
    const server = zipkin.spans.find((x) => x.traceId === httpTrace && x.parentSpanId === CALLER_SPAN);
    assert.ok(server, JSON.stringify(zipkin.spans));
    assert.equal(server.spanId, httpAnswerSpan);
    assert.equal(server.attributes["db.name"], "vault");
    assert.equal(server.serviceName, "traced");
  });

  it("exports no secret value and no token", () => {
    const exported = [...otlp.raw, ...zipkin.raw].join("\n");
    assert.ok(exported.length > 0);
    for (const secret of [TOKEN, ...Object.values(VALUES)]) assert.ok(!exported.includes(secret), secret);
  });
});

describe("tracing to an OTLP/gRPC collector", () => {
  it("continues a caller's grpc-trace-bin and exports over gRPC", async () => {
    const otlp = await otlpGrpcReceiver();
    const s = await otelSidecar("1", otlp.address, "grpc");
    const c = daprGrpcClient(s.grpcAddress);
    const traceId = hex(32);
    const callerBin = Buffer.alloc(29);
    callerBin.write(traceId, 2, "hex");
    callerBin[18] = 1;
    callerBin.write(CALLER_SPAN, 19, "hex");
    callerBin[27] = 2;
    callerBin[28] = 1;
    try {
      const md = new Metadata();
      md.set("grpc-trace-bin", callerBin);
      const { err, headers } = await grpcGet(c, md);
      assert.equal(err, null);
      const answered = headers?.get("grpc-trace-bin")[0] as Buffer;
      assert.equal(answered.subarray(2, 18).toString("hex"), traceId);
      assert.equal((await get(s.httpPort, "/v1.0/secrets/vault/bulk")).status, 200);
      const missing = await unary(c, "GetSecret", { store_name: "vault", key: "missing" });
      assert.equal(missing.err?.code, status.INTERNAL, "an error answer still reaches the caller");
      await waitFor(otlp, (spans) => spans.length >= 6);
      const failed = otlp.spans.filter((x) => x.name === "/dapr.proto.runtime.v1.Dapr/GetSecret" && x.error);
      assert.equal(failed.length, 1);
      assert.ok(otlp.spans.some((x) => x.name === "store.get" && x.error && x.parentSpanId === failed[0]!.spanId));
      const rpc = otlp.spans.find((x) => x.name === "/dapr.proto.runtime.v1.Dapr/GetSecret" && !x.error);
      assert.ok(rpc, JSON.stringify(otlp.spans));
      assert.equal(rpc.traceId, traceId);
      assert.equal(rpc.parentSpanId, CALLER_SPAN);
      assert.equal(rpc.spanId, answered.subarray(19, 27).toString("hex"));
      const bulk = otlp.spans.find((x) => x.name === "/v1.0/secrets/vault/bulk");
      assert.ok(bulk);
      assert.equal(otlp.spans.find((x) => x.name === "store.bulk_get")?.parentSpanId, bulk.spanId);
      const exported = otlp.raw.join("\n");
      for (const secret of Object.values(VALUES)) assert.ok(!exported.includes(secret), secret);
    } finally {
      c.close();
      await s.stop();
      await otlp.close();
    }
  });
});

describe("samplingRate 0", () => {
  it("traces nothing, even a call whose caller sampled its trace", async () => {
    const otlp = await otlpHttpReceiver();
    const s = await otelSidecar("0", otlp.address, "http");
    try {
      const r = await get(s.httpPort, "/v1.0/secrets/vault/alpha", `traceparent: ${traceparent(hex(32))}\r\n`);
      assert.equal(r.status, 200);
      assert.equal(r.headers.traceparent, undefined);
    } finally {
      await s.stop();
    }
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(otlp.raw.length, 0);
    await otlp.close();
  });
});

describe("spec.tracing errors", () => {
  it("refuses a sampling rate out of range, an unknown field and an unknown protocol", async () => {
    for (const [tracing, message] of [
      [`    samplingRate: "2"\n`, /samplingRate \\?"2\\?" must be a number from/],
      [`    samplingRate: "1"\n    otel:\n      endpoint: 127.0.0.1:4318\n`, /unknown field \\?"endpoint\\?"/],
      [
        `    otel:\n      endpointAddress: 127.0.0.1:4318\n      protocol: udp\n`,
        /invalid protocol \\?"udp\\?" for otel: use http or grpc/,
      ],
    ] as const) {
      const { code, output } = await runKeyward({ components: components(), config: tracingConfig(tracing) });
      assert.notEqual(code, 0, tracing);
      assert.match(output, message);
    }
  });
});
