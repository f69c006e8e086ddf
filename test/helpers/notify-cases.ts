/**
 * Change notifications end to end for any store, against its test server through `bin/keyward serve`:
 * an HTTP (event stream) and a gRPC (SubscribeSecret) subscriber see the current secret, then a change
 * within the store's documented delay; scopes deny subscribing as they deny a GET; a polled store makes one
 * version check per poll interval however many subscribe.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { scopesConfig } from "./denied-names.js";
import { parseExposition, sampleValue, scrape } from "./metrics.js";
import { componentYaml, startSidecar, type Sidecar } from "./sidecar.js";
import { grpcSubscribe, keywardSecretsClient, sseSubscribe, type Received } from "./subscribe-clients.js";

export interface NotifyBackend {
  /** Starts the backend; returns the store type and the metadata of a component reading it. */
  start(): Promise<{ type: string; metadata: Record<string, string>; env?: Record<string, string> }>;
  /** Writes a secret the store answers as `{ [field]: value }`. */
  put(name: string, value: string): void | Promise<void>;
  /** Deletes a secret, when the backend can. */
  remove?(name: string): void | Promise<void>;
  field(name: string): string;
  /** For a polled store: backend requests about `name` so far (version checks and reads). */
  calls?(name: string): number;
  /** The most a change may take to reach a subscriber (the documented delay at the test's settings). */
  delayMs: number;
  close(): Promise<void>;
}

/** The pollInterval the test components use: short, so the cases run in seconds. */
export const TEST_POLL_INTERVAL = "250ms";
const POLL_MS = 250;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function describeNotifyCases(label: string, backend: NotifyBackend): void {
  const CANARY = `notify-${label.replace(/\W/g, "")}-${process.pid}-${Date.now()}`;
  let sidecar: Sidecar;
  const values: string[] = [];
  const put = async (name: string, tag: string) => {
    const v = `${tag}-${CANARY}`;
    values.push(v);
    await backend.put(name, v);
    return v;
  };
  const open: Received<unknown>[] = [];
  const subscribeBoth = async (name: string) => {
    const http = await sseSubscribe(`${sidecar.httpUrl}/v1.0-alpha1/secrets/watched/${name}/subscribe`);
    assert.equal(http.status, 200, http.body);
    assert.match(String(http.headers["content-type"]), /^text\/event-stream/);
    const grpc = grpcSubscribe(sidecar.grpcAddress, { store_name: "watched", key: name });
    open.push(http as Received<unknown>, grpc as Received<unknown>);
    return { http, grpc };
  };
  const httpHas = (name: string, value: string) => (e: { event: string; data: string }) =>
    e.event === "update" && JSON.stringify(JSON.parse(e.data)) === JSON.stringify({ [backend.field(name)]: value });
  const grpcHas = (name: string, value: string) => (u: { data: Record<string, string>; deleted: boolean }) =>
    !u.deleted && JSON.stringify(u.data) === JSON.stringify({ [backend.field(name)]: value });

  before(async () => {
    const { type, metadata, env } = await backend.start();
    await put("rotating", "one");
    await put("fanout", "fanout");
    await put("denied", "denied");
    sidecar = await startSidecar({
      components: {
        "watched.yaml": componentYaml("watched", type, { ...metadata, pollInterval: TEST_POLL_INTERVAL }),
      },
      config: scopesConfig([{ storeName: "watched", deniedSecrets: ["denied"] }]),
      env,
    });
  });

  after(async () => {
    for (const s of open) s.close();
    if (sidecar) {
      const output = sidecar.output();
      assert.equal(await sidecar.stop(), 0, output);
      for (const v of values) assert.ok(!output.includes(v), "a secret value reached the log");
    }
    await backend.close();
  });

  describe(`change notifications of a ${label} component`, () => {
    it(`HTTP and gRPC subscribers get the secret, then its change within ${backend.delayMs} ms`, async () => {
      const first = `one-${CANARY}`;
      const { http, grpc } = await subscribeBoth("rotating");
      await http.waitFor(httpHas("rotating", first), 10_000, "the current secret over HTTP");
      await grpc.waitFor(grpcHas("rotating", first), 10_000, "the current secret over gRPC");
      const changedAt = performance.now();
      const next = await put("rotating", "two");
      const h = await http.waitFor(httpHas("rotating", next), backend.delayMs + 2000, "the change over HTTP");
      const g = await grpc.waitFor(grpcHas("rotating", next), backend.delayMs + 2000, "the change over gRPC");
      for (const [transport, at] of [
        ["HTTP", h.at],
        ["gRPC", g.at],
      ] as const)
        assert.ok(at - changedAt <= backend.delayMs, `${transport}: ${Math.round(at - changedAt)} ms`);
      assert.equal(http.events.filter((e) => e.event === "update").length, 2, JSON.stringify(http.events));
    });

    it("a deleted secret is an `event: delete` and `deleted: true`", async (t) => {
      if (!backend.remove) return t.skip("the backend cannot delete");
      const { http, grpc } = await subscribeBoth("rotating");
      await http.waitFor((e) => e.event === "update", 10_000);
      await grpc.waitFor((u) => !u.deleted, 10_000);
      await backend.remove("rotating");
      await http.waitFor((e) => e.event === "delete", backend.delayMs + 2000, "a delete event");
      await grpc.waitFor((u) => u.deleted, backend.delayMs + 2000, "a deleted update");
      const back = await put("rotating", "three");
      await http.waitFor(httpHas("rotating", back), backend.delayMs + 2000, "the secret again over HTTP");
      await grpc.waitFor(grpcHas("rotating", back), backend.delayMs + 2000, "the secret again over gRPC");
    });

    it("scopes deny subscribing to a secret a GET may not read", async () => {
      const http = await sseSubscribe(`${sidecar.httpUrl}/v1.0-alpha1/secrets/watched/denied/subscribe`);
      assert.equal(http.status, 403);
      assert.equal(JSON.parse(http.body).errorCode, "ERR_PERMISSION_DENIED");
      const grpc = grpcSubscribe(sidecar.grpcAddress, { store_name: "watched", key: "denied" });
      assert.equal(await grpc.ended, 7, grpc.details());
      assert.equal(grpc.events.length, 0);
      grpc.close();
    });

    it("subscribing to a secret that does not exist answers as a GET does", async () => {
      const get = await fetch(`${sidecar.httpUrl}/v1.0/secrets/watched/no-such-secret`);
      const http = await sseSubscribe(`${sidecar.httpUrl}/v1.0-alpha1/secrets/watched/no-such-secret/subscribe`);
      assert.equal(http.status, get.status);
      assert.equal(JSON.parse(http.body).errorCode, ((await get.json()) as { errorCode: string }).errorCode);
      const grpc = grpcSubscribe(sidecar.grpcAddress, { store_name: "watched", key: "no-such-secret" });
      assert.notEqual(await grpc.ended, 0);
      assert.equal(grpc.events.length, 0);
      grpc.close();
      assert.ok(!sidecar.output().includes("unexpected error"), "the refusal was an unexpected error");
    });

    it("many subscribers of one secret make one check per poll interval, and the gauge counts them", async (t) => {
      const calls = backend.calls;
      const client = keywardSecretsClient(sidecar.grpcAddress);
      const subs: Received<unknown>[] = [];
      try {
        for (let i = 0; i < 10; i++) {
          const http = await sseSubscribe(`${sidecar.httpUrl}/v1.0-alpha1/secrets/watched/fanout/subscribe`);
          subs.push(http as Received<unknown>, grpcSubscribe(client, { store_name: "watched", key: "fanout" }));
        }
        await Promise.all(subs.map((s) => s.waitFor(() => true, 10_000)));
        if (sidecar.metricsPort !== undefined) {
          const samples = parseExposition(await scrape(sidecar.metricsPort));
          const active = sampleValue(samples, "keyward_secret_subscriptions_active", {
            app_id: "test-app",
            component: "watched",
          });
          assert.ok(active !== undefined && active >= 20, `active subscriptions: ${active}`);
          assert.ok(!samples.some((s) => Object.values(s.labels).includes("fanout")), "a secret name in a label");
        }
        if (!calls)
          return t.skip("no backend call count: the store pushes changes, or its emulator does not count per secret");
        const before = calls("fanout");
        await pause(POLL_MS * 6);
        const made = calls("fanout") - before;
        // Twenty subscribers polling on their own would make at least 120 calls in six intervals.
        assert.ok(made >= 3 && made <= 8, `${made} backend calls in 6 poll intervals`);
        if (sidecar.metricsPort !== undefined) {
          const samples = parseExposition(await scrape(sidecar.metricsPort));
          const labels = { app_id: "test-app", component: "watched" };
          const polls = sampleValue(samples, "keyward_secret_polls_total", labels) ?? 0;
          const sent = sampleValue(samples, "keyward_secret_notifications_total", labels) ?? 0;
          assert.ok(polls >= 3, `keyward_secret_polls_total ${polls}`);
          assert.ok(sent >= 20, `keyward_secret_notifications_total ${sent}`);
        }
      } finally {
        for (const s of subs) s.close();
        client.close();
      }
    });
  });
}
