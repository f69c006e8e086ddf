/**
 * Fidelity of the Vault test server: the npm Vault client `node-vault` is pointed at it and uses Vault's
 * documented API (KV v1/v2 with versions, the LIST method, sys/mounts, policies, token TTLs,
 * AppRole and Kubernetes login, namespaces, sealing, HTTPS, restart).
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { makeTestTls } from "../helpers/tls.js";
import { startVaultServer, type VaultTestServer } from "./vault/server.js";

interface ApiError extends Error {
  response: { statusCode: number; body: { errors?: string[]; data?: unknown } };
}
// node-vault's client is a bag of generated methods; typing each one here would add nothing.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Client = any;
const nodeVault = createRequire(import.meta.url)("node-vault") as (opts: Record<string, unknown>) => Client;

async function apiError(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    assert.ok((err as ApiError).response, `not an API error: ${String(err)}`);
    return err as ApiError;
  }
  assert.fail("expected the request to fail");
}

void describe("Vault test server, through node-vault", () => {
  let vault: VaultTestServer;
  let root: Client;
  // node-vault replaces a client's token with any token it creates, so each creation gets its own client.
  const admin = (): Client => nodeVault({ endpoint: vault.url, token: vault.rootToken });
  before(async () => {
    vault = await startVaultServer();
    root = nodeVault({ endpoint: vault.url, token: vault.rootToken });
  });
  after(() => vault.close());

  void it("health, seal status, sealing (503 'Vault is sealed') and unsealing", async () => {
    const health = (await root.health()) as { initialized: boolean; sealed: boolean; version: string };
    assert.equal(health.sealed, false);
    assert.equal(health.initialized, true);
    assert.equal(((await root.status()) as { sealed: boolean }).sealed, false);
    await root.seal();
    const err = await apiError(root.read("secret/data/anything"));
    assert.equal(err.response.statusCode, 503);
    assert.deepEqual(err.response.body, { errors: ["Vault is sealed"] });
    assert.equal(((await root.health()) as { sealed: boolean }).sealed, true);
    const status = (await root.unseal({ key: vault.state.unsealKey })) as { sealed: boolean };
    assert.equal(status.sealed, false);
  });

  void it("KV v2: versions, soft delete, undelete, destroy, metadata, LIST", async () => {
    const w1 = (await root.write("secret/data/app/db", { data: { password: "one" } })) as { data: { version: number } };
    assert.equal(w1.data.version, 1);
    await root.write("secret/data/app/db", { data: { password: "two" } });
    await root.write("secret/data/app/nested/x", { data: { k: "v" } });
    const latest = (await root.read("secret/data/app/db")) as {
      data: { data: Record<string, string>; metadata: { version: number; destroyed: boolean } };
    };
    assert.deepEqual(latest.data.data, { password: "two" });
    assert.equal(latest.data.metadata.version, 2);
    const v1 = (await root.read("secret/data/app/db?version=1")) as { data: { data: Record<string, string> } };
    assert.deepEqual(v1.data.data, { password: "one" });
    assert.equal((await apiError(root.read("secret/data/app/db?version=7"))).response.statusCode, 404);

    const listed = (await root.list("secret/metadata/app")) as { data: { keys: string[] } };
    assert.deepEqual(listed.data.keys, ["db", "nested/"]);
    const viaGet = nodeVault({ endpoint: vault.url, token: vault.rootToken, noCustomHTTPVerbs: true });
    assert.deepEqual(((await viaGet.list("secret/metadata/app/nested")) as { data: { keys: string[] } }).data.keys, [
      "x",
    ]);
    const empty = await apiError(root.list("secret/metadata/nothing-here"));
    assert.equal(empty.response.statusCode, 404);
    assert.deepEqual(empty.response.body, { errors: [] });

    await root.delete("secret/data/app/db");
    const deleted = await apiError(root.read("secret/data/app/db"));
    assert.equal(deleted.response.statusCode, 404);
    const body = deleted.response.body.data as { data: null; metadata: { deletion_time: string; version: number } };
    assert.equal(body.data, null);
    assert.equal(body.metadata.version, 2);
    assert.notEqual(body.metadata.deletion_time, "");
    await root.write("secret/undelete/app/db", { versions: [2] });
    assert.deepEqual(((await root.read("secret/data/app/db")) as { data: { data: unknown } }).data.data, {
      password: "two",
    });
    await root.write("secret/destroy/app/db", { versions: [1] });
    const destroyed = await apiError(root.read("secret/data/app/db?version=1"));
    assert.equal((destroyed.response.body.data as { metadata: { destroyed: boolean } }).metadata.destroyed, true);
    const meta = (await root.read("secret/metadata/app/db")) as {
      data: { current_version: number; versions: Record<string, { destroyed: boolean }> };
    };
    assert.equal(meta.data.current_version, 2);
    assert.equal(meta.data.versions["1"]?.destroyed, true);
    await root.delete("secret/metadata/app/db");
    assert.deepEqual((await apiError(root.read("secret/data/app/db"))).response.body, { errors: [] });
  });

  void it("KV v1 mounts through sys/mounts; sys/mounts and sys/internal/ui/mounts report versions", async () => {
    await root.mount({ mount_point: "legacy", type: "kv", options: { version: "1" } });
    await root.mount({ mount_point: "kv2", type: "kv-v2" });
    const dup = await apiError(root.mount({ mount_point: "legacy", type: "kv" }));
    assert.equal(dup.response.statusCode, 400);
    assert.match(dup.response.body.errors?.[0] ?? "", /path is already in use at legacy\//);
    await root.write("legacy/team/a", { user: "u" });
    const read = (await root.read("legacy/team/a")) as { data: Record<string, string>; lease_duration: number };
    assert.deepEqual(read.data, { user: "u" });
    assert.ok(read.lease_duration > 0);
    assert.deepEqual(((await root.list("legacy/team")) as { data: { keys: string[] } }).data.keys, ["a"]);
    const mounts = (await root.mounts()) as {
      data: Record<string, { type: string; options: { version: string } | null }>;
    };
    assert.equal(mounts.data["secret/"]?.options?.version, "2");
    assert.equal(mounts.data["legacy/"]?.options?.version, "1");
    assert.equal(mounts.data["kv2/"]?.options?.version, "2");
    const ui = (await root.read("sys/internal/ui/mounts/legacy/team")) as {
      data: { path: string; type: string; options: { version: string } };
    };
    assert.deepEqual([ui.data.path, ui.data.type, ui.data.options.version], ["legacy/", "kv", "1"]);
    const v2wrong = await apiError(root.read("secret/app/nested/x"));
    assert.equal(v2wrong.response.statusCode, 404);
    const noRoute = await apiError(root.read("nomount/x"));
    assert.match(noRoute.response.body.errors?.[0] ?? "", /no handler for route "nomount\/x"/);
  });

  void it("policies decide; a denied request is 403 permission denied", async () => {
    await root.addPolicy({
      name: "app-read",
      rules:
        'path "secret/data/app/*" {\n  capabilities = ["read"]\n}\npath "secret/metadata/app/*" { capabilities = ["list"] }',
    });
    const policy = (await root.getPolicy({ name: "app-read" })) as { rules: string };
    assert.match(policy.rules, /secret\/data\/app\/\*/);
    const created = (await admin().tokenCreate({ policies: ["app-read"], ttl: "1h" })) as {
      auth: { client_token: string; policies: string[]; lease_duration: number };
    };
    assert.deepEqual(created.auth.policies, ["app-read", "default"]);
    assert.equal(created.auth.lease_duration, 3600);
    const app = nodeVault({ endpoint: vault.url, token: created.auth.client_token });
    assert.deepEqual(((await app.read("secret/data/app/nested/x")) as { data: { data: unknown } }).data.data, {
      k: "v",
    });
    const denied = await apiError(app.write("secret/data/app/nested/x", { data: { k: "w" } }));
    assert.equal(denied.response.statusCode, 403);
    assert.deepEqual(denied.response.body, { errors: ["permission denied"] });
    const preflight = await apiError(app.read("sys/internal/ui/mounts/legacy"));
    assert.match(preflight.response.body.errors?.[0] ?? "", /preflight capability check returned 403/);
    assert.equal(
      (await apiError(nodeVault({ endpoint: vault.url, token: "hvs.unknown" }).read("secret/data/app/nested/x")))
        .response.statusCode,
      403,
    );
  });

  void it("token TTLs really expire; renew-self extends them up to the max TTL; revoke-self ends them", async () => {
    const created = (await admin().tokenCreate({ policies: ["app-read"], ttl: "1s", explicit_max_ttl: "2s" })) as {
      auth: { client_token: string };
    };
    const t = nodeVault({ endpoint: vault.url, token: created.auth.client_token });
    const looked = (await t.tokenLookupSelf()) as {
      data: { ttl: number; renewable: boolean; creation_ttl: number; expire_time: string };
    };
    assert.equal(looked.data.renewable, true);
    assert.equal(looked.data.creation_ttl, 1);
    assert.ok(looked.data.ttl <= 1);
    const renewed = (await t.tokenRenewSelf({ increment: "5s" })) as {
      auth: { lease_duration: number };
      warnings: string[];
    };
    assert.ok(renewed.auth.lease_duration <= 2);
    assert.match(renewed.warnings[0] ?? "", /exceeded the effective max_ttl/);
    await sleep(2100);
    assert.equal((await apiError(t.tokenLookupSelf())).response.statusCode, 403);

    const other = (await admin().tokenCreate({ policies: ["app-read"] })) as { auth: { client_token: string } };
    const o = nodeVault({ endpoint: vault.url, token: other.auth.client_token });
    await o.tokenRevokeSelf();
    assert.equal((await apiError(o.tokenLookupSelf())).response.statusCode, 403);
    const fixed = (await admin().tokenCreate({ policies: ["app-read"], renewable: false })) as {
      auth: { client_token: string };
    };
    const f = nodeVault({ endpoint: vault.url, token: fixed.auth.client_token });
    assert.deepEqual((await apiError(f.tokenRenewSelf())).response.body, { errors: ["lease is not renewable"] });
  });

  void it("node-vault's own renewal manager keeps a short token alive past its TTL", async () => {
    const created = (await admin().tokenCreate({ policies: ["app-read"], ttl: "2s" })) as {
      auth: { client_token: string };
    };
    const t = nodeVault({ endpoint: vault.url, token: created.auth.client_token });
    let renewed = 0;
    t.on("token:renewed", () => renewed++);
    await t.startTokenRenewal({ renewFraction: 0.5 });
    try {
      await sleep(3200);
      assert.ok(renewed >= 2, `renewed ${renewed} times`);
      assert.ok(((await t.tokenLookupSelf()) as { data: { ttl: number } }).data.ttl >= 1);
    } finally {
      t.stopTokenRenewal();
    }
  });

  void it("AppRole: enable, role, role-id, secret-id, login; a wrong secret is 400", async () => {
    await root.enableAuth({ mount_point: "approle", type: "approle" });
    await root.addApproleRole({ role_name: "svc", policies: "app-read", token_ttl: 600 });
    const roleId = ((await root.getApproleRoleId({ role_name: "svc" })) as { data: { role_id: string } }).data.role_id;
    const secretId = ((await root.getApproleRoleSecret({ role_name: "svc" })) as { data: { secret_id: string } }).data
      .secret_id;
    const client = nodeVault({ endpoint: vault.url });
    const login = (await client.approleLogin({ role_id: roleId, secret_id: secretId })) as {
      auth: { client_token: string; lease_duration: number; policies: string[]; metadata: { role_name: string } };
    };
    assert.equal(login.auth.lease_duration, 600);
    assert.deepEqual(login.auth.policies, ["app-read", "default"]);
    assert.equal(login.auth.metadata.role_name, "svc");
    assert.deepEqual(((await client.read("secret/data/app/nested/x")) as { data: { data: unknown } }).data.data, {
      k: "v",
    });
    const bad = await apiError(nodeVault({ endpoint: vault.url }).approleLogin({ role_id: roleId, secret_id: "nope" }));
    assert.equal(bad.response.statusCode, 400);
    assert.deepEqual(bad.response.body, { errors: ["invalid role or secret ID"] });
  });

  void it("Kubernetes: enable, config, role, login with a service-account JWT; unbound accounts are refused", async () => {
    await root.enableAuth({ mount_point: "kubernetes", type: "kubernetes" });
    await root.write("auth/kubernetes/config", { kubernetes_host: "https://kubernetes.default.svc" });
    await root.write("auth/kubernetes/role/web", {
      bound_service_account_names: ["web"],
      bound_service_account_namespaces: ["prod"],
      policies: ["app-read"],
      ttl: 300,
    });
    const client = nodeVault({ endpoint: vault.url });
    const login = (await client.kubernetesLogin({
      mount_point: "kubernetes",
      role: "web",
      jwt: vault.serviceAccountJwt("web", "prod"),
    })) as { auth: { lease_duration: number; metadata: Record<string, string> } };
    assert.equal(login.auth.lease_duration, 300);
    assert.equal(login.auth.metadata.service_account_namespace, "prod");
    assert.deepEqual(((await client.read("secret/data/app/nested/x")) as { data: { data: unknown } }).data.data, {
      k: "v",
    });
    const wrongNs = await apiError(
      nodeVault({ endpoint: vault.url }).kubernetesLogin({
        mount_point: "kubernetes",
        role: "web",
        jwt: vault.serviceAccountJwt("web", "dev"),
      }),
    );
    assert.deepEqual(
      [wrongNs.response.statusCode, wrongNs.response.body.errors?.[0]],
      [403, "namespace not authorized"],
    );
    const forged = await apiError(
      nodeVault({ endpoint: vault.url }).kubernetesLogin({
        mount_point: "kubernetes",
        role: "web",
        jwt: "eyJhbGciOiJIUzI1NiJ9.e30.bad",
      }),
    );
    assert.equal(forged.response.statusCode, 403);
    const noRole = await apiError(
      nodeVault({ endpoint: vault.url }).kubernetesLogin({ mount_point: "kubernetes", role: "nope", jwt: "x" }),
    );
    assert.deepEqual(noRole.response.body, { errors: ['invalid role name "nope"'] });
  });

  void it("namespaces: X-Vault-Namespace scopes mounts and data", async () => {
    await root.write("sys/namespaces/team-a", {});
    const ns = nodeVault({ endpoint: vault.url, token: vault.rootToken, namespace: "team-a" });
    await ns.mount({ mount_point: "secret", type: "kv", options: { version: "2" } });
    await ns.write("secret/data/db", { data: { password: "ns-only" } });
    assert.deepEqual(((await ns.read("secret/data/db")) as { data: { data: unknown } }).data.data, {
      password: "ns-only",
    });
    assert.equal((await apiError(root.read("secret/data/db"))).response.statusCode, 404);
    assert.ok(vault.requests.some((r) => r.namespace === "team-a" && r.path === "/v1/secret/data/db"));
    const unknown = nodeVault({ endpoint: vault.url, token: vault.rootToken, namespace: "nope" });
    assert.equal((await apiError(unknown.read("secret/data/db"))).response.statusCode, 403);
  });

  void it("stops and restarts on the same port with its data", async () => {
    const port = vault.port;
    await vault.stop();
    await assert.rejects(root.read("secret/data/app/nested/x"), /ECONNREFUSED|socket hang up|ECONNRESET/);
    await vault.start();
    assert.equal(vault.port, port);
    assert.deepEqual(((await root.read("secret/data/app/nested/x")) as { data: { data: unknown } }).data.data, {
      k: "v",
    });
  });

  void it("serves HTTPS with a CA made in the test", async () => {
    const tls = makeTestTls();
    const secure = await startVaultServer({ tls: { cert: tls.cert, key: tls.key } });
    try {
      assert.match(secure.url, /^https:/);
      const client = nodeVault({ endpoint: secure.url, token: secure.rootToken, requestOptions: { ca: tls.ca } });
      await client.write("secret/data/x", { data: { a: "b" } });
      assert.deepEqual(((await client.read("secret/data/x")) as { data: { data: unknown } }).data.data, { a: "b" });
      assert.deepEqual(((await client.list("secret/metadata")) as { data: { keys: string[] } }).data.keys, ["x"]);
      await assert.rejects(
        nodeVault({ endpoint: secure.url, token: secure.rootToken }).read("secret/data/x"),
        /self-signed|certificate/,
      );
    } finally {
      await secure.close();
    }
  });
});
