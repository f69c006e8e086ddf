/**
 * End to end: the change-notification API's rules through `bin/keyward serve` with an API token:
 * the token applies, a store that cannot notify says so, a slow reader gets the latest state without
 * holding others back, the per-connection bound refuses clearly, and removing the component or shutting
 * down ends the streams.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { componentYaml, startSidecar, type Sidecar } from "../helpers/sidecar.js";
import {
  grpcSubscribe,
  keywardSecretsClient,
  sseSubscribe,
  type GrpcSubscription,
  type SseSubscription,
} from "../helpers/subscribe-clients.js";

const TOKEN = `notify-token-${process.pid}-${Date.now()}`;
const CANARY = `notify-api-${process.pid}-${Date.now()}`;
const auth = { "dapr-api-token": TOKEN };
let sidecar: Sidecar;
let secretsFile: string;
const secrets: Record<string, string> = { db: `db-${CANARY}`, big: "", keep: `keep-${CANARY}` };
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const write = () => writeFileSync(secretsFile, JSON.stringify(secrets));
const url = (store: string, name: string) => `${sidecar.httpUrl}/v1.0-alpha1/secrets/${store}/${name}/subscribe`;

before(async () => {
  sidecar = await startWithFile();
});

async function startWithFile(): Promise<Sidecar> {
  const dir = mkdtempSync(join(tmpdir(), "keyward-notify-api-"));
  secretsFile = join(dir, "secrets.json");
  write();
  return startSidecar({
    components: {
      "envs.yaml": componentYaml("envs", "secretstores.local.env"),
      "files.yaml": componentYaml("files", "secretstores.local.file", { secretsFile }),
      "extra.yaml": componentYaml("extra", "secretstores.local.file", { secretsFile }),
    },
    env: { DAPR_API_TOKEN: TOKEN },
    args: ["--dapr-graceful-shutdown-seconds", "20"],
  });
}

after(async () => {
  if (sidecar && sidecar.process.exitCode === null) await sidecar.stop();
  assert.ok(!sidecar.output().includes(CANARY), "a secret value reached the log");
});

describe("change notification API", () => {
  it("the API token applies to subscribing as to a GET", async () => {
    const http = await sseSubscribe(url("files", "db"));
    assert.equal(http.status, 401);
    const grpc = grpcSubscribe(sidecar.grpcAddress, { store_name: "files", key: "db" });
    assert.equal(await grpc.ended, 16);
    grpc.close();
    const ok = await sseSubscribe(url("files", "db"), auth);
    assert.equal(ok.status, 200);
    const first = await ok.waitFor((e) => e.event === "update", 5000);
    assert.deepEqual(JSON.parse(first.data), { db: secrets.db });
    ok.close();
  });

  it("local.env cannot notify: HTTP 501 and gRPC FAILED_PRECONDITION with ERR_SECRET_SUBSCRIBE_UNSUPPORTED", async () => {
    const http = await sseSubscribe(url("envs", "HOME"), auth);
    assert.equal(http.status, 501);
    const body = JSON.parse(http.body) as { errorCode: string; message: string };
    assert.equal(body.errorCode, "ERR_SECRET_SUBSCRIBE_UNSUPPORTED");
    assert.match(body.message, /envs .*cannot notify changes/);
    const grpc = grpcSubscribe(sidecar.grpcAddress, { store_name: "envs", key: "HOME" }, TOKEN);
    assert.equal(await grpc.ended, 9);
    assert.match(grpc.details(), /cannot notify changes/);
    grpc.close();
  });

  it("an unknown store and a missing secret answer as a GET would", async () => {
    const store = await sseSubscribe(url("nope", "db"), auth);
    assert.equal(JSON.parse(store.body).errorCode, "ERR_SECRET_STORE_NOT_FOUND");
    const secret = await sseSubscribe(url("files", "missing"), auth);
    assert.equal(secret.status, 500);
    assert.equal(JSON.parse(secret.body).errorCode, "ERR_SECRET_GET");
  });

  it("a slow reader gets the latest state when it reads again and never holds back a fast one", async () => {
    const fast = await sseSubscribe(url("files", "big"), auth);
    const slow = await sseSubscribe(url("files", "big"), auth);
    await fast.waitFor((e) => e.event === "update", 5000);
    await slow.waitFor((e) => e.event === "update", 5000);
    slow.res.pause();
    slow.res.socket.pause();
    let last = "";
    const changes = 15;
    for (let i = 1; i <= changes; i++) {
      // 1 MiB per state: a few of them fill the socket buffers of a reader that does not read.
      last = `${i}-`.padEnd(1 << 20, String.fromCharCode(97 + (i % 26)));
      secrets.big = last;
      write();
      await fast.waitFor((e) => e.data.includes(`"${i}-`), 5000, `change ${i} at the fast reader`);
    }
    slow.res.socket.resume();
    slow.res.resume();
    await slow.waitFor((e) => e.data.includes(`"${changes}-`), 10_000, "the latest state at the slow reader");
    const got = slow.events.filter((e) => e.event === "update").length;
    assert.ok(got < changes, `the slow reader was sent ${got} states for ${changes} changes: nothing was dropped`);
    assert.equal(JSON.parse(slow.events.at(-1)!.data).big, last);
    fast.close();
    slow.close();
    secrets.big = "";
    write();
  });

  it("past 64 subscriptions on one gRPC connection the next is refused with RESOURCE_EXHAUSTED", async () => {
    const client = keywardSecretsClient(sidecar.grpcAddress);
    const subs: GrpcSubscription[] = [];
    try {
      for (let i = 0; i < 64; i++) subs.push(grpcSubscribe(client, { store_name: "files", key: "keep" }, TOKEN));
      await Promise.all(subs.map((s) => s.waitFor(() => true, 10_000)));
      const refused = grpcSubscribe(client, { store_name: "files", key: "keep" }, TOKEN);
      assert.equal(await refused.ended, 8);
      assert.match(refused.details(), /too many secret subscriptions: this connection holds its maximum of 64/);
      subs.pop()!.close();
      await pause(200);
      const again = grpcSubscribe(client, { store_name: "files", key: "keep" }, TOKEN);
      await again.waitFor(() => true, 5000, "a subscription once one ended");
      subs.push(again);
    } finally {
      for (const s of subs) s.close();
      client.close();
    }
  });

  it("an idle stream gets a `: keepalive` comment within 15 s", async () => {
    const sub = await sseSubscribe(url("files", "keep"), auth);
    await sub.waitFor(() => true, 5000);
    const started = Date.now();
    while (!sub.comments.includes("keepalive")) {
      assert.ok(Date.now() - started < 17_000, "no keepalive within 17 s");
      await pause(100);
    }
    assert.equal(sub.events.length, 1, "a keepalive is a comment, not an event");
    sub.close();
  });

  it("removing the component ends its streams", async () => {
    const http = await sseSubscribe(url("extra", "keep"), auth);
    const grpc = grpcSubscribe(sidecar.grpcAddress, { store_name: "extra", key: "keep" }, TOKEN);
    await http.waitFor(() => true, 5000);
    await grpc.waitFor(() => true, 5000);
    rmSync(join(sidecar.dir, "resources", "extra.yaml"));
    assert.equal(await Promise.race([http.ended, pause(10_000).then(() => "still open")]), "end");
    assert.equal(await grpc.ended, 14);
    assert.match(grpc.details(), /the component was removed/);
    grpc.close();
  });

  it("shutdown ends open streams at once instead of waiting out the grace period", async () => {
    const http: SseSubscription = await sseSubscribe(url("files", "db"), auth);
    const grpc = grpcSubscribe(sidecar.grpcAddress, { store_name: "files", key: "db" }, TOKEN);
    await http.waitFor(() => true, 5000);
    await grpc.waitFor(() => true, 5000);
    const started = Date.now();
    assert.equal(await sidecar.stop(), 0);
    assert.ok(Date.now() - started < 10_000, `shutdown took ${Date.now() - started} ms`);
    await http.ended;
    await grpc.ended;
    grpc.close();
  });
});
