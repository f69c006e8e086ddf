/**
 * The answer cache's end-to-end cases for any store, run against its test server through `bin/keyward serve`
 * over HTTP and gRPC. Two components read the backend: "long" (cacheTTL 1h, its scope denies `denied`) and
 * "short" (cacheTTL 300ms, cacheStaleIfError 1h); "plain" has no cache. The backend counts reads per name.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { grpcSecretsClient, httpSecretsClient, type SecretsClient } from "./clients.js";
import { scopesConfig } from "./denied-names.js";
import { componentYaml, startSidecar, type Sidecar } from "./sidecar.js";

export interface CacheBackend {
  /** Starts the backend; returns the store type and the metadata of a component reading it. */
  start(): Promise<{ type: string; metadata: Record<string, string>; env?: Record<string, string> }>;
  /** Writes a secret the store answers as `{ [field]: value }`. */
  put(name: string, value: string): void;
  /** The key of the map the store answers for a secret. */
  field(name: string): string;
  /** Backend requests that read the secret `name` so far. */
  reads(name: string): number;
  /** Makes the backend fail every read until recover(). */
  fail(): Promise<void>;
  recover(): Promise<void>;
  close(): Promise<void>;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function describeCacheCases(label: string, backend: CacheBackend): void {
  const CANARY = `cache-${label}-${process.pid}-${Date.now()}`;
  let sidecar: Sidecar;
  let clients: SecretsClient[];
  const values: string[] = [];
  const value = (tag: string) => {
    const v = `${tag}-${CANARY}`;
    values.push(v);
    return v;
  };
  const current = new Map<string, string>();
  const put = (name: string, tag: string) => {
    const v = value(tag);
    backend.put(name, v);
    current.set(name, v);
    return v;
  };
  async function expectValue(c: SecretsClient, store: string, name: string, expected: string, md = {}) {
    const o = await c.get(store, name, md);
    assert.ok(o.ok, `${c.transport} ${store}/${name}: ${JSON.stringify(o)}`);
    assert.deepEqual(o.data, { [backend.field(name)]: expected }, `${c.transport} ${store}/${name}`);
  }

  before(async () => {
    const { type, metadata, env } = await backend.start();
    put("cached-db", "db-1");
    put("denied", "denied");
    put("short-api", "api-1");
    sidecar = await startSidecar({
      components: {
        "long.yaml": componentYaml("long", type, { ...metadata, cacheTTL: "1h" }),
        "short.yaml": componentYaml("short", type, { ...metadata, cacheTTL: "300ms", cacheStaleIfError: "1h" }),
        "plain.yaml": componentYaml("plain", type, metadata),
      },
      config: scopesConfig([{ storeName: "long", deniedSecrets: ["denied"] }]),
      env,
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
    await backend.close();
  });

  describe(`cache of a ${label} component`, () => {
    it("concurrent cold reads over both transports make one backend read; reads within the TTL none", async () => {
      const before = backend.reads("cached-db");
      const db = current.get("cached-db")!;
      await Promise.all(Array.from({ length: 20 }, (_, i) => expectValue(clients[i % 2]!, "long", "cached-db", db)));
      assert.equal(backend.reads("cached-db") - before, 1);
      for (let i = 0; i < 20; i++) await expectValue(clients[i % 2]!, "long", "cached-db", db);
      assert.equal(backend.reads("cached-db") - before, 1);
    });

    it("a changed secret is seen after refresh_cache (HTTP query or gRPC metadata), with one read each", async () => {
      const old = current.get("cached-db")!;
      put("cached-db", "db-2");
      await expectValue(clients[1]!, "long", "cached-db", old);
      for (const [i, c] of clients.entries()) {
        const next = put("cached-db", `db-${3 + i}`);
        const before = backend.reads("cached-db");
        await expectValue(c, "long", "cached-db", next, { refresh_cache: "true" });
        assert.equal(backend.reads("cached-db") - before, 1, c.transport);
        await expectValue(clients[1 - i]!, "long", "cached-db", next);
        assert.equal(backend.reads("cached-db") - before, 1, c.transport);
      }
    });

    it("without cacheTTL every read asks the backend", async () => {
      const before = backend.reads("cached-db");
      for (const c of clients) await expectValue(c, "plain", "cached-db", current.get("cached-db")!);
      assert.equal(backend.reads("cached-db") - before, 2);
    });

    it("after the TTL one read asks the backend again", async () => {
      const api = current.get("short-api")!;
      await expectValue(clients[0]!, "short", "short-api", api);
      const before = backend.reads("short-api");
      await pause(400);
      await expectValue(clients[1]!, "short", "short-api", api);
      await expectValue(clients[0]!, "short", "short-api", api);
      assert.equal(backend.reads("short-api") - before, 1);
    });

    it("scopes are checked before the cache: a denied secret in a cached bulk answer stays denied", async () => {
      for (const c of clients) {
        const bulk = await c.bulk("long");
        assert.ok(bulk.ok, JSON.stringify(bulk));
        assert.ok(!Object.keys(bulk.data ?? {}).some((k) => k.toLowerCase() === "denied"), c.transport);
        assert.ok(!JSON.stringify(bulk.data).includes(current.get("denied")!), c.transport);
      }
      const before = backend.reads("denied");
      for (const c of clients) {
        const denied = await c.get("long", "denied");
        assert.ok(!denied.ok && (denied.httpStatus === 403 || denied.grpcCode === 7), JSON.stringify(denied));
        assert.equal((await c.bulk("long")).ok, true);
      }
      assert.equal(backend.reads("denied") - before, 0, "the cached bulk answer was served without the backend");
    });

    it("while the backend fails the last good answer is served within cacheStaleIfError, and logged", async () => {
      const api = current.get("short-api")!;
      await expectValue(clients[0]!, "short", "short-api", api);
      await backend.fail();
      try {
        await pause(400);
        for (const c of clients) await expectValue(c, "short", "short-api", api);
        for (const c of clients) {
          const never = await c.get("short", "never-read");
          assert.equal(never.ok, false, `${c.transport}: a secret never cached cannot be served stale`);
        }
        assert.match(sidecar.output(), /cache served its last good answer.*cacheStaleIfError/);
      } finally {
        await backend.recover();
      }
      await pause(400);
      const next = put("short-api", "api-2");
      await expectValue(clients[1]!, "short", "short-api", next);
    });

    it("metrics count hits, misses, stale answers and store calls per component, with no secret names", async () => {
      const text = await (await fetch(`http://127.0.0.1:${sidecar.metricsPort}/metrics`)).text();
      const metric = (name: string, component: string) => {
        const m = new RegExp(`^${name}\\{app_id="[^"]*",component="${component}"\\} (\\d+)$`, "m").exec(text);
        assert.ok(m, `${name}{component="${component}"} missing`);
        return Number(m[1]);
      };
      // Of the 20 concurrent cold reads, those arriving after the answer was stored are hits: only the sum is fixed.
      const reads =
        metric("keyward_secret_cache_hits_total", "long") + metric("keyward_secret_cache_misses_total", "long");
      assert.ok(reads >= 40, `hits + misses ${reads}`);
      assert.ok(metric("keyward_secret_cache_hits_total", "long") >= 20);
      assert.ok(metric("keyward_secret_cache_misses_total", "long") >= 4);
      assert.ok(metric("keyward_secret_cache_store_calls_total", "long") >= 4);
      assert.ok(metric("keyward_secret_cache_stale_total", "short") >= 2);
      assert.equal(metric("keyward_secret_cache_evictions_total", "long"), 0);
      assert.doesNotMatch(text, /keyward_secret_cache_\w+\{component="plain"/);
      for (const word of ["cached-db", "denied", "short-api", ...values])
        assert.doesNotMatch(text, new RegExp(`keyward_secret_cache.*"${word}"`));
    });
  });
}
