/**
 * End to end: `bin/keyward serve` with Azure Key Vault components pointed at the local HTTPS Key Vault and token
 * endpoints (test CA trusted through NODE_EXTRA_CA_CERTS in the sidecar's environment), read with the official
 * Dapr SDK over HTTP and gRPC. Components: client secret, certificate (PFX file), workload identity (federated
 * token file from the environment, as on AKS), and managed identity with no credential in any file.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { DaprClient } from "@dapr/dapr";
import { sdkClient } from "../helpers/sdk.js";
import { daprGrpcClient, unary, type DaprGrpcClient } from "../helpers/clients.js";
import { componentYaml, startSidecar, type Sidecar } from "../helpers/sidecar.js";
import {
  makeClientCertificate,
  startAzureTestEnvironment,
  type AzureTestEnvironment,
  type Principal,
} from "../servers/azure/index.js";

const CANARY = `az-e2e-${process.pid}-${Date.now()}`;
const CLIENT_SECRET = `e2e-client-secret-${process.pid}-canary`;
const CERT_PASSWORD = `e2e-cert-pass-${process.pid}-canary`;

let env: AzureTestEnvironment;
let sidecar: Sidecar;
/** A second sidecar as on App Service / Container Apps: a managed identity endpoint, no workload identity. */
let miSidecar: Sidecar;
let miHttp: DaprClient;
let miGrpc: DaprClient;
let http: DaprClient;
let grpc: DaprClient;
let raw: DaprGrpcClient;
let oldVersion: string;
const principals: Record<string, Principal> = {};

before(async () => {
  env = await startAzureTestEnvironment();
  const cert = makeClientCertificate(CERT_PASSWORD);
  const pfxPath = join(cert.dir, "client.pfx");
  writeFileSync(pfxPath, cert.pfx);
  const issuer = env.directory.addFederationIssuer("https://oidc.aks.test/e2e/");
  principals.secret = env.directory.addApp({ secret: CLIENT_SECRET });
  principals.cert = env.directory.addApp({ certificatePem: cert.certPem });
  principals.wi = env.directory.addApp({
    federated: { issuer: issuer.issuer, subject: "system:serviceaccount:default:orders" },
  });
  principals.mi = env.directory.enableSystemIdentity();
  principals.reader = env.directory.addApp({ secret: CLIENT_SECRET });
  for (const p of [principals.secret, principals.cert, principals.wi, principals.mi])
    env.vault.grant(p as Principal, ["get", "list"]);
  env.vault.grant(principals.reader as Principal, ["list"]);
  oldVersion = env.vault.setSecret("db-password", `old-${CANARY}`);
  env.vault.setSecret("db-password", `new-${CANARY}`);
  env.vault.setSecret("api-key", `api-${CANARY}`);
  for (let i = 0; i < 4; i++) env.vault.setSecret(`extra-${i}`, `extra-${i}-${CANARY}`);
  env.vault.setSecret("retired", `retired-${CANARY}`);
  env.vault.setEnabled("retired", false);
  const tokenFile = join(cert.dir, "sa-token");
  writeFileSync(tokenFile, issuer.mint("system:serviceaccount:default:orders"));

  const vault = { vaultName: "shop-kv", vaultUrl: env.vault.url };
  const tenant = env.directory.tenantId;
  sidecar = await startSidecar({
    components: {
      "kv-secret.yaml": componentYaml("kv-secret", "secretstores.azure.keyvault", {
        ...vault,
        azureTenantId: tenant,
        azureClientId: principals.secret!.clientId,
        azureClientSecret: CLIENT_SECRET,
        azureAuthMethods: "ClientCredentials",
      }),
      "kv-cert.yaml": componentYaml("kv-cert", "secretstores.azure.keyvault", {
        ...vault,
        azureTenantId: tenant,
        azureClientId: principals.cert!.clientId,
        azureCertificateFile: pfxPath,
        azureCertificatePassword: CERT_PASSWORD,
        azureAuthMethods: "ClientCertificate",
      }),
      "kv-wi.yaml": componentYaml("kv-wi", "secretstores.azure.keyvault", {
        ...vault,
        azureAuthMethods: "WorkloadIdentity",
      }),
      "kv-listonly.yaml": componentYaml("kv-listonly", "secretstores.azure.keyvault", {
        ...vault,
        tenantId: tenant,
        clientId: principals.reader!.clientId,
        clientSecret: CLIENT_SECRET,
        azureAuthMethods: "creds",
      }),
    },
    env: {
      NODE_EXTRA_CA_CERTS: env.tls.caPath,
      AZURE_AUTHORITY_HOST: env.authority.url,
      AZURE_FEDERATED_TOKEN_FILE: tokenFile,
      AZURE_CLIENT_ID: principals.wi!.clientId,
      AZURE_TENANT_ID: tenant,
    },
  });
  // No credential in any file: the component names only the vault; daprd's default order finds the identity.
  miSidecar = await startSidecar({
    components: { "kv-mi.yaml": componentYaml("kv-mi", "secretstores.azure.keyvault", vault) },
    env: { NODE_EXTRA_CA_CERTS: env.tls.caPath, ...env.identity.env },
  });
  http = sdkClient(sidecar, "HTTP");
  grpc = sdkClient(sidecar, "GRPC");
  raw = daprGrpcClient(sidecar.grpcAddress);
  miHttp = sdkClient(miSidecar, "HTTP");
  miGrpc = sdkClient(miSidecar, "GRPC");
});

after(async () => {
  raw?.close();
  await http?.stop();
  await grpc?.stop();
  await miHttp?.stop();
  await miGrpc?.stop();
  if (miSidecar) assert.equal(await miSidecar.stop(), 0, miSidecar.output());
  if (sidecar) assert.equal(await sidecar.stop(), 0, sidecar.output());
  await env?.close();
});

/** Who the vault saw on the last authenticated request. */
function lastCaller(): string | undefined {
  return env.vault.requests.filter((r) => r.authenticated).at(-1)?.objectId;
}

describe("Azure Key Vault end to end through bin/keyward", () => {
  for (const [store, who] of [
    ["kv-secret", "secret"],
    ["kv-cert", "cert"],
    ["kv-wi", "wi"],
    ["kv-mi", "mi"],
  ] as const) {
    it(`${store}: get over HTTP and gRPC with the Dapr SDK, as the ${who} identity`, async () => {
      const [h, g] = store === "kv-mi" ? [miHttp, miGrpc] : [http, grpc];
      assert.deepEqual(await h.secret.get(store, "db-password"), { "db-password": `new-${CANARY}` });
      assert.equal(lastCaller(), principals[who]?.objectId);
      assert.deepEqual(await g.secret.get(store, "api-key"), { "api-key": `api-${CANARY}` });
    });
  }

  it("the flows really ran against the local endpoints", () => {
    const flows = new Set(env.directory.issued.map((i) => i.flow));
    for (const f of ["client_secret", "client_certificate", "workload_identity", "managed_identity_system"])
      assert.ok(flows.has(f), `${f} in ${[...flows].join(",")}`);
    assert.ok(env.identity.requests.some((r) => r.status === 200 && r.query["api-version"] === "2019-08-01"));
  });

  it("version_id over HTTP query and in the gRPC metadata map", async () => {
    assert.deepEqual(await miHttp.secret.get("kv-mi", "db-password", `metadata.version_id=${oldVersion}`), {
      "db-password": `old-${CANARY}`,
    });
    const r = await unary(raw, "GetSecret", {
      store_name: "kv-wi",
      key: "db-password",
      metadata: { version_id: oldVersion },
    });
    assert.equal(r.err, undefined, r.err?.message);
    assert.deepEqual(r.res?.data, { "db-password": `old-${CANARY}` });
  });

  it("bulk over both transports skips disabled secrets; maxresults limits it", async () => {
    for (const client of [http, grpc]) {
      const bulk = (await client.secret.getBulk("kv-secret")) as Record<string, Record<string, string>>;
      assert.deepEqual(bulk["db-password"], { "db-password": `new-${CANARY}` });
      assert.deepEqual(bulk["extra-3"], { "extra-3": `extra-3-${CANARY}` });
      assert.equal(bulk.retired, undefined);
      assert.equal(Object.keys(bulk).length, 6);
    }
    const res = await fetch(`${sidecar.httpUrl}/v1.0/secrets/kv-cert/bulk?metadata.maxresults=2`);
    assert.equal(res.status, 200);
    assert.equal(Object.keys((await res.json()) as object).length, 2);
    const r = await unary(raw, "GetBulkSecret", { store_name: "kv-wi", metadata: { maxresults: "3" } });
    assert.equal(r.err, undefined, r.err?.message);
    assert.equal(Object.keys(r.res?.data as object).length, 3);
  });

  it("not found, disabled and permission denied are ERR_SECRET_GET whose message says which", async () => {
    const res = await fetch(`${sidecar.httpUrl}/v1.0/secrets/kv-secret/nope`);
    assert.equal(res.status, 500);
    const body = (await res.json()) as { errorCode: string; message: string };
    assert.equal(body.errorCode, "ERR_SECRET_GET");
    assert.match(body.message, /secret nope not found in Azure Key Vault shop-kv \(SecretNotFound/);
    const disabled = await unary(raw, "GetSecret", { store_name: "kv-wi", key: "retired" });
    assert.equal(disabled.err?.code, 13);
    assert.match(disabled.err?.details ?? "", /secret retired is disabled in Azure Key Vault shop-kv/);
    const denied = await fetch(`${sidecar.httpUrl}/v1.0/secrets/kv-listonly/api-key`);
    assert.equal(denied.status, 500);
    assert.match(
      ((await denied.json()) as { message: string }).message,
      /permission denied: cannot get secret api-key in Azure Key Vault shop-kv/,
    );
    const badMax = await fetch(`${sidecar.httpUrl}/v1.0/secrets/kv-secret/bulk?metadata.maxresults=lots`);
    assert.equal(badMax.status, 500);
    assert.match(((await badMax.json()) as { message: string }).message, /maxresults "lots" is not an integer/);
  });

  it("the sidecar's output holds no secret value, client secret, certificate password, identity header or token", () => {
    const out = sidecar.output() + miSidecar.output();
    for (const f of [CANARY, CLIENT_SECRET, CERT_PASSWORD, env.identity.header])
      assert.ok(!out.includes(f), `leaked ${f.slice(0, 12)}…`);
    assert.ok(!/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/.test(out), "no token in the output");
  });
});
