/**
 * Fidelity of the test Key Vault: the official @azure/keyvault-secrets client, with a test TokenCredential and
 * disableChallengeResourceVerification, talks to it the way it talks to Azure.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/core-auth";
import { SecretClient } from "@azure/keyvault-secrets";
import { startAzureTestEnvironment, type AzureTestEnvironment, type Principal } from "./azure/index.js";

class TestCredential implements TokenCredential {
  readonly calls: { scopes: string[]; tenantId?: string }[] = [];
  constructor(
    private readonly env: AzureTestEnvironment,
    private readonly principal: Principal,
  ) {}
  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
    const list = Array.isArray(scopes) ? scopes : [scopes];
    this.calls.push({ scopes: list, tenantId: options?.tenantId });
    const resource = (list[0] ?? "").replace(/\/\.default$/, "");
    const { token, expiresIn } = this.env.directory.issueAccessToken(this.principal, resource, "test");
    return { token, expiresOnTimestamp: Date.now() + expiresIn * 1000 };
  }
}

describe("test Key Vault fidelity (official @azure/keyvault-secrets client)", () => {
  let env: AzureTestEnvironment;
  let credential: TestCredential;
  let client: SecretClient;
  let reader: Principal;

  before(async () => {
    env = await startAzureTestEnvironment();
    reader = env.directory.addApp({ secret: "unused" });
    env.vault.grant(reader, ["get", "list", "set"]);
    credential = new TestCredential(env, reader);
    client = new SecretClient(env.vault.url, credential, {
      disableChallengeResourceVerification: true,
      tlsOptions: { ca: env.tls.ca },
      retryOptions: { maxRetryDelayInMs: 2000 },
    });
  });
  after(async () => {
    await env?.close();
  });

  it("first request is challenged, then the token for the challenge's resource and tenant is used", async () => {
    await client.setSecret("fidelity-first", "v1");
    const first = env.vault.requests[0];
    assert.equal(first?.status, 401);
    assert.equal(first?.authenticated, false);
    assert.deepEqual(credential.calls[0], {
      scopes: ["https://vault.azure.net/.default"],
      tenantId: env.directory.tenantId,
    });
    assert.equal(env.vault.requests[1]?.status, 200);
  });

  it("set, get latest and get a version round-trip through the SDK's models", async () => {
    const v1 = await client.setSecret("fidelity-db", "one", { contentType: "text/plain", tags: { team: "a" } });
    const v2 = await client.setSecret("fidelity-db", "two");
    assert.equal(v1.properties.name, "fidelity-db");
    assert.equal(v1.properties.contentType, "text/plain");
    assert.deepEqual(v1.properties.tags, { team: "a" });
    const latest = await client.getSecret("fidelity-db");
    assert.equal(latest.value, "two");
    assert.equal(latest.properties.version, v2.properties.version);
    assert.equal(latest.properties.enabled, true);
    assert.ok(latest.properties.createdOn instanceof Date);
    assert.equal(latest.properties.recoveryLevel, "Recoverable+Purgeable");
    const old = await client.getSecret("fidelity-db", { version: v1.properties.version });
    assert.equal(old.value, "one");
    assert.equal(old.properties.vaultUrl, env.vault.url);
  });

  it("names are case-insensitive; ids keep the name as written", async () => {
    const s = await client.getSecret("FIDELITY-DB");
    assert.equal(s.value, "two");
    assert.equal(s.name, "fidelity-db");
  });

  it("lists versions of a secret", async () => {
    const versions = [];
    for await (const p of client.listPropertiesOfSecretVersions("fidelity-db")) versions.push(p.version);
    assert.equal(versions.length, 2);
  });

  it("list pages follow nextLink with maxresults and $skiptoken", async () => {
    for (let i = 0; i < 5; i++) env.vault.setSecret(`fidelity-page-${i}`, `p${i}`);
    const before = env.vault.requests.length;
    const pages: string[][] = [];
    for await (const page of client.listPropertiesOfSecrets().byPage({ maxPageSize: 2 }))
      pages.push(page.map((p) => p.name));
    const names = pages.flat();
    for (let i = 0; i < 5; i++) assert.ok(names.includes(`fidelity-page-${i}`));
    assert.ok(pages.every((p) => p.length <= 2));
    assert.equal(pages.length, Math.ceil(names.length / 2));
    const listCalls = env.vault.requests.slice(before).filter((r) => r.path === "/secrets" && r.status === 200);
    assert.equal(listCalls[0]?.query.maxresults, "2");
    assert.ok(listCalls[1]?.query.$skiptoken, "second page came through nextLink");
  });

  it("a disabled secret is listed as disabled and reading it is 403 Forbidden", async () => {
    await client.setSecret("fidelity-off", "hidden");
    await client.updateSecretProperties("fidelity-off", "", { enabled: false });
    let seen;
    for await (const p of client.listPropertiesOfSecrets()) if (p.name === "fidelity-off") seen = p;
    assert.equal(seen?.enabled, false);
    await assert.rejects(
      client.getSecret("fidelity-off"),
      (err: { statusCode?: number; code?: string; message: string }) => {
        assert.equal(err.statusCode, 403);
        assert.equal(err.code, "Forbidden");
        assert.match(err.message, /Operation get is not allowed on a disabled secret/);
        return true;
      },
    );
  });

  it("a missing secret or version is 404 SecretNotFound", async () => {
    await assert.rejects(
      client.getSecret("fidelity-missing"),
      (err: { statusCode?: number; code?: string; message: string }) => {
        assert.equal(err.statusCode, 404);
        assert.equal(err.code, "SecretNotFound");
        assert.match(err.message, /A secret with \(name\/id\) fidelity-missing was not found in this key vault/);
        return true;
      },
    );
    await assert.rejects(client.getSecret("fidelity-db", { version: "0".repeat(32) }), {
      statusCode: 404,
      code: "SecretNotFound",
    });
  });

  it("an identity without an access policy gets 403 Forbidden naming the permission", async () => {
    const stranger = env.directory.addApp();
    const other = new SecretClient(env.vault.url, new TestCredential(env, stranger), {
      disableChallengeResourceVerification: true,
      tlsOptions: { ca: env.tls.ca },
    });
    await assert.rejects(
      other.getSecret("fidelity-db"),
      (err: { statusCode?: number; code?: string; message: string }) => {
        assert.equal(err.statusCode, 403);
        assert.equal(err.code, "Forbidden");
        assert.match(err.message, /does not have secrets get permission on key vault/);
        return true;
      },
    );
  });

  it("a token for another resource is rejected with a fresh challenge", async () => {
    const wrong: TokenCredential = {
      getToken: async () => ({
        token: env.directory.issueAccessToken(reader, "https://storage.azure.com", "test").token,
        expiresOnTimestamp: Date.now() + 3_600_000,
      }),
    };
    const other = new SecretClient(env.vault.url, wrong, {
      disableChallengeResourceVerification: true,
      tlsOptions: { ca: env.tls.ca },
    });
    await assert.rejects(other.getSecret("fidelity-db"), (err: { statusCode?: number; message: string }) => {
      assert.equal(err.statusCode, 401);
      assert.match(err.message, /AKV10022: Invalid audience/);
      return true;
    });
  });

  it("the SDK's challenge check refuses a vault host outside the resource's domain", async () => {
    const strict = new SecretClient(env.vault.url, credential, { tlsOptions: { ca: env.tls.ca } });
    await assert.rejects(
      strict.getSecret("fidelity-db"),
      /challenge resource 'vault.azure.net' does not match the requested domain/,
    );
  });

  it("429 carries Retry-After, which the SDK's own retry policy honours", async () => {
    env.vault.throttle(1, "1");
    const before = env.vault.requests.length;
    const secret = await client.getSecret("fidelity-db");
    assert.equal(secret.value, "two");
    const statuses = env.vault.requests.slice(before).map((r) => r.status);
    assert.deepEqual(statuses, [429, 200]);
  });

  it("rejects an unknown api-version and an out-of-range maxresults like Key Vault", async () => {
    const bad = new SecretClient(env.vault.url, credential, {
      disableChallengeResourceVerification: true,
      tlsOptions: { ca: env.tls.ca },
      serviceVersion: "7.5",
    });
    assert.equal((await bad.getSecret("fidelity-db")).value, "two");
    const res = await fetchWithToken(env, reader, "/secrets?api-version=1.0");
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, "BadParameter");
    const res2 = await fetchWithToken(env, reader, "/secrets?api-version=7.5&maxresults=26");
    assert.equal(res2.status, 400);
  });
});

/** A raw request with a valid token, for shapes the SDK never sends. Uses https with the test CA. */
async function fetchWithToken(
  env: AzureTestEnvironment,
  who: Principal,
  path: string,
): Promise<{ status: number; json(): Promise<unknown> }> {
  const { request } = await import("node:https");
  const token = env.directory.issueAccessToken(who, env.vault.resource, "test").token;
  return new Promise((resolve, reject) => {
    const req = request(
      `${env.vault.url}${path}`,
      { ca: env.tls.ca, headers: { authorization: `Bearer ${token}` } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            json: async () => JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown,
          }),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("test Entra authority and managed identity endpoint fidelity (official @azure/identity credentials)", () => {
  let env: AzureTestEnvironment;
  before(async () => {
    env = await startAzureTestEnvironment();
  });
  after(async () => {
    await env?.close();
  });

  const scope = "https://vault.azure.net/.default";
  const validFor = (token: string, p: Principal) => {
    const v = env.directory.validateAccessToken(token, "https://vault.azure.net");
    assert.ok(v.ok, v.ok ? "" : v.message);
    assert.equal(v.principal.objectId, p.objectId);
  };

  it("ClientSecretCredential: discovery, token, and AADSTS errors as AuthenticationError", async () => {
    const { ClientSecretCredential } = await import("@azure/identity");
    const app = env.directory.addApp({ secret: "fidelity-secret" });
    const opts = { authorityHost: env.authority.url, disableInstanceDiscovery: true, tlsOptions: { ca: env.tls.ca } };
    const token = await new ClientSecretCredential(
      env.directory.tenantId,
      app.clientId,
      "fidelity-secret",
      opts,
    ).getToken(scope);
    validFor(token.token, app);
    assert.ok(token.expiresOnTimestamp > Date.now() + 3_000_000);
    // MSAL parses error, error_codes, timestamp and error_description from the body; identity wraps them.
    await assert.rejects(
      new ClientSecretCredential(env.directory.tenantId, app.clientId, "nope", opts).getToken(scope),
      (err: Error) => {
        assert.equal(err.name, "AuthenticationRequiredError");
        assert.match(
          err.message,
          /^invalid_client: Error\(s\): 7000215 - Timestamp: .* - Description: AADSTS7000215: Invalid client secret provided/,
        );
        return true;
      },
    );
  });

  it("ClientCertificateCredential: the certificate assertion is verified against the registered certificate", async () => {
    const { ClientCertificateCredential } = await import("@azure/identity");
    const { makeClientCertificate } = await import("./azure/index.js");
    const cert = makeClientCertificate("x");
    const app = env.directory.addApp({ certificatePem: cert.certPem });
    const opts = { authorityHost: env.authority.url, disableInstanceDiscovery: true, tlsOptions: { ca: env.tls.ca } };
    validFor(
      (
        await new ClientCertificateCredential(
          env.directory.tenantId,
          app.clientId,
          { certificate: cert.pem },
          opts,
        ).getToken(scope)
      ).token,
      app,
    );
    const other = makeClientCertificate("y");
    await assert.rejects(
      new ClientCertificateCredential(env.directory.tenantId, app.clientId, { certificate: other.pem }, opts).getToken(
        scope,
      ),
      /AADSTS700027/,
    );
  });

  it("WorkloadIdentityCredential: a federated token from a trusted issuer with a matching subject", async () => {
    const { WorkloadIdentityCredential } = await import("@azure/identity");
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const issuer = env.directory.addFederationIssuer("https://oidc.fidelity.test/");
    const app = env.directory.addApp({ federated: { issuer: issuer.issuer, subject: "system:serviceaccount:ns:sa" } });
    const file = join(mkdtempSync(join(tmpdir(), "keyward-wi-")), "token");
    writeFileSync(file, issuer.mint("system:serviceaccount:ns:sa"));
    const cred = new WorkloadIdentityCredential({
      tenantId: env.directory.tenantId,
      clientId: app.clientId,
      tokenFilePath: file,
      authorityHost: env.authority.url,
      disableInstanceDiscovery: true,
      tlsOptions: { ca: env.tls.ca },
    });
    validFor((await cred.getToken(scope)).token, app);
  });

  it("ManagedIdentityCredential: IDENTITY_ENDPOINT/IDENTITY_HEADER, system- and user-assigned", async () => {
    const system = env.directory.enableSystemIdentity();
    const user = env.directory.addUserIdentity();
    const saved = { IDENTITY_ENDPOINT: process.env.IDENTITY_ENDPOINT, IDENTITY_HEADER: process.env.IDENTITY_HEADER };
    Object.assign(process.env, env.identity.env);
    try {
      const { ManagedIdentityCredential } = await import("@azure/identity");
      validFor((await new ManagedIdentityCredential().getToken(scope)).token, system);
      validFor((await new ManagedIdentityCredential({ clientId: user.clientId }).getToken(scope)).token, user);
      const last = env.identity.requests.at(-1);
      assert.equal(last?.query["api-version"], "2019-08-01");
      assert.equal(last?.query.client_id, user.clientId);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
