/**
 * Vault store authentication: AppRole and Kubernetes login, token lookup and renewal (tokens with real
 * TTLs expiring mid-run), re-login after a revoke (once, then report), token-file re-read, and no token
 * in any log line or error message.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { VaultSecretStore } from "../../src/stores/hashicorp/vault.js";
import { SecretStoreError, type ComponentMetadata } from "../../src/stores/types.js";
import { recordingLogger, storeContext, type RecordingLogger } from "../helpers/store-context.js";
import { startVaultServer, type VaultTestServer } from "../servers/vault/server.js";

const dir = mkdtempSync(join(tmpdir(), "keyward-vault-auth-"));
const file = (name: string, content: string) => {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
};

let vault: VaultTestServer;
const logs: RecordingLogger[] = [];
const messages: string[] = [];
const stores: VaultSecretStore[] = [];
/** Role IDs, secret IDs and JWTs handed to stores. */
const credentials: string[] = [];

async function open(metadata: ComponentMetadata): Promise<VaultSecretStore> {
  const s = new VaultSecretStore();
  const log = recordingLogger();
  logs.push(log);
  stores.push(s);
  try {
    await s.init({ vaultAddr: vault.url, ...metadata }, storeContext("vault", 10_000, log));
  } catch (err) {
    messages.push(String((err as Error).message));
    throw err;
  }
  return s;
}

async function read(s: VaultSecretStore, name = "app"): Promise<Record<string, string>> {
  try {
    return await s.getSecret({ name, metadata: {} });
  } catch (err) {
    messages.push(String((err as Error).message));
    throw err;
  }
}

function count(path: RegExp): number {
  return vault.requests.filter((r) => path.test(r.path)).length;
}

function approle(
  name: string,
  opts: { ttl?: string; maxTtl?: string; policies?: string[]; bindSecretId?: boolean; mount?: string } = {},
): { roleId: string; secretId: string } {
  const mount =
    vault.state.mustNamespace("").auths.get(`${opts.mount ?? "approle"}/`) ??
    vault.state.enableAuth("", opts.mount ?? "approle", "approle");
  const roleId = `role-${name}-${Math.random().toString(36).slice(2)}`;
  const secretId = `secret-id-${name}-${Math.random().toString(36).slice(2)}`;
  credentials.push(roleId, secretId);
  mount.appRoles.set(name, {
    name,
    roleId,
    bindSecretId: opts.bindSecretId ?? true,
    secretIdTtl: 0,
    secretIdNumUses: 0,
    tokenTtl: opts.ttl ? Number(opts.ttl) : 0,
    tokenMaxTtl: opts.maxTtl ? Number(opts.maxTtl) : 0,
    tokenPolicies: opts.policies ?? ["reader"],
    tokenPeriod: 0,
    secretIds: new Map([[secretId, { accessor: `acc-${name}`, expireAt: null, usesLeft: null, metadata: {} }]]),
  });
  return { roleId, secretId };
}

/** The token the server issued last through a login. */
function lastLoginToken(): string {
  const t = [...vault.state.tokens.values()]
    .filter((x) => x.path.endsWith("/login"))
    .sort((a, b) => a.createdAt - b.createdAt)
    .at(-1);
  assert.ok(t, "a login token exists");
  return t.id;
}

void describe("hashicorp.vault authentication and token lifecycle", () => {
  before(async () => {
    vault = await startVaultServer({ rootToken: `hvs.ROOT-canary-${process.pid}-${Date.now()}` });
    vault.put("dapr/app", { password: "app-secret-value" });
    vault.put("dapr/other", { x: "y" });
    vault.policy("reader", { "secret/data/dapr/app": ["read"], "secret/metadata/dapr/*": ["list", "read"] });
  });
  // Each test's stores stop their timers, so one test's renewals and logins do not show up in the next one's counts.
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
  });
  after(async () => {
    await vault.close();
    // Every token the server ever issued (root, created, logged in, revoked) is absent from logs and messages.
    const lines = [...logs.flatMap((l) => l.lines), ...messages];
    assert.ok(lines.length > 10);
    for (const t of vault.state.issued)
      for (const line of lines) assert.ok(!line.includes(t), `token leaked into: ${line}`);
    for (const c of credentials)
      for (const line of lines) assert.ok(!line.includes(c), `credential leaked into: ${line}`);
  });

  void it("looks the token up at init and renews a renewable token that expires mid-run while requests keep succeeding", async () => {
    const t = vault.token({ policies: ["reader"], ttl: 3, maxTtl: 120, renewable: true });
    const s = await open({ vaultToken: t.id });
    assert.ok(
      vault.requests.some((r) => r.path === "/v1/auth/token/lookup-self" && r.token === t.id),
      "lookup-self at init",
    );
    const started = Date.now();
    let ok = 0;
    // Bounded: ~7 s of requests, more than twice the token's 3 s TTL.
    for (let i = 0; i < 45; i++) {
      assert.deepEqual(await read(s), { password: "app-secret-value" });
      ok++;
      await sleep(150);
    }
    assert.ok(Date.now() - started > 6000);
    assert.equal(ok, 45);
    assert.ok(count(/renew-self/) >= 2, `renewed ${count(/renew-self/)} times`);
    assert.ok(vault.state.liveToken(t.id), "the token is still alive");
  });

  void it("AppRole: logs in with roleId + secretId, re-logs in when the token hits its max TTL, requests keep succeeding", async () => {
    const { roleId, secretId } = approle("short", { ttl: "3", maxTtl: "5" });
    const before = count(/auth\/approle\/login/);
    const firstRead = vault.requests.length;
    const s = await open({ roleId, secretId });
    for (let i = 0; i < 55; i++) {
      assert.deepEqual(await read(s), { password: "app-secret-value" });
      await sleep(100);
    }
    assert.ok(count(/auth\/approle\/login/) - before >= 2, `logins: ${count(/auth\/approle\/login/) - before}`);
    assert.ok(
      vault.requests.slice(firstRead).some((r) => r.path === "/v1/auth/token/renew-self" && r.status === 200),
      "renewed before the max TTL",
    );
    // Renewed and replaced ahead of time: no read ever met an expired token.
    assert.deepEqual(
      vault.requests.slice(firstRead).filter((r) => r.path === "/v1/secret/data/dapr/app" && r.status !== 200),
      [],
    );
  });

  void it("AppRole: secret ID from a file, a custom mount path, and a role without secret ID", async () => {
    const { roleId, secretId } = approle("filed", { mount: "team-approle" });
    const s = await open({ roleId, secretIdFile: file("secret-id", `${secretId}\n`), authMountPath: "team-approle" });
    assert.deepEqual(await read(s), { password: "app-secret-value" });
    assert.ok(vault.requests.some((r) => r.path === "/v1/auth/team-approle/login"));
    const open2 = approle("nosecret", { bindSecretId: false });
    const s2 = await open({ authMethod: "approle", roleIdFile: file("role-id", open2.roleId) });
    assert.deepEqual(await read(s2), { password: "app-secret-value" });
  });

  void it("AppRole: wrong credentials fail init with Vault's reason and no credential in the message", async () => {
    const { roleId } = approle("wrong");
    await assert.rejects(open({ roleId, secretId: "secret-id-not-the-right-one" }), (err: unknown) => {
      assert.ok(err instanceof SecretStoreError);
      assert.equal(err.kind, "bad_credentials");
      assert.match(err.message, /Vault refused the AppRole login at auth\/approle \(400\): invalid role or secret ID/);
      assert.ok(!err.message.includes("secret-id-not-the-right-one") && !err.message.includes(roleId));
      return true;
    });
  });

  void it("a revoked token (403) makes the store log in again once and retry", async () => {
    const { roleId, secretId } = approle("revoked");
    const s = await open({ roleId, secretId });
    assert.deepEqual(await read(s), { password: "app-secret-value" });
    vault.state.revokeToken(lastLoginToken());
    const before = count(/auth\/approle\/login/);
    const all = await Promise.all(Array.from({ length: 5 }, () => read(s)));
    for (const r of all) assert.deepEqual(r, { password: "app-secret-value" });
    assert.equal(count(/auth\/approle\/login/) - before, 1, "one login shared by concurrent requests");
  });

  void it("a renewal that Vault refuses makes the store log in again on its own, before any request fails", async () => {
    const { roleId, secretId } = approle("renew-refused", { ttl: "2" });
    const s = await open({ roleId, secretId });
    const before = count(/auth\/approle\/login/);
    vault.state.revokeToken(lastLoginToken());
    // Renewal is due at two thirds of the 2 s TTL; bounded wait for the refused renewal and the new login.
    for (let i = 0; i < 40 && count(/auth\/approle\/login/) === before; i++) await sleep(100);
    assert.equal(count(/auth\/approle\/login/) - before, 1);
    assert.ok(
      vault.requests.some((r) => r.path === "/v1/auth/token/renew-self" && r.status === 403),
      "the renewal was refused",
    );
    const reads = vault.requests.length;
    assert.deepEqual(await read(s), { password: "app-secret-value" });
    // On a loaded machine the read can leave before the new login's answer has reached the store; it may then
    // meet the revoked token once, but must succeed on the token of that same login, without another one.
    const statuses = vault.requests.slice(reads).map((r) => r.status);
    assert.ok(
      statuses.length === 1 ? statuses[0] === 200 : statuses.join() === "403,200",
      `the read went through with the new token (${statuses.join()})`,
    );
    assert.equal(count(/auth\/approle\/login/) - before, 1, "no second login");
  });

  void it("when logging in again fails too, the store reports it after one attempt", async () => {
    const { roleId, secretId } = approle("doomed");
    const s = await open({ roleId, secretId });
    assert.deepEqual(await read(s), { password: "app-secret-value" });
    vault.state.mustNamespace("").auths.get("approle/")?.appRoles.get("doomed")?.secretIds.clear();
    vault.state.revokeToken(lastLoginToken());
    const before = count(/auth\/approle\/login/);
    await assert.rejects(read(s), (err: unknown) => {
      assert.ok(err instanceof SecretStoreError);
      assert.equal(err.kind, "bad_credentials");
      assert.match(
        err.message,
        /Vault rejected the token reading secret "app" .*invalid, expired or revoked.*logging in again failed: Vault refused the AppRole login .*invalid role or secret ID/,
      );
      return true;
    });
    assert.equal(count(/auth\/approle\/login/) - before, 1, "exactly one login attempt");
  });

  void it("a policy that denies a path is reported as permission denied, without logging in again", async () => {
    const { roleId, secretId } = approle("limited");
    const s = await open({ roleId, secretId });
    const before = count(/auth\/approle\/login/);
    await assert.rejects(read(s, "other"), (err: unknown) => {
      assert.ok(err instanceof SecretStoreError);
      assert.equal(err.kind, "permission_denied");
      assert.match(
        err.message,
        /permission denied by Vault policy reading secret "other" at secret\/data\/dapr\/other \(403: permission denied\)/,
      );
      return true;
    });
    assert.equal(count(/auth\/approle\/login/), before);
  });

  void it("Kubernetes: service-account JWT file and role, custom mount path; an unbound account is refused", async () => {
    const k8s = vault.state.enableAuth("", "k8s-prod", "kubernetes");
    k8s.kubeRoles.set("app", {
      name: "app",
      boundNames: ["app-sa"],
      boundNamespaces: ["default"],
      tokenTtl: 3600,
      tokenMaxTtl: 0,
      tokenPolicies: ["reader"],
      audience: "",
    });
    const jwtText = vault.serviceAccountJwt("app-sa", "default");
    credentials.push(jwtText);
    const jwt = file("sa-token", jwtText);
    const s = await open({
      authMethod: "kubernetes",
      kubernetesRole: "app",
      kubernetesTokenPath: jwt,
      authMountPath: "k8s-prod",
    });
    assert.deepEqual(await read(s), { password: "app-secret-value" });
    assert.ok(vault.requests.some((r) => r.path === "/v1/auth/k8s-prod/login"));
    const other = file("sa-other", vault.serviceAccountJwt("intruder", "default"));
    await assert.rejects(
      open({ kubernetesRole: "app", kubernetesTokenPath: other, kubernetesMountPath: "k8s-prod" }),
      /Vault refused the Kubernetes login at auth\/k8s-prod \(role app\) \(403\): service account name not authorized/,
    );
    await assert.rejects(
      open({ authMethod: "kubernetes", kubernetesTokenPath: jwt }),
      /Kubernetes login needs kubernetesRole/,
    );
  });

  void it("a token file is re-read when it changes, and on a 403", async () => {
    const a = vault.token({ policies: ["reader"], ttl: 600 });
    const b = vault.token({ policies: ["reader"], ttl: 600 });
    const c = vault.token({ policies: ["reader"], ttl: 600 });
    const tokenFile = file("vault-token", a.id);
    const s = await open({ vaultTokenMountPath: tokenFile, tokenFileCheckInterval: "50ms" });
    assert.deepEqual(await read(s), { password: "app-secret-value" });
    // Rotated on disk (as Vault Agent does): picked up at the next request after the check interval.
    writeFileSync(tokenFile, `${b.id}\n`);
    await sleep(120);
    assert.deepEqual(await read(s), { password: "app-secret-value" });
    assert.equal(vault.requests.filter((r) => r.path === "/v1/secret/data/dapr/app").at(-1)?.token, b.id);
    // Rotated and the old one revoked at once: the 403 makes the store read the file again.
    const slow = await open({ vaultTokenMountPath: tokenFile, tokenFileCheckInterval: "1h" });
    writeFileSync(tokenFile, c.id);
    vault.state.revokeToken(b.id);
    assert.deepEqual(await read(slow), { password: "app-secret-value" });
    assert.equal(vault.requests.filter((r) => r.path === "/v1/secret/data/dapr/app").at(-1)?.token, c.id);
  });

  void it("a revoked static token is reported as invalid, expired or revoked", async () => {
    const t = vault.token({ policies: ["reader"], ttl: 600 });
    const s = await open({ vaultToken: t.id });
    vault.state.revokeToken(t.id);
    await assert.rejects(read(s), (err: unknown) => {
      assert.ok(err instanceof SecretStoreError);
      assert.equal(err.kind, "bad_credentials");
      assert.match(err.message, /invalid, expired or revoked.*set a valid vaultToken/);
      return true;
    });
  });

  void it("close() cancels the renewal timer", async () => {
    const kept = vault.token({ policies: ["reader"], ttl: 2, renewable: true });
    const closed = vault.token({ policies: ["reader"], ttl: 2, renewable: true });
    await open({ vaultToken: kept.id });
    const s = await open({ vaultToken: closed.id });
    await s.close();
    await sleep(1600);
    const renewals = (id: string) =>
      vault.requests.filter((r) => r.path === "/v1/auth/token/renew-self" && r.token === id).length;
    assert.ok(renewals(kept.id) >= 1, "the open store renewed its token");
    assert.equal(renewals(closed.id), 0, "the closed store did not");
  });

  void it("a login-based store initialises while Vault is down and logs in on first use", async () => {
    const { roleId, secretId } = approle("late");
    await vault.stop();
    let s: VaultSecretStore;
    try {
      s = await open({ roleId, secretId });
      await assert.rejects(read(s), /unreachable/);
    } finally {
      await vault.start();
    }
    assert.deepEqual(await read(s), { password: "app-secret-value" });
  });

  void it("configuration errors name the problem", async () => {
    await assert.rejects(open({ vaultToken: "x", roleId: "r" }), /authMethod approle does not take vaultToken/);
    await assert.rejects(
      open({ authMethod: "token", vaultToken: "x", roleId: "r" }),
      /authMethod token does not take roleId/,
    );
    await assert.rejects(open({ authMethod: "approle", secretId: "s" }), /AppRole login needs roleId/);
    await assert.rejects(
      open({ roleId: "r", secretId: "s", secretIdFile: "/x" }),
      /secretId and secretIdFile both set/,
    );
    await assert.rejects(open({ authMethod: "ldap", vaultToken: "x" }), /invalid authMethod ldap/);
    await assert.rejects(
      open({ roleId: "r", secretIdFile: join(dir, "missing") }),
      /couldn't read AppRole secret ID from .*missing: ENOENT/,
    );
  });
});
