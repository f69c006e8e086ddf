/**
 * End to end: `bin/keyward serve` with HashiCorp Vault components pointed at the HTTPS Vault test server,
 * read with the official Dapr SDK over HTTP and gRPC (and the raw gRPC API for per-request metadata and
 * multi-key answers). Components: a static token, text values, AppRole whose secret ID comes from another
 * store through secretKeyRef, Kubernetes login, and a Vault namespace.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { DaprClient } from "@dapr/dapr";
import * as legacy from "dapr-sdk-legacy";
import { sdkClient } from "../helpers/sdk.js";
import { daprGrpcClient, unary, type DaprGrpcClient } from "../helpers/clients.js";
import { componentYaml, startSidecar, type Sidecar } from "../helpers/sidecar.js";
import { makeTestTls } from "../helpers/tls.js";
import { startVaultServer, type VaultTestServer } from "../servers/vault/server.js";

const CANARY = `vault-e2e-${process.pid}-${Date.now()}`;
const SECRET_ID = `approle-secret-id-${CANARY}`;
let vault: VaultTestServer;
let sidecar: Sidecar;
let http: DaprClient;
let grpc: DaprClient;
let legacyGrpc: legacy.DaprClient;
let raw: DaprGrpcClient;
let appToken: string;
let jwt: string;

before(async () => {
  const tls = makeTestTls();
  const dir = mkdtempSync(join(tmpdir(), "keyward-vault-e2e-"));
  vault = await startVaultServer({ tls: { cert: tls.cert, key: tls.key }, rootToken: `hvs.root-${CANARY}` });
  vault.put("dapr/db", { user: "app", password: `db-${CANARY}` });
  vault.put("dapr/team/payments", { apiKey: `pay-${CANARY}` });
  vault.put("dapr/rotated", { v: "one" });
  vault.put("dapr/rotated", { v: "two" });
  vault.policy("app", { "secret/data/dapr/*": ["read"], "secret/metadata/dapr/*": ["list", "read"] });
  appToken = vault.token({ policies: ["app"], ttl: 3600 }).id;
  vault.policy("db-only", { "secret/data/dapr/db": ["read"] });
  const limitedToken = vault.token({ policies: ["db-only"], ttl: 3600 }).id;

  const approle = vault.state.enableAuth("", "approle", "approle");
  approle.appRoles.set("web", {
    name: "web",
    roleId: "web-role-id",
    bindSecretId: true,
    secretIdTtl: 0,
    secretIdNumUses: 0,
    tokenTtl: 600,
    tokenMaxTtl: 0,
    tokenPolicies: ["app"],
    tokenPeriod: 0,
    secretIds: new Map([[SECRET_ID, { accessor: "a1", expireAt: null, usesLeft: null, metadata: {} }]]),
  });
  const k8s = vault.state.enableAuth("", "kubernetes", "kubernetes");
  k8s.kubeRoles.set("web", {
    name: "web",
    boundNames: ["web"],
    boundNamespaces: ["prod"],
    tokenTtl: 600,
    tokenMaxTtl: 0,
    tokenPolicies: ["app"],
    audience: "",
  });
  jwt = vault.serviceAccountJwt("web", "prod");
  const jwtFile = join(dir, "sa-token");
  writeFileSync(jwtFile, jwt);
  vault.state.createNamespace("team-a");
  vault.state.mountSecrets("team-a", "secret", "kv", 2);
  vault.put("dapr/db", { password: `team-a-${CANARY}` }, { namespace: "team-a" });
  const credsFile = join(dir, "creds.json");
  writeFileSync(credsFile, JSON.stringify({ "approle-secret-id": SECRET_ID }));

  const base = { vaultAddr: vault.url, caCert: tls.caPath };
  sidecar = await startSidecar({
    components: {
      "creds.yaml": componentYaml("local-creds", "secretstores.local.file", { secretsFile: credsFile }),
      "vault.yaml": componentYaml("vault", "secretstores.hashicorp.vault", { ...base, vaultToken: appToken }),
      "vault-limited.yaml": componentYaml("vault-limited", "secretstores.hashicorp.vault", {
        ...base,
        vaultToken: limitedToken,
      }),
      "vault-text.yaml": componentYaml("vault-text", "secretstores.hashicorp.vault", {
        ...base,
        vaultToken: appToken,
        vaultValueType: "text",
      }),
      "vault-approle.yaml": `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: vault-approle
spec:
  type: secretstores.hashicorp.vault
  version: v1
  metadata:
  - name: vaultAddr
    value: ${JSON.stringify(vault.url)}
  - name: caPem
    value: ${JSON.stringify(tls.ca)}
  - name: roleId
    value: web-role-id
  - name: secretId
    secretKeyRef:
      name: approle-secret-id
      key: approle-secret-id
auth:
  secretStore: local-creds
`,
      "vault-k8s.yaml": componentYaml("vault-k8s", "secretstores.hashicorp.vault", {
        ...base,
        authMethod: "kubernetes",
        kubernetesRole: "web",
        kubernetesTokenPath: jwtFile,
      }),
      "vault-ns.yaml": componentYaml("vault-ns", "secretstores.hashicorp.vault", {
        ...base,
        vaultToken: vault.rootToken,
        namespace: "team-a",
      }),
    },
  });
  http = sdkClient(sidecar, "HTTP");
  grpc = sdkClient(sidecar, "GRPC");
  raw = daprGrpcClient(sidecar.grpcAddress);
  legacyGrpc = new legacy.DaprClient({
    daprHost: "127.0.0.1",
    daprPort: String(sidecar.grpcPort),
    communicationProtocol: legacy.CommunicationProtocolEnum.GRPC,
    logger: { level: legacy.LogLevel.Error },
  });
});

after(async () => {
  raw?.close();
  await http?.stop();
  await grpc?.stop();
  await legacyGrpc?.stop();
  if (sidecar) assert.equal(await sidecar.stop(), 0, sidecar.output());
  await vault?.close();
});

void describe("HashiCorp Vault end to end through bin/keyward", () => {
  void it("a multi-key secret over HTTP with the SDK, and over gRPC", async () => {
    assert.deepEqual(await http.secret.get("vault", "db"), { user: "app", password: `db-${CANARY}` });
    const r = await unary(raw, "GetSecret", { store_name: "vault", key: "db" });
    assert.equal(r.err, undefined, r.err?.message);
    assert.deepEqual(r.res?.data, { user: "app", password: `db-${CANARY}` });
    assert.deepEqual(await grpc.secret.get("vault", "team/payments"), { apiKey: `pay-${CANARY}` });
    // @dapr/dapr 3.6 (gRPC over grpc-js) too.
    assert.deepEqual(await legacyGrpc.secret.get("vault", "team/payments"), { apiKey: `pay-${CANARY}` });
  });

  void it("a secret name with '/' works as %2F over HTTP and as-is over gRPC", async () => {
    assert.deepEqual(await http.secret.get("vault", "team%2Fpayments"), { apiKey: `pay-${CANARY}` });
    const res = await fetch(`${sidecar.httpUrl}/v1.0/secrets/vault/team%2Fpayments`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { apiKey: `pay-${CANARY}` });
    const r = await unary(raw, "GetSecret", { store_name: "vault", key: "team/payments" });
    assert.deepEqual(r.res?.data, { apiKey: `pay-${CANARY}` });
    assert.ok(vault.requests.some((q) => q.path === "/v1/secret/data/dapr/team/payments"));
  });

  void it("version_id as ?metadata.version_id= over HTTP and in the gRPC metadata map", async () => {
    assert.deepEqual(await http.secret.get("vault", "rotated", "metadata.version_id=1"), { v: "one" });
    assert.deepEqual(await http.secret.get("vault", "rotated"), { v: "two" });
    const r = await unary(raw, "GetSecret", { store_name: "vault", key: "rotated", metadata: { version_id: "1" } });
    assert.deepEqual(r.res?.data, { v: "one" });
  });

  void it("bulk over both transports, folder names included", async () => {
    const want = {
      db: { user: "app", password: `db-${CANARY}` },
      rotated: { v: "two" },
      "team/payments": { apiKey: `pay-${CANARY}` },
    };
    assert.deepEqual(await http.secret.getBulk("vault"), want);
    assert.deepEqual(await grpc.secret.getBulk("vault"), want);
  });

  void it("text values, AppRole (secret ID through secretKeyRef), Kubernetes login and a namespace", async () => {
    assert.deepEqual(await http.secret.get("vault-text", "team%2Fpayments"), {
      "team/payments": JSON.stringify({ apiKey: `pay-${CANARY}` }),
    });
    assert.deepEqual(await http.secret.get("vault-approle", "db"), { user: "app", password: `db-${CANARY}` });
    assert.ok(vault.requests.some((q) => q.path === "/v1/auth/approle/login" && q.status === 200));
    assert.deepEqual(await grpc.secret.get("vault-k8s", "team/payments"), { apiKey: `pay-${CANARY}` });
    assert.ok(vault.requests.some((q) => q.path === "/v1/auth/kubernetes/login" && q.status === 200));
    assert.deepEqual(await http.secret.get("vault-ns", "db"), { password: `team-a-${CANARY}` });
    assert.ok(vault.requests.some((q) => q.namespace === "team-a"));
  });

  void it("capabilities: map stores advertise multiple keys per secret, the text store none", async () => {
    const md = (await (await fetch(`${sidecar.httpUrl}/v1.0/metadata`)).json()) as {
      components?: { name: string; type: string; capabilities?: string[] }[];
    };
    const caps = (name: string) => md.components?.find((c) => c.name === name)?.capabilities ?? [];
    assert.deepEqual(caps("vault"), ["MULTIPLE_KEY_VALUES_PER_SECRET"]);
    assert.deepEqual(caps("vault-text"), []);
    assert.equal(md.components?.find((c) => c.name === "vault")?.type, "secretstores.hashicorp.vault");
  });

  void it("missing secret, missing version, permission denied and sealed Vault are ERR_SECRET_GET whose message says which", async () => {
    const message = async (path: string) => {
      const res = await fetch(`${sidecar.httpUrl}/v1.0/secrets/${path}`);
      assert.equal(res.status, 500);
      const body = (await res.json()) as { errorCode: string; message: string };
      assert.equal(body.errorCode, "ERR_SECRET_GET");
      return body.message;
    };
    assert.match(
      await message("vault/nope"),
      /^failed getting secret with key nope from secret store vault: getSecret nope failed secret key or version not exist: no secret nope/,
    );
    assert.match(
      await message("vault/rotated?metadata.version_id=5"),
      /version 5 of secret rotated does not exist \(current version is 2\)/,
    );
    assert.match(
      await message("vault-limited/team%2Fpayments"),
      /permission denied by Vault policy reading secret "team\/payments"/,
    );
    assert.match(await message("vault/a%2F..%2Fdb"), /not a valid Vault path/);
    vault.seal();
    try {
      assert.match(await message("vault/db"), /Vault at https:\/\/127\.0\.0\.1:\d+ is sealed \(503\)/);
      const r = await unary(raw, "GetSecret", { store_name: "vault", key: "db" });
      assert.equal(r.err?.code, 13);
      assert.match(r.err?.details ?? "", /sealed/);
    } finally {
      vault.unseal();
    }
    assert.deepEqual(await http.secret.get("vault", "db"), { user: "app", password: `db-${CANARY}` });
  });

  void it("the sidecar's output holds no token, secret ID, JWT or secret value", () => {
    const out = sidecar.output();
    assert.ok(!out.includes(CANARY), out);
    assert.ok(!out.includes(jwt), out);
    for (const t of vault.state.issued) assert.ok(!out.includes(t), `token in output: ${out}`);
  });
});
