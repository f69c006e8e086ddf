/**
 * daprd's metric families on /metrics after real HTTP and gRPC traffic, refusals included: names, tags and
 * buckets as daprd exports them, and no label or value carrying a secret name or value.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Metadata } from "@grpc/grpc-js";
import { daprGrpcClient, unary, type DaprGrpcClient } from "../helpers/clients.js";
import { componentYaml, startSidecar, type Sidecar } from "../helpers/sidecar.js";
import { parseExposition, scrape, sampleValue, type ExpositionSample } from "../helpers/metrics.js";

const tag = `${process.pid}${Date.now()}`;
const VALUE = `metric-canary-value-${tag}`;
const NAME = `metric-canary-name-${tag}`;
const DENIED = `denied-name-${tag}`;
const TOKEN = `metric-canary-token-${tag}`;
const DAPR = "/dapr.proto.runtime.v1.Dapr";

const dir = mkdtempSync(join(tmpdir(), "keyward-metrics-"));
const secretsFile = join(dir, "secrets.json");
writeFileSync(secretsFile, JSON.stringify({ [NAME]: VALUE, [DENIED]: VALUE }));

const config = `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: c
spec:
  metrics:
    recordErrorCodes: true
  secrets:
    scopes:
      - storeName: vault
        deniedSecrets: ["${DENIED}"]
`;
const broken = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: broken
spec:
  type: secretstores.does.not.exist
  version: v1
  ignoreErrors: true
  metadata: []
`;
const resiliency = `apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: store-retries
spec:
  policies:
    retries:
      twice:
        policy: constant
        duration: 5ms
        maxRetries: 2
  targets:
    components:
      vault:
        outbound:
          retry: twice
`;

function withToken(token = TOKEN): Metadata {
  const md = new Metadata();
  md.set("dapr-api-token", token);
  return md;
}

describe("metrics in daprd's names after HTTP and gRPC traffic", () => {
  let s: Sidecar;
  let grpc: DaprGrpcClient;
  let text: string;
  let samples: ExpositionSample[];

  before(async () => {
    s = await startSidecar({
      appId: "metrics-app",
      config,
      env: { DAPR_API_TOKEN: TOKEN },
      components: {
        "vault.yaml": componentYaml("vault", "secretstores.local.file", { secretsFile }),
        "broken.yaml": broken,
        "resiliency.yaml": resiliency,
      },
    });
    const h = { "dapr-api-token": TOKEN };
    const get = (path: string, headers: Record<string, string> = h) => fetch(`${s.httpUrl}${path}`, { headers });
    assert.equal((await get(`/v1.0/secrets/vault/${NAME}`)).status, 200);
    assert.equal((await get(`/v1.0/secrets/vault/${DENIED}`)).status, 403);
    assert.equal((await get(`/v1.0/secrets/vault/${NAME}`, {})).status, 401);
    assert.equal((await get(`/v1.0/secrets/vault/${NAME}`, { "dapr-api-token": "wrong" })).status, 401);
    assert.equal((await get(`/v1.0/secrets/${NAME}/x`)).status, 401); // no such store: daprd's 401
    assert.equal((await get(`/v1.0/secrets/vault/missing-${tag}`)).status, 500);
    grpc = daprGrpcClient(s.grpcAddress);
    const ok = await unary(grpc, "GetSecret", { store_name: "vault", key: NAME }, withToken());
    assert.equal(ok.err, undefined);
    const denied = await unary(grpc, "GetSecret", { store_name: "vault", key: DENIED }, withToken());
    assert.equal(denied.err?.code, 7);
    const noToken = await unary(grpc, "GetSecret", { store_name: "vault", key: NAME }, new Metadata());
    assert.equal(noToken.err?.code, 16);
    text = await scrape(s.metricsPort!);
    samples = parseExposition(text);
  });

  after(async () => {
    grpc?.close();
    await s?.stop();
  });

  const value = (name: string, labels: Record<string, string>) => sampleValue(samples, name, labels);

  it("HTTP server family: count, latency, sizes, with daprd's tags; the path stops at the store", () => {
    const ok = { app_id: "metrics-app", method: "GET", path: "/v1.0/secrets/vault", status: "200" };
    assert.equal(value("dapr_http_server_request_count", ok), 1);
    assert.equal(value("dapr_http_server_response_count", ok), 1);
    assert.equal(value("dapr_http_server_latency_count", ok), 1);
    assert.equal(value("dapr_http_server_request_count", { ...ok, status: "403" }), 1);
    assert.equal(value("dapr_http_server_request_count", { ...ok, status: "401" }), 2);
    assert.equal(value("dapr_http_server_request_count", { ...ok, status: "500" }), 1);
    // An unknown store name is the client's invention: folded, never a label of its own.
    assert.equal(value("dapr_http_server_request_count", { ...ok, path: "/v1.0/secrets/{unknown}", status: "401" }), 1);
    const sizes = { app_id: "metrics-app" };
    assert.equal(value("dapr_http_server_response_bytes_count", sizes), 6);
    assert.ok(value("dapr_http_server_response_bytes_sum", sizes)! > VALUE.length);
    assert.equal(value("dapr_http_server_request_bytes_count", sizes), 6);
  });

  it("latency histograms use daprd's default buckets", () => {
    const les = samples
      .filter((x) => x.name === "dapr_http_server_latency_bucket" && x.labels.status === "200")
      .map((x) => x.labels.le);
    assert.deepEqual(les, [
      ..."1 2 3 4 5 6 8 10 13 16 20 25 30 40 50 65 80 100 130 160 200 250 300 400 500 650 800 1000 2000 5000 10000 20000 50000 100000".split(
        " ",
      ),
      "+Inf",
    ]);
    assert.ok(samples.some((x) => x.name === "dapr_component_secret_latencies_bucket" && x.labels.le === "100000"));
  });

  it("gRPC server family: completed RPCs by method and Go status name, latency, bytes per RPC", () => {
    const base = { app_id: "metrics-app", grpc_server_method: `${DAPR}/GetSecret` };
    assert.equal(value("dapr_grpc_io_server_completed_rpcs", { ...base, grpc_server_status: "OK" }), 1);
    assert.equal(value("dapr_grpc_io_server_completed_rpcs", { ...base, grpc_server_status: "PermissionDenied" }), 1);
    assert.equal(value("dapr_grpc_io_server_server_latency_count", { ...base, grpc_server_status: "OK" }), 1);
    // As in daprd the token check comes before the metrics: the refused call is counted as a refusal only.
    assert.equal(
      value("dapr_grpc_io_server_completed_rpcs", { ...base, grpc_server_status: "Unauthenticated" }),
      undefined,
    );
    assert.equal(value("dapr_grpc_io_server_received_bytes_per_rpc_count", base), 2);
    assert.ok(value("dapr_grpc_io_server_received_bytes_per_rpc_sum", base)! > NAME.length);
    assert.ok(value("dapr_grpc_io_server_sent_bytes_per_rpc_sum", base)! > VALUE.length);
  });

  it("refusals are counted per transport and reason", () => {
    const r = (transport: string, reason: string) =>
      value("keyward_api_refusals_total", { app_id: "metrics-app", transport, reason });
    assert.equal(r("http", "token"), 2);
    assert.equal(r("http", "scope"), 1);
    assert.equal(r("grpc", "token"), 1);
    assert.equal(r("grpc", "scope"), 1);
  });

  it("error codes are counted with daprd's category when recordErrorCodes is set", () => {
    const e = (code: string) =>
      value("dapr_error_code_total", { app_id: "metrics-app", error_code: code, category: "secret" });
    assert.equal(e("ERR_PERMISSION_DENIED"), 2);
    assert.equal(e("ERR_SECRET_STORE_NOT_FOUND"), 1);
    assert.equal(e("ERR_SECRET_GET"), 1);
  });

  it("component runtime metrics: loaded, initialised, failed with its reason", () => {
    assert.equal(value("dapr_runtime_component_loaded", { app_id: "metrics-app" }), 1);
    assert.equal(
      value("dapr_runtime_component_init_total", { app_id: "metrics-app", component: "secretstores.local.file" }),
      1,
    );
    assert.equal(
      value("dapr_runtime_component_init_fail_total", {
        app_id: "metrics-app",
        component: "secretstores.does.not.exist",
        reason: "creation",
        componentName: "broken",
      }),
      1,
    );
  });

  it("resiliency metrics when a policy applies: loaded, applied per call, retries activated", () => {
    assert.equal(value("dapr_resiliency_loaded", { app_id: "metrics-app", name: "store-retries" }), 1);
    const retry = {
      app_id: "metrics-app",
      name: "store-retries",
      policy: "retry",
      flow_direction: "outbound",
      target: "Secretstore_vault",
    };
    // Three calls reach the store (HTTP found and missing, gRPC found); the refused ones never do.
    assert.equal(value("dapr_resiliency_count", retry), 3);
    assert.equal(value("dapr_resiliency_activations_total", retry), 2);
  });

  it("no sample carries a secret name, a secret value or the token", () => {
    for (const canary of [VALUE, NAME, DENIED, TOKEN, `missing-${tag}`])
      assert.ok(!text.includes(canary), `${canary} appears in /metrics`);
  });
});

describe("error codes without recordErrorCodes", () => {
  it("are not counted", async () => {
    const s = await startSidecar({
      components: { "vault.yaml": componentYaml("vault", "secretstores.local.file", { secretsFile }) },
    });
    try {
      assert.equal((await fetch(`${s.httpUrl}/v1.0/secrets/nope/x`)).status, 401);
      const samples = parseExposition(await scrape(s.metricsPort!));
      assert.ok(samples.some((x) => x.name === "dapr_http_server_request_count" && x.labels.status === "401"));
      assert.equal(
        samples.filter((x) => x.name === "dapr_error_code_total").length,
        0,
        "dapr_error_code_total has samples",
      );
    } finally {
      await s.stop();
    }
  });
});
