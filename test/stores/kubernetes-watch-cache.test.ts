/** The watch cache's state machine on its own, driven by a scripted SecretSource (no network). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setImmediate as tick } from "node:timers/promises";
import type { RunningWatch, SecretList, SecretSource, WatchHandlers } from "../../src/stores/kubernetes/client.js";
import { SecretWatchCache } from "../../src/stores/kubernetes/watch-cache.js";
import { SecretStoreError } from "../../src/stores/types.js";
import { recordingLogger } from "../helpers/store-context.js";

/** A source whose lists answer at once (or wait for `releaseList`) and whose watches the test drives. */
class ScriptedSource implements SecretSource {
  lists = 0;
  watches: { rv: string; handlers: WatchHandlers; stopped: boolean }[] = [];
  listResult: () => Promise<SecretList> = async () => ({
    secrets: new Map([["s", { k: `v${this.lists}` }]]),
    resourceVersion: String(10 * this.lists),
  });

  async list(): Promise<SecretList> {
    this.lists++;
    return this.listResult();
  }

  async watch(_ns: string, rv: string, _timeout: number, handlers: WatchHandlers): Promise<RunningWatch> {
    const w = { rv, handlers, stopped: false };
    this.watches.push(w);
    return { stop: () => (w.stopped = true) };
  }

  get last(): { rv: string; handlers: WatchHandlers; stopped: boolean } {
    const w = this.watches[this.watches.length - 1];
    assert.ok(w, "a watch was opened");
    return w;
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await tick();
}

const SLOW = { backoffInitialMs: 60_000, backoffMaxMs: 60_000, healthyAfterMs: 60_000, refusedRetryMs: 60_000 };

describe("kubernetes watch cache", () => {
  it("lists, then watches from the list's resourceVersion and applies events", async () => {
    const src = new ScriptedSource();
    const cache = new SecretWatchCache(src, recordingLogger(), SLOW);
    const snap = await cache.snapshot("ns");
    assert.deepEqual(snap?.get("s"), { k: "v1" });
    await settle();
    assert.equal(src.last.rv, "10");
    src.last.handlers.event({ type: "ADDED", name: "t", data: { a: "1" }, resourceVersion: "11" });
    src.last.handlers.event({ type: "MODIFIED", name: "s", data: { k: "changed" }, resourceVersion: "12" });
    src.last.handlers.event({ type: "DELETED", name: "t", resourceVersion: "13" });
    src.last.handlers.event({ type: "BOOKMARK", resourceVersion: "20" });
    const after = await cache.snapshot("ns");
    assert.deepEqual([...(after ?? new Map()).entries()], [["s", { k: "changed" }]]);
    assert.equal(cache.status().ns?.resourceVersion, "20");
    cache.close();
    assert.equal(src.last.stopped, true);
  });

  it("a clean end of a healthy stream resumes from the last resourceVersion without relisting", async () => {
    const src = new ScriptedSource();
    const cache = new SecretWatchCache(src, recordingLogger(), SLOW);
    await cache.snapshot("ns");
    await settle();
    src.last.handlers.event({ type: "MODIFIED", name: "s", data: { k: "x" }, resourceVersion: "15" });
    src.last.handlers.done(undefined);
    await settle();
    assert.equal(src.watches.length, 2);
    assert.equal(src.last.rv, "15");
    assert.equal(src.lists, 1);
    cache.close();
  });

  it("410: the first relists at once; an immediate second 410 backs off instead of looping", async () => {
    const src = new ScriptedSource();
    const log = recordingLogger();
    const cache = new SecretWatchCache(src, log, SLOW);
    await cache.snapshot("ns");
    await settle();
    src.last.handlers.event({
      type: "ERROR",
      status: { code: 410, reason: "Expired", message: "too old resource version: 10 (12)" },
    });
    await settle();
    assert.equal(src.lists, 2, "relisted at once");
    assert.deepEqual((await cache.snapshot("ns"))?.get("s"), { k: "v2" });
    src.last.handlers.event({ type: "ERROR", status: { code: 410, reason: "Expired", message: "again" } });
    await settle();
    assert.equal(src.lists, 2, "the repeat waits for the backoff");
    assert.equal(cache.status().ns?.synced, true, "the copy keeps being served meanwhile");
    cache.close();
  });

  it("a failed first list lets waiting reads go direct; a refused watch does the same until the retry time", async () => {
    const src = new ScriptedSource();
    src.listResult = async () => {
      throw new SecretStoreError("unavailable", "cannot reach the Kubernetes API server");
    };
    const cache = new SecretWatchCache(src, recordingLogger(), SLOW);
    assert.equal(await cache.snapshot("down"), undefined);
    cache.close();

    const src2 = new ScriptedSource();
    const log = recordingLogger();
    const cache2 = new SecretWatchCache(src2, log, SLOW);
    assert.ok(await cache2.snapshot("ns"));
    await settle();
    src2.last.handlers.done(Object.assign(new Error("Forbidden"), { statusCode: 403 }));
    assert.equal(await cache2.snapshot("ns"), undefined, "reads go to the API server");
    assert.equal(src2.lists, 1, "no relist before the retry time");
    assert.ok(log.lines.some((l) => l.includes("cannot watch secrets")));
    cache2.close();
  });

  it("a read waiting for the first list gives up with the caller's deadline", async () => {
    const src = new ScriptedSource();
    let release!: () => void;
    src.listResult = () =>
      new Promise((resolve) => (release = () => resolve({ secrets: new Map(), resourceVersion: "1" })));
    const cache = new SecretWatchCache(src, recordingLogger(), SLOW);
    const controller = new AbortController();
    const waiting = cache.snapshot("ns", controller.signal);
    controller.abort();
    await assert.rejects(
      waiting,
      (err: unknown) =>
        err instanceof SecretStoreError && err.kind === "unavailable" && /waiting for the first list/.test(err.message),
    );
    release();
    assert.ok(await cache.snapshot("ns"), "the list itself still completes");
    cache.close();
  });
});
