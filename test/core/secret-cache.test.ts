/** The answer cache on its own: LRU and memory bounds, expiry, stale-if-error, single flight, invalidation. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SecretAnswer } from "../../src/core/cache/answer.js";
import { splitCacheMetadata } from "../../src/core/cache/options.js";
import { SecretCache, type CacheCounters, type CacheRequest } from "../../src/core/cache/secret-cache.js";

function setup(opts: Partial<{ ttlMs: number; maxEntries: number; maxBytes: number; staleIfErrorMs: number }> = {}) {
  let now = 1_000_000;
  const counters: CacheCounters = { hits: 0, misses: 0, stale: 0, evictions: 0, storeCalls: 0 };
  const cache = new SecretCache<SecretAnswer>(
    { ttlMs: 1000, maxEntries: 100, maxBytes: 1 << 20, staleIfErrorMs: 0, ...opts },
    counters,
    () => now,
  );
  let calls = 0;
  let fail: Error | undefined;
  let value = "v1";
  const stales: number[] = [];
  const read = (name: string, extra: Partial<CacheRequest<SecretAnswer>> = {}) =>
    cache.get({
      key: "g:" + name,
      name,
      refresh: false,
      signal: undefined,
      load: async () => {
        calls++;
        await new Promise((r) => setImmediate(r));
        if (fail) throw fail;
        return new SecretAnswer({ [name]: value });
      },
      staleAllowed: () => true,
      onStale: (_e, late) => stales.push(late),
      ...extra,
    });
  return {
    cache,
    counters,
    read,
    stales,
    calls: () => calls,
    advance: (ms: number) => (now += ms),
    fail: (e: Error | undefined) => (fail = e),
    set: (v: string) => (value = v),
  };
}

describe("SecretCache", () => {
  // Every read that finds no fresh entry is a miss; single flight shows in storeCalls.
  it("concurrent misses make one load; hits within the TTL none; after expiry one", async () => {
    const t = setup();
    const answers = await Promise.all(Array.from({ length: 50 }, () => t.read("a")));
    assert.equal(t.calls(), 1);
    assert.ok(answers.every((a) => a === answers[0]));
    for (let i = 0; i < 10; i++) await t.read("a");
    assert.equal(t.calls(), 1);
    t.advance(1001);
    await t.read("a");
    assert.equal(t.calls(), 2);
    assert.deepEqual(t.counters, { hits: 10, misses: 51, stale: 0, evictions: 0, storeCalls: 2 });
  });

  it("refresh reads the store again and replaces the entry", async () => {
    const t = setup();
    await t.read("a");
    t.set("v2");
    assert.deepEqual((await t.read("a", { refresh: true })).data, { a: "v2" });
    assert.deepEqual((await t.read("a")).data, { a: "v2" });
    assert.equal(t.calls(), 2);
  });

  it("least recently used entries go first past maxEntries", async () => {
    const t = setup({ maxEntries: 2 });
    await t.read("a");
    await t.read("b");
    await t.read("a"); // a is now the most recent
    await t.read("c"); // evicts b
    assert.equal(t.cache.size, 2);
    assert.equal(t.counters.evictions, 1);
    const before = t.calls();
    await t.read("a");
    assert.equal(t.calls(), before);
    await t.read("b");
    assert.equal(t.calls(), before + 1);
  });

  it("the memory bound evicts, and an answer larger than the bound is not kept", async () => {
    const t = setup({ maxBytes: 1500 });
    t.set("x".repeat(300));
    await t.read("a");
    await t.read("b");
    assert.ok(t.cache.size < 2, `size ${t.cache.size}`);
    const kept = t.cache.size;
    t.set("x".repeat(5000));
    const before = t.calls();
    await t.read("big");
    await t.read("big");
    assert.equal(t.calls(), before + 2);
    assert.equal(t.cache.size, kept);
  });

  it("serves the last good answer within cacheStaleIfError while the store fails, then fails", async () => {
    const t = setup({ staleIfErrorMs: 5000 });
    await t.read("a");
    t.fail(new Error("backend down"));
    t.advance(3000);
    assert.deepEqual((await t.read("a")).data, { a: "v1" });
    assert.equal(t.counters.stale, 1);
    assert.deepEqual(t.stales, [2000]);
    await assert.rejects(t.read("a", { refresh: true }), /backend down/);
    await assert.rejects(t.read("a", { staleAllowed: () => false }), /backend down/);
    t.advance(4000);
    await assert.rejects(t.read("a"), /backend down/);
    await assert.rejects(t.read("never-read"), /backend down/);
  });

  it("invalidate(name) drops that secret and bulk entries; a load under way does not store its answer", async () => {
    const t = setup();
    await t.read("a");
    await t.read("b");
    await t.cache.get({
      key: "b:[]",
      name: undefined,
      refresh: false,
      signal: undefined,
      load: async () => new SecretAnswer({}),
      staleAllowed: () => true,
      onStale: () => undefined,
    });
    assert.equal(t.cache.size, 3);
    t.cache.invalidate("a");
    assert.equal(t.cache.size, 1);
    const pending = t.read("c");
    t.cache.invalidate();
    await pending;
    assert.equal(t.cache.size, 0);
  });

  it("a waiter that aborts leaves at once; the shared load stops only when every waiter has gone", async () => {
    const t = setup();
    const signals: AbortSignal[] = [];
    let release!: () => void;
    const load = (signal: AbortSignal) => {
      signals.push(signal);
      return new Promise<SecretAnswer>((resolve) => (release = () => resolve(new SecretAnswer({ a: "v" }))));
    };
    const one = new AbortController();
    const two = new AbortController();
    const p1 = t.read("a", { load, signal: one.signal });
    const p2 = t.read("a", { load, signal: two.signal });
    one.abort(new Error("first client gone"));
    await assert.rejects(p1, /first client gone/);
    assert.equal(signals.length, 1);
    assert.equal(signals[0]!.aborted, false);
    two.abort(new Error("second client gone"));
    await assert.rejects(p2, /second client gone/);
    assert.equal(signals[0]!.aborted, true);
    release();
  });
});

describe("splitCacheMetadata", () => {
  it("takes the reserved fields in any case and leaves the rest to the store", () => {
    const { options, storeMetadata } = splitCacheMetadata({
      CACHETTL: "1m30s",
      cacheMaxEntries: "5",
      cachestaleiferror: "1h",
      vaultAddr: "http://x",
    });
    assert.deepEqual(options, { ttlMs: 90_000, maxEntries: 5, maxBytes: 64 * 1024 * 1024, staleIfErrorMs: 3_600_000 });
    assert.deepEqual(storeMetadata, { vaultAddr: "http://x" });
  });

  it("cacheTTL 0 or absent is off, and the reserved fields (pollInterval too) are still removed", () => {
    assert.deepEqual(splitCacheMetadata({ cacheTTL: "0", cacheMaxEntries: "3", pollInterval: "5s", a: "b" }), {
      options: undefined,
      storeMetadata: { a: "b" },
      pollIntervalMs: 5000,
    });
    assert.equal(splitCacheMetadata({}).options, undefined);
    assert.equal(splitCacheMetadata({}).pollIntervalMs, 30_000);
  });

  it("refuses values that are not valid, naming the field", () => {
    for (const [md, re] of [
      [{ cacheTTL: "soon" }, /cacheTTL: "soon" is not a duration/],
      [{ cacheTTL: "-5s" }, /cacheTTL/],
      [{ cacheTTL: "5s", cacheMaxEntries: "0" }, /cacheMaxEntries: "0" is not a whole number/],
      [{ cacheTTL: "5s", cacheMaxEntries: "1e3" }, /cacheMaxEntries/],
      [{ cacheTTL: "5s", cacheStaleIfError: "\u0000" }, /cacheStaleIfError/],
    ] as const)
      assert.throws(() => splitCacheMetadata(md), re);
  });
});
