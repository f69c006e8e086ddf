/**
 * End to end: the answer cache of a Vault component, through `bin/keyward serve` against the Vault test
 * server, over HTTP and gRPC. Counts the reads Vault receives: N concurrent cold reads make one, reads within
 * the TTL none, `refresh_cache` and expiry one each; a stopped Vault is answered from the last good answer
 * within cacheStaleIfError; a secret the scopes deny stays denied though a cached bulk answer holds it.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { grpcSecretsClient, httpSecretsClient, type SecretsClient } from "../helpers/clients.js";
import { scopesConfig } from "../helpers/denied-names.js";
import { componentYaml, runKeyward, startSidecar, type Sidecar } from "../helpers/sidecar.js";
import { startVaultServer, type VaultTestServer } from "../servers/vault/server.js";

const CANARY = `cache-e2e-${process.pid}-${Date.now()}`;
let vault: VaultTestServer;
let sidecar: Sidecar;
let clients: SecretsClient[];
const values: string[] = [];

/** A unique value, remembered so the test can check none reaches logs or metrics. */
function value(label: string): string {
  const v = `${label}-${CANARY}`;
  values.push(v);
  return v;
}

/** Reads Vault received under a KV prefix (its data and metadata endpoints). */
const vaultReads = (prefix: string) => vault.requests.filter((r) => r.path.includes(`/${prefix}/`)).length;

async function expectValue(client: SecretsClient, store: string, key: string, expected: string, md = {}) {
  const o = await client.get(store, key, md);
  assert.ok(o.ok, `${client.transport} ${store}/${key}: ${JSON.stringify(o)}`);
  assert.deepEqual(o.data, { v: expected }, `${client.transport} ${store}/${key}`);
}

before(async () => {
  vault = await startVaultServer({ rootToken: `hvs.root-${CANARY}` });
  vault.put("long/db", { v: value("db-1") });
  vault.put("long/denied", { v: value("denied") });
  vault.put("short/api", { v: value("api-1") });
  const base = { vaultAddr: vault.url, vaultToken: vault.rootToken };
  sidecar = await startSidecar({
    components: {
      "long.yaml": componentYaml("long", "secretstores.hashicorp.vault", {
        ...base,
        vaultKVPrefix: "long",
        cacheTTL: "1h",
      }),
      "short.yaml": componentYaml("short", "secretstores.hashicorp.vault", {
        ...base,
        vaultKVPrefix: "short",
        cacheTTL: "300ms",
        cacheStaleIfError: "1h",
      }),
      "plain.yaml": componentYaml("plain", "secretstores.hashicorp.vault", { ...base, vaultKVPrefix: "long" }),
    },
    config: scopesConfig([{ storeName: "long", deniedSecrets: ["denied"] }]),
  });
  clients = [httpSecretsClient(sidecar.httpUrl), grpcSecretsClient(sidecar.grpcAddress)];
});

after(async () => {
  for (const c of clients ?? []) c.close();
  if (sidecar) {
    const output = sidecar.output();
    assert.equal(await sidecar.stop(), 0, output);
    for (const v of values) assert.ok(!output.includes(v), "a secret value reached the log");
  }
  await vault?.close();
});

describe("cache of a Vault component", () => {
  it("concurrent cold reads over both transports make one Vault read; reads within the TTL none", async () => {
    const before = vaultReads("long");
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => expectValue(clients[i % 2]!, "long", "db", "db-1-" + CANARY)),
    );
    assert.equal(vaultReads("long") - before, 1);
    for (let i = 0; i < 20; i++) await expectValue(clients[i % 2]!, "long", "db", "db-1-" + CANARY);
    assert.equal(vaultReads("long") - before, 1);
  });

  it("a changed secret is seen after refresh_cache (HTTP query or gRPC metadata), with one read each", async () => {
    await expectValue(clients[0]!, "long", "db", "db-1-" + CANARY);
    vault.put("long/db", { v: value("db-2") });
    await expectValue(clients[1]!, "long", "db", "db-1-" + CANARY);
    for (const [i, c] of clients.entries()) {
      const next = value(`db-${3 + i}`);
      vault.put("long/db", { v: next });
      const before = vaultReads("long");
      await expectValue(c, "long", "db", next, { refresh_cache: "true" });
      assert.equal(vaultReads("long") - before, 1, c.transport);
      await expectValue(clients[1 - i]!, "long", "db", next);
      assert.equal(vaultReads("long") - before, 1, c.transport);
    }
  });

  it("without cacheTTL every read asks Vault", async () => {
    const before = vaultReads("long");
    for (const c of clients) await c.get("plain", "db");
    assert.equal(vaultReads("long") - before, 2);
  });

  it("after the TTL one read asks Vault again", async () => {
    await expectValue(clients[0]!, "short", "api", "api-1-" + CANARY);
    const before = vaultReads("short");
    await new Promise((r) => setTimeout(r, 400));
    await expectValue(clients[1]!, "short", "api", "api-1-" + CANARY);
    await expectValue(clients[0]!, "short", "api", "api-1-" + CANARY);
    assert.equal(vaultReads("short") - before, 1);
  });

  it("scopes are checked before the cache: a denied secret in a cached bulk answer stays denied", async () => {
    for (const c of clients) {
      const bulk = await c.bulk("long");
      assert.ok(bulk.ok, JSON.stringify(bulk));
      assert.deepEqual(Object.keys(bulk.data ?? {}), ["db"], c.transport);
    }
    const before = vaultReads("long");
    for (const c of clients) {
      const denied = await c.get("long", "denied");
      assert.ok(!denied.ok && (denied.httpStatus === 403 || denied.grpcCode === 7), JSON.stringify(denied));
      assert.equal((await c.bulk("long")).ok, true);
    }
    assert.equal(vaultReads("long") - before, 0, "the cached bulk answer was served without Vault");
  });

  it("while Vault is down the last good answer is served within cacheStaleIfError, and logged", async () => {
    await expectValue(clients[0]!, "short", "api", "api-1-" + CANARY);
    await vault.stop();
    try {
      await new Promise((r) => setTimeout(r, 400));
      for (const c of clients) await expectValue(c, "short", "api", "api-1-" + CANARY);
      for (const c of clients) {
        const never = await c.get("short", "never-read");
        assert.equal(never.ok, false, `${c.transport}: a secret never cached cannot be served stale`);
      }
      assert.match(sidecar.output(), /cache served its last good answer.*cacheStaleIfError/);
    } finally {
      await vault.start();
    }
    await new Promise((r) => setTimeout(r, 400));
    vault.put("short/api", { v: value("api-2") });
    await expectValue(clients[1]!, "short", "api", "api-2-" + CANARY);
  });

  it("metrics count hits, misses, stale answers and store calls per component, with no secret names", async () => {
    const text = await (await fetch(`http://127.0.0.1:${sidecar.metricsPort}/metrics`)).text();
    const metric = (name: string, component: string) => {
      const m = new RegExp(`^${name}\\{component="${component}"\\} (\\d+)$`, "m").exec(text);
      assert.ok(m, `${name}{component="${component}"} missing`);
      return Number(m[1]);
    };
    assert.ok(metric("keyward_secret_cache_hits_total", "long") >= 20);
    assert.ok(metric("keyward_secret_cache_misses_total", "long") >= 20);
    assert.ok(metric("keyward_secret_cache_store_calls_total", "long") >= 4);
    assert.ok(metric("keyward_secret_cache_stale_total", "short") >= 2);
    assert.equal(metric("keyward_secret_cache_evictions_total", "long"), 0);
    assert.doesNotMatch(text, /keyward_secret_cache_\w+\{component="plain"/);
    for (const word of ["db", "denied", "api", ...values])
      assert.doesNotMatch(text, new RegExp(`keyward_secret_cache.*"${word}"`));
  });
});

describe("cache metadata", () => {
  it("a cacheTTL that is not a duration stops start-up with a message naming it", async () => {
    const { code, output } = await runKeyward({
      components: {
        "bad.yaml": componentYaml("bad", "secretstores.local.env", { cacheTTL: "forever" }),
      },
    });
    assert.notEqual(code, 0);
    assert.match(output, /component bad.*metadata cacheTTL: \\?"forever\\?" is not a duration/);
  });
});
