import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseKeyVaultConfig } from "../../src/stores/azure/config.js";
import { KeyVaultSecretStore, definition } from "../../src/stores/azure/keyvault.js";
import { findStoreDefinition } from "../../src/stores/registry.js";
import { retryAfterMs } from "../../src/stores/azure/throttle.js";
import { SecretStoreError, type ComponentMetadata, type SecretStoreErrorKind } from "../../src/stores/types.js";
import { describeSecretStoreConformance } from "../conformance/secret-store.case.js";
import { REPO_ROOT } from "../helpers/paths.js";
import { recordingLogger, storeContext, type RecordingLogger } from "../helpers/store-context.js";
import { startAzureTestEnvironment, type AppRegistration, type AzureTestEnvironment } from "../servers/azure/index.js";

const CLIENT_SECRET = `kv-client-secret-${process.pid}-canary`;
let env: AzureTestEnvironment;
let app: AppRegistration;

async function setup(): Promise<void> {
  if (env) return;
  env = await startAzureTestEnvironment();
  app = env.directory.addApp({ secret: CLIENT_SECRET });
  env.vault.grant(app, ["get", "list"]);
  env.vault.setSecret("conftestsecret", "abcd");
  env.vault.setSecret("secondsecret", "efgh");
}

function metadata(extra: ComponentMetadata = {}): ComponentMetadata {
  return {
    vaultName: "keyward-test",
    vaultUrl: env.vault.url,
    azureTenantId: env.directory.tenantId,
    azureClientId: app.clientId,
    azureClientSecret: CLIENT_SECRET,
    azureAuthorityHost: env.authority.url,
    azureAuthMethods: "ClientCredentials",
    ...extra,
  };
}

describeSecretStoreConformance({
  name: "azure.keyvault (test Key Vault, client secret)",
  create: () => new KeyVaultSecretStore(),
  context: () => ({ env: { NODE_EXTRA_CA_CERTS: env.tls.caPath } }),
  metadata: () => metadata(),
  setup,
});

async function open(
  md: ComponentMetadata,
  log: RecordingLogger = recordingLogger(),
  trustTestCa = true,
): Promise<KeyVaultSecretStore> {
  const store = new KeyVaultSecretStore();
  await store.init(
    md,
    storeContext("azure-kv", 10_000, log, { env: trustTestCa ? { NODE_EXTRA_CA_CERTS: env.tls.caPath } : {} }),
  );
  return store;
}

async function rejectsWith(
  p: Promise<unknown>,
  kind: SecretStoreErrorKind,
  pattern: RegExp,
): Promise<SecretStoreError> {
  let caught: SecretStoreError | undefined;
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof SecretStoreError, `expected SecretStoreError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes(CLIENT_SECRET), "no client secret in the message");
    assert.ok(!/eyJ[A-Za-z0-9_-]{10,}\./.test(err.message), "no token in the message");
    caught = err;
    return true;
  });
  return caught as SecretStoreError;
}

describe("azure.keyvault", () => {
  before(setup);
  after(async () => {
    await env?.close();
  });

  it("is registered as azure.keyvault v1 and advertises no features", async () => {
    assert.equal(definition.type, "azure.keyvault");
    assert.equal(definition.version, "v1");
    assert.equal(await findStoreDefinition("SecretStores.Azure.KeyVault", ""), definition);
    const store = await open(metadata());
    assert.deepEqual(store.features(), []);
  });

  it("version_id reads an older version; an unknown version is not_found naming it", async () => {
    const v1 = env.vault.setSecret("versioned", "first-value");
    env.vault.setSecret("versioned", "second-value");
    const store = await open(metadata());
    assert.deepEqual(await store.getSecret({ name: "versioned", metadata: {} }), { versioned: "second-value" });
    assert.deepEqual(await store.getSecret({ name: "versioned", metadata: { version_id: v1 } }), {
      versioned: "first-value",
    });
    await rejectsWith(
      store.getSecret({ name: "versioned", metadata: { version_id: "f".repeat(32) } }),
      "not_found",
      new RegExp(`secret versioned version ${"f".repeat(32)} not found in Azure Key Vault keyward-test`),
    );
  });

  it("bulk pages through nextLink (more than 25 secrets) and skips disabled secrets", async () => {
    for (let i = 0; i < 30; i++) env.vault.setSecret(`bulk-${String(i).padStart(2, "0")}`, `bulk-value-${i}`);
    env.vault.setSecret("bulk-disabled", "must-not-appear");
    env.vault.setEnabled("bulk-disabled", false);
    const store = await open(metadata());
    const start = env.vault.requests.length;
    const bulk = await store.bulkGetSecret({ metadata: {} });
    for (let i = 0; i < 30; i++) {
      const n = `bulk-${String(i).padStart(2, "0")}`;
      assert.deepEqual(bulk[n], { [n]: `bulk-value-${i}` });
    }
    assert.equal(bulk["bulk-disabled"], undefined);
    assert.deepEqual(bulk.conftestsecret, { conftestsecret: "abcd" });
    const lists = env.vault.requests.slice(start).filter((r) => r.path === "/secrets" && r.status === 200);
    assert.ok(lists.length >= 2, `followed nextLink: ${lists.length} list pages`);
    assert.ok(lists[1]?.query.$skiptoken);
  });

  it("a disabled secret read directly is permission_denied saying it is disabled", async () => {
    env.vault.setSecret("switched-off", "hidden-value");
    env.vault.setEnabled("switched-off", false);
    const store = await open(metadata());
    await rejectsWith(
      store.getSecret({ name: "switched-off", metadata: {} }),
      "permission_denied",
      /secret switched-off is disabled in Azure Key Vault keyward-test.*Operation get is not allowed on a disabled secret/,
    );
  });

  it("maxresults limits bulk results and sizes the list pages; a non-integer is an error", async () => {
    const store = await open(metadata());
    const start = env.vault.requests.length;
    const bulk = await store.bulkGetSecret({ metadata: { maxresults: "3" } });
    assert.equal(Object.keys(bulk).length, 3);
    for (const [name, data] of Object.entries(bulk)) assert.equal(typeof data[name], "string");
    const lists = env.vault.requests.slice(start).filter((r) => r.path === "/secrets" && r.authenticated);
    assert.equal(lists.length, 1, "stopped after the first page");
    assert.equal(lists.at(-1)?.query.maxresults, "3");
    const all = await store.bulkGetSecret({ metadata: { maxresults: "0" } });
    assert.ok(Object.keys(all).length > 30, "0 means no limit");
    await rejectsWith(
      store.bulkGetSecret({ metadata: { maxresults: "ten" } }),
      "invalid_request",
      /maxresults "ten" is not an integer/,
    );
  });

  it("429 waits as Retry-After says, then succeeds", async () => {
    const log = recordingLogger();
    const store = await open(metadata(), log);
    await store.getSecret({ name: "conftestsecret", metadata: {} });
    const start = env.vault.requests.length;
    env.vault.throttle(2, "1");
    assert.deepEqual(await store.getSecret({ name: "conftestsecret", metadata: {} }), { conftestsecret: "abcd" });
    assert.deepEqual(
      env.vault.requests.slice(start).map((r) => r.status),
      [429, 429, 200],
    );
    assert.ok(
      log.lines.some((l) => l.includes("throttled by Key Vault") && l.includes('"waitMs":1000')),
      log.lines.join("\n"),
    );
  });

  it("429 during bulk paging waits and resumes at the same page", async () => {
    const store = await open(metadata());
    await store.getSecret({ name: "conftestsecret", metadata: {} });
    const start = env.vault.requests.length;
    env.vault.throttle(1, "0");
    const bulk = await store.bulkGetSecret({ metadata: {} });
    assert.deepEqual(bulk.secondsecret, { secondsecret: "efgh" });
    const first = env.vault.requests.slice(start, start + 2).map((r) => `${r.path} ${r.status}`);
    assert.deepEqual(first, ["/secrets 429", "/secrets 200"]);
  });

  it("a cold store answers many concurrent first requests (one challenge, one token)", async () => {
    const store = await open(metadata());
    const issuedBefore = env.directory.issued.length;
    const all = await Promise.all(
      Array.from({ length: 20 }, () => store.getSecret({ name: "conftestsecret", metadata: {} })),
    );
    for (const r of all) assert.deepEqual(r, { conftestsecret: "abcd" });
    assert.equal(env.directory.issued.length - issuedBefore, 1, "one token for all");
  });

  it("secret names are case-insensitive in Key Vault; the answer uses the requested name, as daprd", async () => {
    const store = await open(metadata());
    assert.deepEqual(await store.getSecret({ name: "ConfTestSecret", metadata: {} }), { ConfTestSecret: "abcd" });
  });

  it("429 with a Retry-After beyond the request's time budget fails as throttled when the budget runs out", async () => {
    const store = await open(metadata());
    await store.getSecret({ name: "conftestsecret", metadata: {} });
    env.vault.throttle(1, "30");
    try {
      await rejectsWith(
        store.getSecret({ name: "conftestsecret", metadata: {} }, AbortSignal.timeout(2000)),
        "throttled",
        /429 Too Many Requests and asked to wait 30 s.*time budget/,
      );
    } finally {
      env.vault.throttle(0);
    }
  });

  it("Retry-After is read as seconds, milliseconds headers, or an HTTP date", () => {
    const response = (headers: Record<string, string>) =>
      ({ headers: { get: (h: string) => headers[h.toLowerCase()] } }) as unknown as Parameters<typeof retryAfterMs>[0];
    assert.equal(retryAfterMs(response({ "retry-after": "7" })), 7000);
    assert.equal(retryAfterMs(response({ "retry-after-ms": "250" })), 250);
    assert.equal(retryAfterMs(response({ "x-ms-retry-after-ms": "40" })), 40);
    const now = Date.parse("2026-01-01T00:00:00Z");
    assert.equal(retryAfterMs(response({ "retry-after": "Thu, 01 Jan 2026 00:00:05 GMT" }), now), 5000);
    assert.equal(retryAfterMs(response({})), undefined);
  });

  it("vaultUrl wins over vaultName", async () => {
    const store = await open(metadata({ vaultName: "name-that-does-not-resolve", vaultUrl: `${env.vault.url}/` }));
    assert.deepEqual(await store.getSecret({ name: "secondsecret", metadata: {} }), { secondsecret: "efgh" });
  });

  it("an identity without get permission is permission_denied", async () => {
    const outsider = env.directory.addApp({ secret: CLIENT_SECRET });
    const store = await open(metadata({ azureClientId: outsider.clientId }));
    await rejectsWith(
      store.getSecret({ name: "conftestsecret", metadata: {} }),
      "permission_denied",
      /permission denied: cannot get secret conftestsecret in Azure Key Vault keyward-test.*does not have secrets get permission/,
    );
    await rejectsWith(
      store.bulkGetSecret({ metadata: {} }),
      "permission_denied",
      /permission denied: cannot list secrets in Azure Key Vault keyward-test.*\(Forbidden\)/,
    );
  });

  it("a wrong client secret is bad_credentials with Entra's reason and without the secret", async () => {
    const store = await open(metadata({ azureClientSecret: "wrong-secret-value-canary" }));
    const err = await rejectsWith(
      store.getSecret({ name: "conftestsecret", metadata: {} }),
      "bad_credentials",
      /bad credentials: client secret authentication failed.*AADSTS7000215: Invalid client secret provided/,
    );
    assert.ok(!err.message.includes("wrong-secret-value-canary"));
  });

  it("an unreachable vault is unavailable; an untrusted TLS certificate says so", async () => {
    const closed = await startAzureTestEnvironment();
    const deadUrl = closed.vault.url;
    await closed.close();
    const store = await open(metadata({ vaultUrl: deadUrl }));
    // The SDK retries a refused connection with backoff; a short budget ends it, and the message still says why.
    await rejectsWith(
      store.getSecret({ name: "conftestsecret", metadata: {} }, AbortSignal.timeout(1500)),
      "unavailable",
      /Azure Key Vault keyward-test is unreachable \(ECONNREFUSED\)/,
    );
    const untrusted = await open(metadata(), recordingLogger(), false);
    await rejectsWith(
      untrusted.getSecret({ name: "conftestsecret", metadata: {} }, AbortSignal.timeout(8000)),
      "unavailable",
      /Azure Key Vault keyward-test is unreachable: TLS verification failed \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/,
    );
  });

  it("an unreachable authority is unavailable and names it", async () => {
    const store = await open(metadata({ azureAuthorityHost: "https://127.0.0.1:1" }));
    await rejectsWith(
      store.getSecret({ name: "conftestsecret", metadata: {} }, AbortSignal.timeout(20_000)),
      "unavailable",
      /unreachable: the Microsoft Entra authority https:\/\/127\.0\.0\.1:1/,
    );
  });

  it("invalid secret names and a missing name are invalid_request", async () => {
    const store = await open(metadata());
    await rejectsWith(
      store.getSecret({ name: "db_password", metadata: {} }),
      "invalid_request",
      /not a valid Azure Key Vault secret name/,
    );
    await rejectsWith(store.getSecret({ name: "", metadata: {} }), "invalid_request", /missing secret name/);
  });

  it("nothing logged holds a secret value, the client secret or a token", async () => {
    const log = recordingLogger();
    const store = await open(metadata(), log);
    await store.bulkGetSecret({ metadata: {} });
    for (const line of log.lines) {
      assert.ok(
        !line.includes(CLIENT_SECRET) &&
          !line.includes("abcd") &&
          !line.includes("bulk-value-") &&
          !/eyJ[A-Za-z0-9_-]{10,}\./.test(line),
        line,
      );
    }
  });
});

describe("azure.keyvault metadata", () => {
  const parse = (md: ComponentMetadata, e: NodeJS.ProcessEnv = {}) => parseKeyVaultConfig(md, e);

  it("vaultName maps to the public cloud's vault URL and authority by default", () => {
    const c = parse({ vaultName: "myvault" });
    assert.equal(c.vaultUrl, "https://myvault.vault.azure.net");
    assert.equal(c.cloud.name, "AzurePublicCloud");
    assert.equal(c.auth.authorityHost, "https://login.microsoftonline.com");
    assert.equal(c.auth.disableInstanceDiscovery, false);
    assert.equal(c.customVaultHost, false);
  });

  it("azureEnvironment / azureCloud select China and US Government (names as daprd accepts them)", () => {
    const china = parse({ vaultName: "v", azureEnvironment: "AZURECHINACLOUD" });
    assert.equal(china.vaultUrl, "https://v.vault.azure.cn");
    assert.equal(china.auth.authorityHost, "https://login.chinacloudapi.cn");
    const gov = parse({ vaultName: "v", azureCloud: "AzureUSGovernment" });
    assert.equal(gov.vaultUrl, "https://v.vault.usgovcloudapi.net");
    assert.equal(gov.auth.authorityHost, "https://login.microsoftonline.us");
    assert.equal(parse({ vaultName: "v", azureEnvironment: "AzurePublic" }).vaultUrl, "https://v.vault.azure.net");
    assert.throws(() => parse({ vaultName: "v", azureEnvironment: "Mars" }), /invalid Azure cloud: Mars/);
  });

  it("a legacy FQDN in vaultName picks the cloud from its suffix", () => {
    const c = parse({ vaultName: "https://legacy.vault.usgovcloudapi.net" });
    assert.equal(c.vaultUrl, "https://legacy.vault.usgovcloudapi.net");
    assert.equal(c.cloud.name, "AzureUSGovernmentCloud");
    assert.equal(
      parse({ vaultName: "old.vault.azure.cn", azureEnvironment: "AzurePublicCloud" }).vaultUrl,
      "https://old.vault.azure.cn",
    );
  });

  it("vaultUrl: https only, no path; a private host disables the challenge domain check", () => {
    const c = parse({ vaultUrl: "https://kv.internal.example:8443/" });
    assert.equal(c.vaultUrl, "https://kv.internal.example:8443");
    assert.equal(c.customVaultHost, true);
    assert.equal(parse({ vaultUrl: "https://x.vault.azure.net" }).customVaultHost, false);
    const cn = parse({ vaultUrl: "https://x.vault.azure.cn" });
    assert.equal(cn.cloud.name, "AzureChinaCloud");
    assert.equal(cn.auth.authorityHost, "https://login.chinacloudapi.cn");
    assert.equal(
      parse({ vaultUrl: "https://x.vault.azure.cn", azureEnvironment: "AzurePublicCloud" }).cloud.name,
      "AzurePublicCloud",
    );
    assert.throws(() => parse({ vaultUrl: "http://kv.example" }), /must use https/);
    assert.throws(() => parse({ vaultUrl: "https://kv.example/secrets" }), /without a path/);
    assert.throws(() => parse({}), /missing vaultName/);
    assert.throws(() => parse({ vaultName: "bad/name" }), /not a Key Vault name/);
  });

  it("auth field aliases resolve in daprd's order and names are case-insensitive", () => {
    const c = parse({
      vaultName: "v",
      SPNTENANTID: "t1",
      clientId: "c1",
      spnClientSecret: "s1",
      spnCertificateFile: "/f",
      SPNCERTIFICATEPASSWORD: "p",
    });
    assert.equal(c.auth.tenantId, "t1");
    assert.equal(c.auth.clientId, "c1");
    assert.equal(c.auth.clientSecret, "s1");
    assert.equal(c.auth.certificateFile, "/f");
    assert.equal(c.auth.certificatePassword, "p");
    const first = parse({ vaultName: "v", azureTenantId: "a", tenantId: "b" });
    assert.equal(first.auth.tenantId, "a");
  });

  it("azureAuthMethods and its aliases: daprd's names and short forms, in order; None and unknown names fail", () => {
    assert.deepEqual(parse({ vaultName: "v" }).auth.methods, [
      "clientcredentials",
      "clientcertificate",
      "workloadidentity",
      "managedidentity",
      "cli",
    ]);
    assert.deepEqual(parse({ vaultName: "v", azureAuthMethods: "MI, creds" }).auth.methods, [
      "managedidentity",
      "clientcredentials",
    ]);
    assert.deepEqual(
      parse({ vaultName: "v", entraIDAuthMethods: "WorkloadIdentity,CommandLineInterface" }).auth.methods,
      ["workloadidentity", "cli"],
    );
    assert.deepEqual(parse({ vaultName: "v", azureADAuthMethods: "cert" }).auth.methods, ["clientcertificate"]);
    assert.deepEqual(parse({ vaultName: "v", microsoftEntraIDAuthMethods: "wi" }).auth.methods, ["workloadidentity"]);
    assert.throws(() => parse({ vaultName: "v", azureAuthMethods: "None" }), /disabled with auth method 'None'/);
    assert.throws(
      () => parse({ vaultName: "v", azureAuthMethods: "mi,password" }),
      /invalid Azure auth method: password/,
    );
  });

  it("authority: azureAuthorityHost, else AZURE_AUTHORITY_HOST, else the cloud's; custom hosts skip instance discovery", () => {
    assert.equal(
      parse({ vaultName: "v" }, { AZURE_AUTHORITY_HOST: "https://login.example.test/" }).auth.authorityHost,
      "https://login.example.test",
    );
    const c = parse(
      { vaultName: "v", azureAuthorityHost: "https://127.0.0.1:9443" },
      { AZURE_AUTHORITY_HOST: "https://ignored.test" },
    );
    assert.equal(c.auth.authorityHost, "https://127.0.0.1:9443");
    assert.equal(c.auth.disableInstanceDiscovery, true);
    assert.equal(parse({ vaultName: "v", azureDisableInstanceDiscovery: "true" }).auth.disableInstanceDiscovery, true);
    assert.throws(() => parse({ vaultName: "v", azureAuthorityHost: "http://127.0.0.1:1" }), /must use https/);
  });

  it("the store's source imports vendor SDKs only lazily (import type or await import)", () => {
    const dir = join(REPO_ROOT, "src", "stores", "azure");
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts"))) {
      const text = readFileSync(join(dir, file), "utf8");
      for (const line of text.split("\n")) {
        if (/^\s*import\s/.test(line) && /["']@azure\//.test(line))
          assert.match(line, /^\s*import type /, `${file}: ${line}`);
      }
    }
  });
});
