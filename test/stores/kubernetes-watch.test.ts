import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { KubernetesSecretStore } from "../../src/stores/kubernetes/kubernetes.js";
import { SecretStoreError, type ComponentMetadata } from "../../src/stores/types.js";
import { describeSecretStoreConformance } from "../conformance/secret-store.case.js";
import { recordingLogger, storeContext, type RecordingLogger } from "../helpers/store-context.js";
import { KubeApiTestServer } from "../servers/kubernetes/server.js";

delete process.env.NAMESPACE;

const FAST = { backoffInitialMs: 50, backoffMaxMs: 400, healthyAfterMs: 300, refusedRetryMs: 60_000 };
const CANARY = `watch-canary-${process.pid}-${Date.now()}`;

/** Polls `check` until it passes (bounded): watch updates arrive asynchronously. */
async function eventually(
  what: string,
  check: () => Promise<boolean> | boolean,
  tries = 200,
  delayMs = 25,
): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await sleep(delayMs);
  }
  assert.fail(`timed out waiting for: ${what}`);
}

let conformanceServer: KubeApiTestServer;
let conformanceKubeconfig = "";
describeSecretStoreConformance({
  name: "kubernetes (watch)",
  create: () => new KubernetesSecretStore({ watchCache: FAST }),
  metadata: () => ({ kubeconfigPath: conformanceKubeconfig, defaultNamespace: "default", watch: "true" }),
  setup: async () => {
    conformanceServer = await KubeApiTestServer.start();
    conformanceServer.putSecret("default", "conftestsecret", { conftestsecret: "abcd" });
    conformanceServer.putSecret("default", "secondsecret", { secondsecret: "efgh" });
    conformanceKubeconfig = conformanceServer.writeKubeconfig();
  },
  teardown: async () => conformanceServer.close(),
});

describe("kubernetes store with watch: true", () => {
  let server: KubeApiTestServer;
  let kubeconfig: string;
  const stores: KubernetesSecretStore[] = [];
  const log: RecordingLogger = recordingLogger();

  async function open(metadata: ComponentMetadata, logger: RecordingLogger = log): Promise<KubernetesSecretStore> {
    const s = new KubernetesSecretStore({ watchCache: FAST });
    stores.push(s);
    await s.init(
      { kubeconfigPath: kubeconfig, watch: "true", ...metadata },
      storeContext("kubernetes", 10_000, logger),
    );
    return s;
  }

  async function value(
    s: KubernetesSecretStore,
    name: string,
    namespace?: string,
  ): Promise<Record<string, string> | string> {
    try {
      return await s.getSecret({ name, metadata: namespace ? { namespace } : {} });
    } catch (err) {
      return err instanceof SecretStoreError ? err.kind : String(err);
    }
  }

  before(async () => {
    server = await KubeApiTestServer.start();
    kubeconfig = server.writeKubeconfig();
  });
  after(async () => {
    for (const s of stores) await s.close();
    await server.close();
  });

  it("serves reads and bulk from one list+watch; the API server sees no get", async () => {
    server.putSecret("cached", "a", { k: "1", other: CANARY });
    server.putSecret("cached", "b", { k: "2" });
    const s = await open({ defaultNamespace: "cached" });
    for (let i = 0; i < 20; i++)
      assert.deepEqual(await s.getSecret({ name: "a", metadata: {} }), { k: "1", other: CANARY });
    assert.deepEqual(await s.bulkGetSecret({ metadata: {} }), { a: { k: "1", other: CANARY }, b: { k: "2" } });
    await assert.rejects(s.getSecret({ name: "missing", metadata: {} }), (err: unknown) => {
      assert.ok(err instanceof SecretStoreError && err.kind === "not_found");
      assert.match(
        err.message,
        /secret "missing" not found in namespace "cached".*NotFound: secrets "missing" not found/,
      );
      return true;
    });
    assert.equal(server.count({ verb: "get", namespace: "cached" }), 0);
    assert.equal(server.count({ verb: "list", namespace: "cached" }), 1);
    await eventually("a watch is open", () => server.count({ verb: "watch", namespace: "cached" }) === 1);
    // A returned map is a copy: changing it does not change the cache.
    const got = await s.getSecret({ name: "b", metadata: {} });
    got.k = "changed";
    assert.deepEqual(await s.getSecret({ name: "b", metadata: {} }), { k: "2" });
  });

  it("sees additions, updates and deletions", async () => {
    server.putSecret("live", "x", { v: "1" });
    const s = await open({ defaultNamespace: "live" });
    assert.deepEqual(await value(s, "x"), { v: "1" });
    await eventually("watch open", () => server.count({ verb: "watch", namespace: "live" }) >= 1);
    server.putSecret("live", "x", { v: "2", w: "new key" });
    await eventually(
      "update seen",
      async () => JSON.stringify(await value(s, "x")) === JSON.stringify({ v: "2", w: "new key" }),
    );
    server.putSecret("live", "y", { y: "added" });
    await eventually(
      "addition seen",
      async () => JSON.stringify(await value(s, "y")) === JSON.stringify({ y: "added" }),
    );
    server.deleteSecret("live", "x");
    await eventually("deletion seen", async () => (await value(s, "x")) === "not_found");
    server.bookmark();
    assert.equal(server.count({ verb: "get", namespace: "live" }), 0);
  });

  it("reads made before the first list completes wait for it", async () => {
    server.putSecret("slow", "early", { e: "1" });
    const release = server.holdLists();
    let settled = false;
    let pending: Promise<Record<string, string>>;
    try {
      const s = await open({ defaultNamespace: "slow" });
      pending = s.getSecret({ name: "early", metadata: {} });
      void pending.then(
        () => (settled = true),
        () => (settled = true),
      );
      await eventually("the list reached the server", () => server.count({ verb: "list", namespace: "slow" }) === 1);
      await sleep(50);
      assert.equal(settled, false, "the read waits for the list");
    } finally {
      release();
    }
    assert.deepEqual(await pending, { e: "1" });
    assert.equal(server.count({ verb: "get", namespace: "slow" }), 0, "the waiting read did not go to the API server");
  });

  it("a read for another namespace starts its own list+watch", async () => {
    server.putSecret("home", "h", { h: "1" });
    server.putSecret("away", "h", { h: "away" });
    const s = await open({ defaultNamespace: "home" });
    assert.deepEqual(await value(s, "h"), { h: "1" });
    assert.deepEqual(await value(s, "h", "away"), { h: "away" });
    assert.deepEqual(Object.keys(s.watchStatus() ?? {}).sort(), ["away", "home"]);
    assert.equal(server.count({ verb: "get", namespace: "away" }), 0);
  });

  it("watches at most maxNamespaces namespaces; reads in others go to the API server", async () => {
    server.putSecret("cap-1", "c", { c: "1" });
    server.putSecret("cap-2", "c", { c: "2" });
    const s = new KubernetesSecretStore({ watchCache: { ...FAST, maxNamespaces: 1 } });
    stores.push(s);
    const reads: boolean[] = [];
    await s.init(
      { kubeconfigPath: kubeconfig, watch: "true", defaultNamespace: "cap-1" },
      { ...storeContext("kubernetes", 10_000, log), cacheRead: (hit) => reads.push(hit) },
    );
    assert.deepEqual(await value(s, "c"), { c: "1" });
    assert.deepEqual(await value(s, "c", "cap-2"), { c: "2" });
    assert.deepEqual(Object.keys(s.watchStatus() ?? {}), ["cap-1"]);
    assert.equal(server.count({ verb: "get", namespace: "cap-2" }), 1);
    assert.equal(server.count({ verb: "get", namespace: "cap-1" }), 0);
    // Each read reports whether the copy answered it (the cache-hit metric counts these).
    assert.deepEqual(reads, [true, false]);
  });

  it("after an API server restart it reconnects with backoff and resumes from its resourceVersion", async () => {
    server.putSecret("restart", "r", { r: "before" });
    const rlog = recordingLogger();
    const s = await open({ defaultNamespace: "restart" }, rlog);
    assert.deepEqual(await value(s, "r"), { r: "before" });
    await eventually("watch open", () => server.count({ verb: "watch", namespace: "restart" }) >= 1);
    await server.stop();
    server.putSecret("restart", "r", { r: "while down" });
    // Reads keep being served from the last copy while the API server is away.
    assert.deepEqual(await value(s, "r"), { r: "before" });
    await eventually(
      "three failed reconnects",
      () => rlog.lines.filter((l) => l.includes("watch of secrets failed; retrying")).length >= 3,
    );
    const delays = rlog.lines
      .filter((l) => l.includes("watch of secrets failed; retrying"))
      .map((l) => (JSON.parse(l.slice(l.indexOf("{"))) as { retryInMs: number }).retryInMs);
    assert.ok(
      (delays[1] as number) > (delays[0] as number) && (delays[2] as number) > (delays[1] as number),
      `backoff grows: ${delays.join(", ")}`,
    );
    await server.restart();
    await eventually(
      "change made while down seen",
      async () => JSON.stringify(await value(s, "r")) === JSON.stringify({ r: "while down" }),
    );
    assert.equal(server.count({ verb: "list", namespace: "restart" }), 1, "resumed the watch without relisting");
  });

  it("resyncs (relists) when its resourceVersion is too old (410 Expired)", async () => {
    server.putSecret("expire", "e", { e: "old" });
    server.putSecret("expire", "gone", { g: "1" });
    const elog = recordingLogger();
    const s = await open({ defaultNamespace: "expire" }, elog);
    assert.deepEqual(await value(s, "e"), { e: "old" });
    await eventually("watch open", () => server.count({ verb: "watch", namespace: "expire" }) >= 1);
    await server.stop();
    server.putSecret("expire", "e", { e: "new" });
    server.deleteSecret("expire", "gone");
    server.compact();
    await server.restart();
    await eventually(
      "relisted after 410",
      async () => JSON.stringify(await value(s, "e")) === JSON.stringify({ e: "new" }),
    );
    assert.equal(await value(s, "gone"), "not_found");
    assert.equal(server.count({ verb: "list", namespace: "expire" }), 2);
    assert.ok(
      elog.lines.some((l) => l.includes("resourceVersion expired; relisting")),
      "logs the resync",
    );
    // And it keeps watching after the resync.
    server.putSecret("expire", "e", { e: "newer" });
    await eventually(
      "update after resync",
      async () => JSON.stringify(await value(s, "e")) === JSON.stringify({ e: "newer" }),
    );
  });

  it("when the Role does not allow list, reads go to the API server directly and the log says why", async () => {
    server.putSecret("nolist", "n", { n: "1" });
    server.forbid("list", "nolist");
    const nlog = recordingLogger();
    try {
      const s = await open({ defaultNamespace: "nolist" }, nlog);
      assert.deepEqual(await value(s, "n"), { n: "1" });
      assert.deepEqual(await value(s, "n"), { n: "1" });
      assert.equal(server.count({ verb: "get", namespace: "nolist", name: "n" }), 2);
      assert.ok(
        nlog.lines.some(
          (l) =>
            l.startsWith("warn") &&
            l.includes("cannot list secrets") &&
            l.includes('verb \\"list\\" on secrets in namespace \\"nolist\\"'),
        ),
        nlog.lines.join("\n"),
      );
      await assert.rejects(
        s.bulkGetSecret({ metadata: {} }),
        (err: unknown) =>
          err instanceof SecretStoreError && err.kind === "permission_denied" && err.message.includes('"list"'),
      );
    } finally {
      server.allow("list", "nolist");
    }
  });

  it("close ends its watches", async () => {
    server.putSecret("closing", "c", { c: "1" });
    const s = await open({ defaultNamespace: "closing" });
    assert.deepEqual(await value(s, "c"), { c: "1" });
    await eventually(
      "watch open",
      () => server.state.watchers.size > 0 && server.count({ verb: "watch", namespace: "closing" }) >= 1,
    );
    const before = [...server.state.watchers].filter((w) => w.namespace === "closing").length;
    assert.equal(before, 1);
    await s.close();
    await s.close();
    await eventually(
      "server saw the watch end",
      () => [...server.state.watchers].filter((w) => w.namespace === "closing").length === 0,
    );
    assert.equal(await value(s, "c"), "unavailable");
  });

  it("nothing logged holds a secret value", () => {
    for (const line of log.lines) assert.ok(!line.includes(CANARY), line);
  });
});
