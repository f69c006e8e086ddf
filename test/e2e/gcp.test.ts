/**
 * End to end: `bin/keyward serve` with GCP Secret Manager components pointed at the local gRPC test
 * server (TLS, bearer auth), read with the official Dapr SDK over HTTP and gRPC (and the raw gRPC API for
 * per-request metadata). Three components: a service-account key (self-signed JWT, daprd's full bulk
 * names), the same key through its token_uri with short bulk names, and no credential at all
 * (Application Default Credentials from the GKE/GCE metadata server in the sidecar's environment).
 */
import { testTls } from "../servers/gcp/trust-test-ca.js";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { DaprClient } from "@dapr/dapr";
import { sdkClient } from "../helpers/sdk.js";
import { daprGrpcClient, unary, type DaprGrpcClient } from "../helpers/clients.js";
import { componentYaml, startSidecar, type Sidecar } from "../helpers/sidecar.js";
import { keyMetadata, startGcpFixture, type GcpFixture } from "../servers/gcp/fixture.js";

const CANARY = `gcp-e2e-${process.pid}-${Date.now()}`;
let fx: GcpFixture;
let sidecar: Sidecar;
let http: DaprClient;
let grpc: DaprClient;
let raw: DaprGrpcClient;

before(async () => {
  fx = await startGcpFixture({
    projectId: "shop-prod",
    projectNumber: "512300004567",
    defaultPageSize: 2,
    metadataServer: true,
  });
  fx.server.seed("shop-prod", "db-password", `old-${CANARY}`);
  fx.server.seed("shop-prod", "db-password", `new-${CANARY}`);
  fx.server.seed("shop-prod", "api-key", `api-${CANARY}`);
  fx.server.seed("shop-prod", "locked", `locked-${CANARY}`);
  fx.server.deny("projects/shop-prod/secrets/locked");
  const endpoint = `127.0.0.1:${fx.server.port}`;
  sidecar = await startSidecar({
    components: {
      "gcp-sa.yaml": componentYaml("gcp-sa", "secretstores.gcp.secretmanager", { ...keyMetadata(fx.key), endpoint }),
      "gcp-token.yaml": componentYaml("gcp-token", "secretstores.gcp.secretmanager", {
        ...keyMetadata(fx.key),
        endpoint,
        selfSignedJWT: "false",
        shortBulkNames: "true",
      }),
      "gcp-adc.yaml": componentYaml("gcp-adc", "secretstores.gcp.secretmanager", {
        projectId: "shop-prod",
        endpoint,
        shortBulkNames: "true",
      }),
    },
    env: {
      GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: testTls.caPath,
      GCE_METADATA_HOST: fx.auth.metadataHost,
      HOME: mkdtempSync(join(tmpdir(), "keyward-gcp-e2e-home-")),
      GOOGLE_APPLICATION_CREDENTIALS: undefined,
      METADATA_SERVER_DETECTION: undefined,
    },
  });
  http = sdkClient(sidecar, "HTTP");
  grpc = sdkClient(sidecar, "GRPC");
  raw = daprGrpcClient(sidecar.grpcAddress);
});

after(async () => {
  raw?.close();
  await http?.stop();
  await grpc?.stop();
  if (sidecar) assert.equal(await sidecar.stop(), 0, sidecar.output());
  await fx?.close();
});

describe("GCP Secret Manager end to end through bin/keyward", () => {
  it("service-account key over HTTP: latest, and ?metadata.version_id=", async () => {
    assert.deepEqual(await http.secret.get("gcp-sa", "db-password"), { "db-password": `new-${CANARY}` });
    assert.deepEqual(await http.secret.get("gcp-sa", "db-password", "metadata.version_id=1"), {
      "db-password": `old-${CANARY}`,
    });
    const call = fx.server.calls.at(-1);
    assert.equal(call?.credential, "self-signed-jwt");
    assert.equal(call?.principal, fx.key.client_email);
  });

  it("over gRPC with the SDK, and version_id in the gRPC metadata map", async () => {
    assert.deepEqual(await grpc.secret.get("gcp-sa", "db-password"), { "db-password": `new-${CANARY}` });
    const r = await unary(raw, "GetSecret", {
      store_name: "gcp-sa",
      key: "db-password",
      metadata: { version_id: "1" },
    });
    assert.equal(r.err, undefined, r.err?.message);
    assert.deepEqual(r.res?.data, { "db-password": `old-${CANARY}` });
  });

  it("bulk keys are full resource names by default, plain names with shortBulkNames, over both transports", async () => {
    const full = (n: string) => `projects/512300004567/secrets/${n}`;
    fx.server.reset();
    for (const client of [http, grpc]) {
      const bulk = (await client.secret.getBulk("gcp-sa")) as Record<string, Record<string, string>>;
      assert.deepEqual(bulk[full("db-password")], { [full("db-password")]: `new-${CANARY}` });
      assert.deepEqual(bulk[full("api-key")], { [full("api-key")]: `api-${CANARY}` });
    }
    for (const client of [http, grpc]) {
      assert.deepEqual(await client.secret.getBulk("gcp-token"), {
        "api-key": { "api-key": `api-${CANARY}` },
        "db-password": { "db-password": `new-${CANARY}` },
        locked: { locked: `locked-${CANARY}` },
      });
    }
    fx.server.deny("projects/shop-prod/secrets/locked");
  });

  it("the token_uri component authenticates with an exchanged access token", async () => {
    assert.deepEqual(await grpc.secret.get("gcp-token", "api-key"), { "api-key": `api-${CANARY}` });
    assert.equal(fx.server.calls.at(-1)?.credential, "access-token");
    assert.ok(fx.auth.counts.granted >= 1);
  });

  it("a component with no credential in its YAML reads through the metadata server (ADC)", async () => {
    assert.deepEqual(await http.secret.get("gcp-adc", "api-key"), { "api-key": `api-${CANARY}` });
    assert.deepEqual(await grpc.secret.get("gcp-adc", "db-password"), { "db-password": `new-${CANARY}` });
    assert.equal(fx.server.calls.at(-1)?.principal, "512300004567-compute@developer.gserviceaccount.com");
  });

  it("not found and permission denied are ERR_SECRET_GET whose message says which", async () => {
    const res = await fetch(`${sidecar.httpUrl}/v1.0/secrets/gcp-sa/nope`);
    assert.equal(res.status, 500);
    const body = (await res.json()) as { errorCode: string; message: string };
    assert.equal(body.errorCode, "ERR_SECRET_GET");
    assert.match(
      body.message,
      /failed getting secret with key nope from secret store gcp-sa: failed to access secret version of "nope": not found/,
    );
    const r = await unary(raw, "GetSecret", { store_name: "gcp-sa", key: "locked" });
    assert.equal(r.err?.code, 13);
    assert.match(
      r.err?.details ?? "",
      /"locked": permission denied \(PERMISSION_DENIED: Permission 'secretmanager\.versions\.access' denied/,
    );
    const bulk = await fetch(`${sidecar.httpUrl}/v1.0/secrets/gcp-sa/bulk`);
    assert.equal(bulk.status, 500);
    assert.match(((await bulk.json()) as { message: string }).message, /permission denied/);
  });

  it("the components advertise no capabilities", async () => {
    const md = (await (await fetch(`${sidecar.httpUrl}/v1.0/metadata`)).json()) as {
      components?: { name: string; type: string; capabilities?: string[] }[];
    };
    for (const name of ["gcp-sa", "gcp-token", "gcp-adc"]) {
      const c = md.components?.find((x) => x.name === name);
      assert.equal(c?.type, "secretstores.gcp.secretmanager");
      assert.deepEqual(c?.capabilities ?? [], []);
    }
  });

  it("the sidecar's output holds no secret value, key or token", () => {
    const out = sidecar.output();
    assert.ok(!out.includes(CANARY), out);
    assert.ok(!out.includes(fx.key.private_key.split("\n")[3] as string), out);
    for (const t of fx.identity.issued) assert.ok(!out.includes(t), out);
    assert.doesNotMatch(out, /eyJ[\w-]+\.[\w-]+\./);
  });
});
