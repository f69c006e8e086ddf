/**
 * azure.keyvault auth flows end to end against the local token endpoints: client secret and certificate against the
 * authority (azureAuthorityHost or AZURE_AUTHORITY_HOST), workload identity with a federated token file, managed
 * identity through IDENTITY_ENDPOINT/IDENTITY_HEADER, and the Azure CLI.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { KeyVaultSecretStore } from "../../src/stores/azure/keyvault.js";
import { SecretStoreError, type ComponentMetadata, type SecretStoreErrorKind } from "../../src/stores/types.js";
import { recordingLogger, storeContext, type RecordingLogger } from "../helpers/store-context.js";
import {
  makeClientCertificate,
  makeFakeAzCli,
  startAzureTestEnvironment,
  type AppRegistration,
  type AzureTestEnvironment,
  type ClientCertificate,
  type FederationIssuer,
  type Principal,
} from "../servers/azure/index.js";

const SECRET = `auth-client-secret-${process.pid}-canary`;
const CERT_PASSWORD = `cert-pass-${process.pid}-canary`;
const VALUE = `auth-secret-value-${process.pid}`;

let env: AzureTestEnvironment;
let secretApp: AppRegistration;
let certApp: AppRegistration;
let wiApp: AppRegistration;
let cert: ClientCertificate;
let issuer: FederationIssuer;
let systemMi: Principal;
let userMi: Principal;
const dir = mkdtempSync(join(tmpdir(), "keyward-azauth-"));
const logs: RecordingLogger[] = [];
const messages: string[] = [];

function base(): ComponentMetadata {
  return { vaultName: "keyward-test", vaultUrl: env.vault.url, azureTenantId: env.directory.tenantId };
}

async function open(md: ComponentMetadata, processEnv: NodeJS.ProcessEnv = process.env): Promise<KeyVaultSecretStore> {
  const log = recordingLogger();
  logs.push(log);
  const store = new KeyVaultSecretStore();
  await store.init(
    md,
    storeContext("azure-auth", 10_000, log, { env: { ...processEnv, NODE_EXTRA_CA_CERTS: env.tls.caPath } }),
  );
  return store;
}

async function read(store: KeyVaultSecretStore): Promise<void> {
  assert.deepEqual(await store.getSecret({ name: "authsecret", metadata: {} }, AbortSignal.timeout(15_000)), {
    authsecret: VALUE,
  });
}

/** Who the vault saw on the last authenticated request (tokens may come from a cache, so this is the proof). */
function lastCaller(): string | undefined {
  return env.vault.requests.filter((r) => r.authenticated).at(-1)?.objectId;
}

function lastFlow(): { flow: string; clientId: string } | undefined {
  return env.directory.issued.at(-1);
}

async function rejectsWith(p: Promise<unknown>, kind: SecretStoreErrorKind, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof SecretStoreError, `expected SecretStoreError, got ${String(err)}`);
    messages.push(err.message);
    assert.equal(err.kind, kind, err.message);
    assert.match(err.message, pattern);
    return true;
  });
}

describe("azure.keyvault authentication", () => {
  before(async () => {
    env = await startAzureTestEnvironment();
    cert = makeClientCertificate(CERT_PASSWORD);
    secretApp = env.directory.addApp({ secret: SECRET });
    certApp = env.directory.addApp({ certificatePem: cert.certPem });
    issuer = env.directory.addFederationIssuer("https://oidc.aks.test/cluster-1/");
    wiApp = env.directory.addApp({
      federated: { issuer: issuer.issuer, subject: "system:serviceaccount:apps:orders" },
    });
    systemMi = env.directory.enableSystemIdentity();
    userMi = env.directory.addUserIdentity();
    for (const p of [secretApp, certApp, wiApp, systemMi, userMi]) env.vault.grant(p, ["get", "list"]);
    env.vault.setSecret("authsecret", VALUE);
    // This process is "an App Service host": the managed identity endpoint is the local one, never IMDS.
    Object.assign(process.env, env.identity.env);
  });
  after(async () => {
    await env?.close();
  });

  it("client secret: aliases, authority from AZURE_AUTHORITY_HOST, token from /{tenant}/oauth2/v2.0/token", async () => {
    const md = {
      vaultName: "keyward-test",
      vaultUrl: env.vault.url,
      spnTenantId: env.directory.tenantId,
      spnClientId: secretApp.clientId,
      spnClientSecret: SECRET,
      azureAuthMethods: "ClientCredentials",
    };
    const store = await open(md, { AZURE_AUTHORITY_HOST: env.authority.url });
    await read(store);
    assert.deepEqual(lastFlow(), {
      flow: "client_secret",
      clientId: secretApp.clientId,
      resource: "https://vault.azure.net",
    });
    const paths = env.authority.requests.map((r) => r.path);
    assert.ok(paths.includes(`/${env.directory.tenantId}/v2.0/.well-known/openid-configuration`));
    assert.ok(paths.includes(`/${env.directory.tenantId}/oauth2/v2.0/token`));
  });

  it("a secret revoked after the first token: the valid token is kept (with a warning), then the refresh fails as bad credentials", async () => {
    const rotating = env.directory.addApp({ secret: SECRET });
    env.vault.grant(rotating, ["get"]);
    env.directory.tokenLifetimeSeconds = 60; // inside every refresh window: each call tries a new token
    try {
      const log = recordingLogger();
      logs.push(log);
      const store = new KeyVaultSecretStore();
      await store.init(
        {
          ...base(),
          azureClientId: rotating.clientId,
          azureClientSecret: SECRET,
          azureAuthorityHost: env.authority.url,
          azureAuthMethods: "creds",
        },
        storeContext("azure-auth", 10_000, log, { env: { ...process.env, NODE_EXTRA_CA_CERTS: env.tls.caPath } }),
      );
      await read(store);
      rotating.secrets.length = 0;
      // The SDK refreshes in the background here; wait (bounded) for that refresh to fail and be absorbed.
      await read(store);
      const warned = () =>
        log.lines.some(
          (l) => l.startsWith("warn") && l.includes("token refresh failed") && l.includes("AADSTS7000215"),
        );
      for (let i = 0; i < 50 && !warned(); i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(warned(), log.lines.join("\n"));
      await read(store);

      env.directory.tokenLifetimeSeconds = 1;
      const shortLived = env.directory.addApp({ secret: SECRET });
      env.vault.grant(shortLived, ["get"]);
      const store2 = await open({
        ...base(),
        azureClientId: shortLived.clientId,
        azureClientSecret: SECRET,
        azureAuthorityHost: env.authority.url,
        azureAuthMethods: "creds",
      });
      await read(store2);
      shortLived.secrets.length = 0;
      await new Promise((r) => setTimeout(r, 2100)); // let the one-second token expire (whole-second clocks)
      await rejectsWith(
        store2.getSecret({ name: "authsecret", metadata: {} }),
        "bad_credentials",
        /bad credentials: client secret authentication failed.*AADSTS7000215/,
      );
    } finally {
      env.directory.tokenLifetimeSeconds = 3600;
    }
  });

  it("client secret is first in the default order", async () => {
    const store = await open({
      ...base(),
      azureClientId: secretApp.clientId,
      azureClientSecret: SECRET,
      azureAuthorityHost: env.authority.url,
    });
    await read(store);
    assert.equal(lastFlow()?.flow, "client_secret");
  });

  it("certificate: PEM and PFX, from a file or inline, with a password", async () => {
    const pemFile = join(dir, "client.pem");
    const encFile = join(dir, "client.enc.pem");
    const pfxFile = join(dir, "client.pfx");
    const legacyFile = join(dir, "legacy.pfx");
    writeFileSync(pemFile, cert.pem);
    writeFileSync(encFile, cert.encryptedPem);
    writeFileSync(pfxFile, cert.pfx);
    writeFileSync(legacyFile, cert.legacyPfx);
    const variants: [string, ComponentMetadata][] = [
      ["PEM file", { azureCertificateFile: pemFile }],
      ["inline PEM", { azureCertificate: cert.pem }],
      ["encrypted PEM file + password", { azureCertificateFile: encFile, azureCertificatePassword: CERT_PASSWORD }],
      ["PFX file (AES) + password", { azureCertificateFile: pfxFile, azureCertificatePassword: CERT_PASSWORD }],
      [
        "legacy PFX file (RC2/3DES) + password",
        { spnCertificateFile: legacyFile, spnCertificatePassword: CERT_PASSWORD },
      ],
      [
        "inline base64 PFX + password",
        { azureCertificate: cert.pfx.toString("base64"), azureCertificatePassword: CERT_PASSWORD },
      ],
    ];
    for (const [label, extra] of variants) {
      const store = await open({
        ...base(),
        azureClientId: certApp.clientId,
        azureAuthorityHost: env.authority.url,
        azureAuthMethods: "ClientCertificate",
        ...extra,
      });
      await read(store);
      assert.equal(lastFlow()?.flow, "client_certificate", label);
      assert.equal(lastFlow()?.clientId, certApp.clientId, label);
    }
  });

  it("certificate: a wrong password fails init without showing it; an unregistered certificate is bad_credentials", async () => {
    const pfxFile = join(dir, "wrongpass.pfx");
    writeFileSync(pfxFile, cert.pfx);
    await rejectsWith(
      open({
        ...base(),
        azureClientId: certApp.clientId,
        azureCertificateFile: pfxFile,
        azureCertificatePassword: "not-the-password-canary",
        azureAuthorityHost: env.authority.url,
      }),
      "invalid_config",
      /azureCertificateFile .*wrongpass\.pfx: cannot open the PKCS#12 bundle; azureCertificatePassword is missing or wrong/,
    );
    await rejectsWith(
      open({ ...base(), azureClientId: certApp.clientId, azureCertificateFile: join(dir, "nope.pem") }),
      "invalid_config",
      /cannot read azureCertificateFile .*nope\.pem: ENOENT/,
    );
    const stranger = makeClientCertificate("x");
    const store = await open({
      ...base(),
      azureClientId: certApp.clientId,
      azureCertificate: stranger.pem,
      azureAuthorityHost: env.authority.url,
      azureAuthMethods: "cert",
    });
    await rejectsWith(
      store.getSecret({ name: "authsecret", metadata: {} }),
      "bad_credentials",
      /client certificate authentication failed.*AADSTS700027/,
    );
  });

  it("workload identity: federated token file exchanged at the authority from AZURE_AUTHORITY_HOST", async () => {
    const tokenFile = join(dir, "sa-token");
    writeFileSync(tokenFile, issuer.mint("system:serviceaccount:apps:orders"));
    const wiEnv = {
      AZURE_FEDERATED_TOKEN_FILE: tokenFile,
      AZURE_CLIENT_ID: wiApp.clientId,
      AZURE_TENANT_ID: env.directory.tenantId,
      AZURE_AUTHORITY_HOST: env.authority.url,
    };
    const store = await open(
      { vaultName: "keyward-test", vaultUrl: env.vault.url, azureAuthMethods: "WorkloadIdentity" },
      wiEnv,
    );
    await read(store);
    assert.equal(lastFlow()?.flow, "workload_identity");
    assert.equal(lastFlow()?.clientId, wiApp.clientId);

    const otherFile = join(dir, "sa-token-other");
    writeFileSync(otherFile, issuer.mint("system:serviceaccount:apps:intruder"));
    const denied = await open(
      { vaultName: "keyward-test", vaultUrl: env.vault.url, azureAuthMethods: "wi" },
      { ...wiEnv, AZURE_FEDERATED_TOKEN_FILE: otherFile },
    );
    await rejectsWith(
      denied.getSecret({ name: "authsecret", metadata: {} }),
      "bad_credentials",
      /workload identity authentication failed.*AADSTS70021: No matching federated identity record/,
    );
  });

  it("managed identity: system-assigned through IDENTITY_ENDPOINT/IDENTITY_HEADER", async () => {
    const store = await open({
      vaultName: "keyward-test",
      vaultUrl: env.vault.url,
      azureAuthMethods: "ManagedIdentity",
    });
    await read(store);
    assert.equal(lastFlow()?.flow, "managed_identity_system");
    assert.equal(lastCaller(), systemMi.objectId);
    const req = env.identity.requests.at(-1);
    assert.equal(req?.status, 200);
    assert.equal(req?.query["api-version"], "2019-08-01");
    assert.equal(req?.query.resource, "https://vault.azure.net");
    assert.equal(req?.query.client_id, undefined);
  });

  it("managed identity: user-assigned selected by azureClientId", async () => {
    const store = await open({
      vaultName: "keyward-test",
      vaultUrl: env.vault.url,
      azureClientId: userMi.clientId,
      azureAuthMethods: "mi",
    });
    await read(store);
    assert.deepEqual(lastFlow(), {
      flow: "managed_identity_user",
      clientId: userMi.clientId,
      resource: "https://vault.azure.net",
    });
    assert.equal(env.identity.requests.at(-1)?.query.client_id, userMi.clientId);

    const unknown = await open({
      vaultName: "keyward-test",
      vaultUrl: env.vault.url,
      azureClientId: "11111111-2222-3333-4444-555555555555",
      azureAuthMethods: "mi",
    });
    await rejectsWith(unknown.getSecret({ name: "authsecret", metadata: {} }), "bad_credentials", /managed identity/);
  });

  it("azureAuthMethods sets the order, and a refused method stops the chain instead of falling through", async () => {
    const md = {
      ...base(),
      azureClientId: userMi.clientId,
      azureClientSecret: SECRET,
      azureAuthorityHost: env.authority.url,
    };
    const miFirst = await open({ ...md, azureAuthMethods: "ManagedIdentity,ClientCredentials" });
    await read(miFirst);
    assert.equal(lastCaller(), userMi.objectId);
    // The identity's client id has no app registration with that secret: Entra refuses, and that is reported.
    const secretFirst = await open({ ...md, azureAuthMethods: "ClientCredentials,ManagedIdentity" });
    await rejectsWith(
      secretFirst.getSecret({ name: "authsecret", metadata: {} }),
      "bad_credentials",
      /client secret authentication failed.*AADSTS700016/,
    );
  });

  it("a listed method without its settings is skipped: WorkloadIdentity,ManagedIdentity works off AKS", async () => {
    const store = await open(
      { vaultName: "keyward-test", vaultUrl: env.vault.url, azureAuthMethods: "WorkloadIdentity,ManagedIdentity" },
      { ...env.identity.env },
    );
    await read(store);
    assert.equal(lastCaller(), systemMi.objectId);
  });

  it("Azure CLI: `az account get-access-token --resource https://vault.azure.net`", async () => {
    const user = env.directory.addUser();
    env.vault.grant(user, ["get"]);
    const az = makeFakeAzCli(env.directory, user);
    const savedPath = process.env.PATH;
    process.env.PATH = `${az.dir}:${savedPath ?? ""}`;
    try {
      const store = await open({
        vaultName: "keyward-test",
        vaultUrl: env.vault.url,
        azureAuthMethods: "CommandLineInterface",
      });
      await read(store);
      assert.equal(lastFlow()?.flow, "cli");
      assert.match(
        az.calls().at(-1) ?? "",
        /^account get-access-token --output json --resource https:\/\/vault\.azure\.net/,
      );
    } finally {
      process.env.PATH = savedPath;
    }
  });

  it("no usable method is an init error listing why; None and unknown names are rejected", async () => {
    await rejectsWith(
      open({ ...base(), azureAuthMethods: "ClientCredentials,ClientCertificate" }, {}),
      "invalid_config",
      /no suitable Azure credential.*client secret: azureClientSecret is not set; client certificate: neither azureCertificate nor azureCertificateFile is set/,
    );
    await rejectsWith(
      open({ ...base(), azureAuthMethods: "None" }),
      "invalid_config",
      /disabled with auth method 'None'/,
    );
    await rejectsWith(
      open({ ...base(), azureAuthMethods: "kerberos" }),
      "invalid_config",
      /invalid Azure auth method: kerberos/,
    );
  });

  it("no credential, token, certificate password or identity header appears in any message or log line", () => {
    const forbidden = [SECRET, CERT_PASSWORD, "not-the-password-canary", env.identity.header, VALUE];
    const lines = [...messages, ...logs.flatMap((l) => l.lines)];
    assert.ok(lines.length > 0);
    for (const line of lines) {
      for (const f of forbidden) assert.ok(!line.includes(f), `leaked in: ${line}`);
      assert.ok(!/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/.test(line), `token in: ${line}`);
    }
  });
});
