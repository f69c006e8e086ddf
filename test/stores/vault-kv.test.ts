/**
 * Vault store: KV v1 mounts and `kvVersion: auto`, namespaces (`X-Vault-Namespace`), secret names with `/`,
 * and errors that tell apart a missing secret, a missing/deleted/destroyed version, permission denied,
 * a sealed Vault, an unreachable one and throttling.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { VaultSecretStore } from "../../src/stores/hashicorp/vault.js";
import { SecretStoreError, type ComponentMetadata } from "../../src/stores/types.js";
import { recordingLogger, storeContext } from "../helpers/store-context.js";
import { errors } from "../servers/vault/http.js";
import { startVaultServer, type VaultTestServer } from "../servers/vault/server.js";

let vault: VaultTestServer;
const stores: VaultSecretStore[] = [];

async function open(metadata: ComponentMetadata = {}): Promise<VaultSecretStore> {
  const s = new VaultSecretStore();
  stores.push(s);
  await s.init(
    { vaultAddr: vault.url, vaultToken: vault.rootToken, ...metadata },
    storeContext("vault", 10_000, recordingLogger()),
  );
  return s;
}

const get = (s: VaultSecretStore, name: string, metadata: Record<string, string> = {}) =>
  s.getSecret({ name, metadata });

async function fails(p: Promise<unknown>, kind: SecretStoreError["kind"], pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof SecretStoreError, String(err));
    assert.equal(err.kind, kind, err.message);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes(vault.rootToken), "no token in the message");
    return true;
  });
}

void describe("hashicorp.vault KV engines, namespaces and errors", () => {
  before(async () => {
    vault = await startVaultServer({ rootToken: `hvs.kv-root-${process.pid}-${Date.now()}` });
    vault.put("dapr/db", { user: "u", password: "p" });
    vault.put("dapr/team/payments/api", { key: "k1" });
    vault.put("dapr/with space", { v: "1" });
    vault.put("dapr/typed", { port: 5432, tls: true, nested: { a: 1 } });
    vault.state.mountSecrets("", "kv1", "kv", 1);
    vault.put("dapr/legacy", { token: "old-school" }, { mount: "kv1" });
    vault.put("dapr/folder/deep", { d: "e" }, { mount: "kv1" });
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
  });
  after(() => vault.close());

  void it("kvVersion auto asks Vault (sys/internal/ui/mounts) and reads a KV v1 mount", async () => {
    const s = await open({ enginePath: "kv1" });
    assert.ok(vault.requests.some((r) => r.path === "/v1/sys/internal/ui/mounts/kv1"));
    assert.deepEqual(await get(s, "legacy"), { token: "old-school" });
    assert.deepEqual(await s.bulkGetSecret({ metadata: {} }), {
      "folder/deep": { d: "e" },
      legacy: { token: "old-school" },
    });
    assert.ok(vault.requests.some((r) => r.path === "/v1/kv1/dapr/legacy"));
    await fails(
      get(s, "legacy", { version_id: "2" }),
      "invalid_request",
      /KV version 1 mount, which keeps no versions/,
    );
    await fails(
      get(s, "absent"),
      "not_found",
      /getSecret absent failed secret key or version not exist: no secret absent at kv1\/dapr\/absent/,
    );
  });

  void it("kvVersion 1 and 2 can be set explicitly; auto detects v2 too", async () => {
    const v1 = await open({ enginePath: "kv1", kvVersion: "1" });
    assert.deepEqual(await get(v1, "legacy"), { token: "old-school" });
    const v2 = await open({ kvVersion: "v2" });
    assert.deepEqual(await get(v2, "db"), { user: "u", password: "p" });
    const before = vault.requests.length;
    const auto = await open();
    assert.deepEqual(await get(auto, "db"), { user: "u", password: "p" });
    assert.equal(
      vault.requests.slice(before).filter((r) => r.path.startsWith("/v1/sys/internal/ui/mounts")).length,
      1,
      "asked once",
    );
    await assert.rejects(open({ kvVersion: "3" }), /invalid kvVersion 3/);
  });

  void it("a Vault that cannot say which KV version a mount is (404) is taken as KV v2, as daprd assumes", async () => {
    vault.intercept = (req) => (req.path.startsWith("sys/internal/ui/mounts") ? errors(404) : undefined);
    try {
      const s = await open();
      assert.deepEqual(await get(s, "db"), { user: "u", password: "p" });
    } finally {
      vault.intercept = undefined;
    }
  });

  void it("namespace metadata is sent as X-Vault-Namespace", async () => {
    vault.state.createNamespace("team-a");
    vault.state.mountSecrets("team-a", "secret", "kv", 2);
    vault.put("dapr/db", { password: "team-a-password" }, { namespace: "team-a" });
    const s = await open({ namespace: "team-a" });
    assert.deepEqual(await get(s, "db"), { password: "team-a-password" });
    assert.deepEqual(await s.bulkGetSecret({ metadata: {} }), { db: { password: "team-a-password" } });
    const sent = vault.requests.filter((r) => r.path === "/v1/secret/data/dapr/db").at(-1);
    assert.equal(sent?.namespace, "team-a");
    assert.equal(sent?.vaultRequestHeader, "true");
    const root = await open();
    assert.deepEqual(await get(root, "db"), { user: "u", password: "p" });
    // The per-request `namespace` metadata (daprd sends it when resolving secretKeyRef) is not a Vault namespace.
    assert.deepEqual(await get(root, "db", { namespace: "default" }), { user: "u", password: "p" });
  });

  void it("AppRole login happens inside the namespace", async () => {
    const auth = vault.state.enableAuth("team-a", "approle", "approle");
    vault.state
      .mustNamespace("team-a")
      .policies.set("reader", [{ path: "secret/data/dapr/*", capabilities: ["read"] }]);
    auth.appRoles.set("r", {
      name: "r",
      roleId: "ns-role",
      bindSecretId: false,
      secretIdTtl: 0,
      secretIdNumUses: 0,
      tokenTtl: 600,
      tokenMaxTtl: 0,
      tokenPolicies: ["reader"],
      tokenPeriod: 0,
      secretIds: new Map(),
    });
    const s = new VaultSecretStore();
    stores.push(s);
    await s.init({ vaultAddr: vault.url, namespace: "team-a", roleId: "ns-role" }, storeContext());
    assert.deepEqual(await get(s, "db"), { password: "team-a-password" });
    assert.equal(vault.requests.filter((r) => r.path === "/v1/auth/approle/login").at(-1)?.namespace, "team-a");
  });

  void it("authNamespace: log in at a parent namespace, read secrets in a child one", async () => {
    vault.state.createNamespace("team-a/apps");
    vault.state.mountSecrets("team-a/apps", "secret", "kv", 2);
    vault.put("dapr/db", { password: "apps-password" }, { namespace: "team-a/apps" });
    // Policies of the token's own namespace name child-namespace paths with the child's prefix.
    vault.state
      .mustNamespace("team-a")
      .policies.set("apps-reader", [{ path: "apps/secret/data/dapr/*", capabilities: ["read"] }]);
    const auth = vault.state.mustNamespace("team-a").auths.get("approle/");
    assert.ok(auth);
    auth.appRoles.set("apps", {
      name: "apps",
      roleId: "apps-role",
      bindSecretId: false,
      secretIdTtl: 0,
      secretIdNumUses: 0,
      tokenTtl: 600,
      tokenMaxTtl: 0,
      tokenPolicies: ["apps-reader"],
      tokenPeriod: 0,
      secretIds: new Map(),
    });
    const s = new VaultSecretStore();
    stores.push(s);
    await s.init(
      { vaultAddr: vault.url, namespace: "team-a/apps", authNamespace: "team-a", roleId: "apps-role" },
      storeContext(),
    );
    assert.deepEqual(await get(s, "db"), { password: "apps-password" });
    assert.equal(vault.requests.filter((r) => r.path === "/v1/auth/approle/login").at(-1)?.namespace, "team-a");
    assert.equal(vault.requests.filter((r) => r.path === "/v1/secret/data/dapr/db").at(-1)?.namespace, "team-a/apps");
  });

  void it("secret names with '/' are folders; bulk names carry their folder; unsafe names are refused", async () => {
    const s = await open();
    assert.deepEqual(await get(s, "team/payments/api"), { key: "k1" });
    assert.deepEqual(await get(s, "with space"), { v: "1" });
    assert.ok(vault.requests.some((r) => r.path === "/v1/secret/data/dapr/with%20space"));
    const bulk = await s.bulkGetSecret({ metadata: {} });
    assert.deepEqual(bulk["team/payments/api"], { key: "k1" });
    for (const bad of ["", "a/../db", "../db", "a//b", "/db", "db/"])
      await fails(get(s, bad), "invalid_request", /secret name|not a valid Vault path/);
  });

  void it("non-string values come back as JSON text", async () => {
    const s = await open();
    assert.deepEqual(await get(s, "typed"), { port: "5432", tls: "true", nested: '{"a":1}' });
  });

  void it("missing secret, missing version, deleted and destroyed versions are told apart", async () => {
    for (const v of ["one", "two", "three"]) vault.put("dapr/rotating", { v });
    const s = await open();
    await fails(
      get(s, "nope"),
      "not_found",
      /getSecret nope failed secret key or version not exist: no secret nope at secret\/data\/dapr\/nope/,
    );
    await fails(
      get(s, "rotating", { version_id: "9" }),
      "not_found",
      /version 9 of secret rotating does not exist \(current version is 3\)/,
    );
    await fails(get(s, "nope", { version_id: "2" }), "not_found", /no secret nope/);
    await fails(get(s, "rotating", { version_id: "x" }), "invalid_request", /version_id "x" is not a version number/);
    const mount = vault.state.mustNamespace("").mounts.get("secret/");
    const secret = mount?.v2.get("dapr/rotating");
    assert.ok(secret);
    (secret.versions.get(1) as { deletionTime: string }).deletionTime = "2026-01-01T00:00:00.000000000Z";
    Object.assign(secret.versions.get(2) as object, { destroyed: true, data: null });
    await fails(
      get(s, "rotating", { version_id: "1" }),
      "not_found",
      /version 1 of secret rotating was deleted at 2026-01-01/,
    );
    await fails(get(s, "rotating", { version_id: "2" }), "not_found", /version 2 of secret rotating was destroyed/);
    (secret.versions.get(3) as { deletionTime: string }).deletionTime = "2026-02-01T00:00:00.000000000Z";
    await fails(get(s, "rotating"), "not_found", /the latest version \(3\) of secret rotating was deleted/);
    // Bulk leaves out a secret whose latest version is deleted, as daprd does.
    assert.ok(!("rotating" in (await s.bulkGetSecret({ metadata: {} }))));
  });

  void it("a standby's 307 redirect to the active node is followed", async () => {
    const standby = await startVaultServer();
    standby.intercept = (req) => ({
      status: 307,
      headers: { Location: `${vault.url}/v1/${req.path}${req.query.size ? `?${req.query.toString()}` : ""}` },
    });
    try {
      const s = new VaultSecretStore();
      stores.push(s);
      await s.init({ vaultAddr: standby.url, vaultToken: vault.rootToken }, storeContext());
      assert.deepEqual(await get(s, "db"), { user: "u", password: "p" });
      assert.ok(standby.requests.some((r) => r.path === "/v1/secret/data/dapr/db" && r.status === 307));
    } finally {
      await standby.close();
    }
  });

  void it("permission denied, sealed, unreachable and throttled are told apart", async () => {
    vault.policy("db-reader", { "secret/data/dapr/db": ["read"] });
    const limited = await open({ vaultToken: vault.token({ policies: ["db-reader"] }).id });
    await fails(
      get(limited, "team/payments/api"),
      "permission_denied",
      /permission denied by Vault policy reading secret "team\/payments\/api"/,
    );
    await fails(
      limited.bulkGetSecret({ metadata: {} }),
      "permission_denied",
      /permission denied by Vault policy listing secrets under secret\/metadata\/dapr\//,
    );

    const s = await open();
    vault.seal();
    try {
      await fails(
        get(s, "db"),
        "unavailable",
        /Vault at http:\/\/127\.0\.0\.1:\d+ is sealed \(503\) reading secret "db"/,
      );
      await assert.rejects(s.ping(), /is sealed/);
    } finally {
      vault.unseal();
    }
    await s.ping();
    assert.deepEqual(await get(s, "db"), { user: "u", password: "p" });

    vault.intercept = (req) =>
      req.path.startsWith("secret/")
        ? errors(429, 'request path "secret/data/dapr/db": rate limit quota exceeded')
        : undefined;
    try {
      await fails(
        get(s, "db"),
        "throttled",
        /Vault rate limit exceeded \(429\) reading secret "db".*rate limit quota exceeded/,
      );
    } finally {
      vault.intercept = undefined;
    }

    await vault.stop();
    try {
      await fails(
        get(s, "db"),
        "unavailable",
        /Vault at http:\/\/127\.0\.0\.1:\d+ is unreachable reading secret "db".*ECONNREFUSED/,
      );
      await assert.rejects(s.ping(), /unreachable/);
    } finally {
      await vault.start();
    }
    assert.deepEqual(await get(s, "db"), { user: "u", password: "p" });
  });
});
