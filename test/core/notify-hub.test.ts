/**
 * The change-notification hub with in-memory stores (one that polls, one that pushes): one topic per
 * secret whatever the subscribers, a push during a check is not lost, the bounds refuse clearly, and a
 * replaced or removed component moves or ends its streams.
 */
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { SecretAnswer } from "../../src/core/cache/answer.js";
import type { SecretEvent, Subscriber } from "../../src/core/notify/events.js";
import { NotificationHub } from "../../src/core/notify/hub.js";
import type { LoadedStore } from "../../src/core/secrets-service.js";
import { ApiError } from "../../src/errors/catalogue.js";
import { createLogger } from "../../src/log.js";
import { SecretStoreError, type GetSecretRequest, type SecretData, type SecretStore } from "../../src/stores/types.js";

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = createLogger({
  level: "error",
  json: true,
  appId: "hub-test",
  destination: new Writable({ write: (_c, _e, cb) => cb() }),
});

/** A store over a map; it polls (versionOf) or pushes (watchChanges), and counts what it is asked. */
class MemoryStore implements SecretStore {
  readonly values = new Map<string, string>();
  versions = 0;
  reads = 0;
  readonly listeners = new Set<(name?: string) => void>();
  watchChanges?: SecretStore["watchChanges"];
  versionOf?: SecretStore["versionOf"];
  /** Makes each read wait this long, to change the secret while a check runs. */
  readDelayMs = 0;

  constructor(kind: "poll" | "push") {
    if (kind === "push")
      this.watchChanges = (on) => {
        this.listeners.add(on);
        return () => this.listeners.delete(on);
      };
    else
      this.versionOf = async (req: GetSecretRequest) => {
        this.versions++;
        const v = this.values.get(req.name);
        if (v === undefined) throw new SecretStoreError("not_found", "gone");
        return v;
      };
  }
  set(name: string, value: string | undefined): void {
    if (value === undefined) this.values.delete(name);
    else this.values.set(name, value);
    for (const l of [...this.listeners]) l(name);
  }
  async init(): Promise<void> {}
  async getSecret(req: GetSecretRequest): Promise<SecretData> {
    this.reads++;
    if (this.readDelayMs) await pause(this.readDelayMs);
    const v = this.values.get(req.name);
    if (v === undefined) throw new SecretStoreError("not_found", "gone");
    return { [req.name]: v };
  }
  async bulkGetSecret(): Promise<Record<string, SecretData>> {
    return {};
  }
  features() {
    return [];
  }
  async close(): Promise<void> {}
}

function entry(name: string, store: SecretStore, pollIntervalMs = 20): LoadedStore {
  return { name, type: "memory", version: "v1", store, features: [], pollIntervalMs };
}

function hub(limits?: { total: number; perConnection: number }): NotificationHub {
  return new NotificationHub({
    read: async (e, name, metadata) => new SecretAnswer(await e.store.getSecret({ name, metadata })),
    allowed: () => true,
    log,
    ...(limits ? { limits } : {}),
  });
}

class Recorder implements Subscriber {
  readonly events: SecretEvent[] = [];
  closed: string | undefined;
  push(e: SecretEvent): void {
    this.events.push(e);
  }
  close(why: string): void {
    this.closed = why;
  }
  values(): (string | null)[] {
    return this.events.map((e) => (e.kind === "delete" ? null : Object.values(e.answer!.data ?? {})[0]!));
  }
}

async function until(check: () => boolean, what: string, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await pause(5);
  }
}

describe("notification hub", () => {
  it("fifty subscribers of one polled secret share one version check per interval and see each change", async () => {
    const store = new MemoryStore("poll");
    store.set("db", "v1");
    const h = hub();
    const e = entry("vault", store, 20);
    const subs = Array.from({ length: 50 }, () => new Recorder());
    const stops = await Promise.all(subs.map((s) => h.subscribe({ entry: e, name: "db", metadata: {} }, s)));
    assert.ok(subs.every((s) => s.values().join() === "v1"));
    assert.equal(store.reads, 1, "one read for fifty subscribers");
    const before = store.versions;
    await pause(200);
    assert.ok(store.versions - before <= 12, `${store.versions - before} version checks in 10 intervals`);
    store.set("db", "v2");
    await until(() => subs.every((s) => s.values().join() === "v1,v2"), "the change at every subscriber");
    assert.equal(subs[0]!.events.at(-1)!.version, "v2");
    store.set("db", undefined);
    await until(() => subs.every((s) => s.events.at(-1)!.kind === "delete"), "the delete");
    for (const stop of stops) stop();
    const after = store.versions;
    await pause(100);
    assert.ok(store.versions - after <= 1, "polling goes on without subscribers");
  });

  it("a push that comes while a read runs is not lost", async () => {
    const store = new MemoryStore("push");
    store.set("db", "v1");
    const h = hub();
    const r = new Recorder();
    await h.subscribe({ entry: entry("file", store), name: "db", metadata: {} }, r);
    store.readDelayMs = 50;
    store.set("db", "v2");
    await pause(10);
    store.set("db", "v3");
    await until(() => r.values().at(-1) === "v3", "the last value");
    h.close();
    assert.equal(r.closed, "the sidecar is shutting down");
  });

  it("refuses past its bounds, per connection and in total, with ERR_SECRET_SUBSCRIPTIONS_EXCEEDED", async () => {
    const store = new MemoryStore("push");
    store.set("db", "v1");
    const h = hub({ total: 3, perConnection: 2 });
    const e = entry("file", store);
    const sub = (connection: string) => h.subscribe({ entry: e, name: "db", metadata: {}, connection }, new Recorder());
    await sub("a");
    const second = await sub("a");
    await assert.rejects(sub("a"), (err: ApiError) => err.code === "ERR_SECRET_SUBSCRIPTIONS_EXCEEDED");
    await sub("b");
    await assert.rejects(sub("c"), /the sidecar holds its maximum of 3/);
    second();
    await sub("c");
    assert.equal(h.active, 3);
  });

  it("a store that can neither push nor poll is refused with ERR_SECRET_SUBSCRIBE_UNSUPPORTED", async () => {
    const store = new MemoryStore("poll");
    delete store.versionOf;
    await assert.rejects(
      hub().subscribe({ entry: entry("env", store), name: "HOME", metadata: {} }, new Recorder()),
      (err: ApiError) => err.code === "ERR_SECRET_SUBSCRIBE_UNSUPPORTED" && err.httpStatus === 501,
    );
  });

  it("a replaced component moves its topics to the new instance; a removed one ends them", async () => {
    const old = new MemoryStore("push");
    old.set("db", "v1");
    const h = hub();
    const r = new Recorder();
    await h.subscribe({ entry: entry("file", old), name: "db", metadata: {} }, r);
    const next = new MemoryStore("push");
    next.set("db", "v2");
    h.componentChanged("file", entry("file", next));
    await until(() => r.values().join() === "v1,v2", "the new instance's value");
    assert.equal(old.listeners.size, 0, "the old instance is still watched");
    next.set("db", "v3");
    await until(() => r.values().at(-1) === "v3", "a change of the new instance");
    h.componentChanged("file", undefined);
    assert.equal(r.closed, "the component was removed");
    assert.equal(next.listeners.size, 0);
    assert.equal(h.active, 0);
  });
});
