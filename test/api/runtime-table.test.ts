/** daprd's own runtime test table (docs/compatibility.md §10.3) over HTTP and gRPC, with daprd's fake store. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SecretStoreError, type SecretStore } from "../../src/stores/types.js";
import { describeTransports, expectError } from "../helpers/clients.js";
import { startInProcess, type InProcess } from "../helpers/in-process.js";

/** daprd's fake store: good-key has a value, error-key fails, anything else is a nil map. */
class FakeStore implements SecretStore {
  calls = 0;
  constructor(private readonly behaviour: { failFirst?: number; delayMs?: number } = {}) {}
  async init() {}
  async getSecret(req: { name: string }) {
    this.calls++;
    if (this.behaviour.delayMs) await new Promise((r) => setTimeout(r, this.behaviour.delayMs).unref());
    if (this.behaviour.failFirst && this.calls <= this.behaviour.failFirst)
      throw new SecretStoreError("unavailable", "temporary failure");
    if (req.name === "good-key") return { "good-key": "life is good" };
    if (req.name === "error-key") throw new SecretStoreError("internal", "error occurs with error-key");
    return null;
  }
  async bulkGetSecret() {
    return { "good-key": { "good-key": "life is good" } };
  }
  features() {
    return [] as const;
  }
  async close() {}
}

const scope = (storeName: string, defaultAccess: "allow" | "deny", allowed: string[] = [], denied: string[] = []) => ({
  storeName,
  defaultAccess,
  allowedSecrets: new Set(allowed),
  deniedSecrets: new Set(denied),
});

let srv: InProcess;
const flaky = new FakeStore({ failFirst: 1 });
const slow = new FakeStore({ delayMs: 30_000 });
before(async () => {
  srv = await startInProcess({
    stores: {
      store1: new FakeStore(),
      store2: new FakeStore(),
      store3: new FakeStore(),
      store4: new FakeStore(),
      flaky,
      slow,
    },
    scopes: [
      scope("store1", "allow", [], ["not-allowed"]),
      scope("store2", "deny", ["good-key"]),
      scope("store3", "allow", ["good-key"]),
    ],
    resiliencyYaml: `apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: res
spec:
  policies:
    timeouts:
      fast: 100ms
    retries:
      once:
        policy: constant
        duration: 10ms
        maxRetries: 1
  targets:
    components:
      flaky:
        outbound:
          retry: once
      slow:
        outbound:
          retry: once
          timeout: fast
`,
  });
});
after(async () => {
  await srv.close();
});

describeTransports(
  "runtime test table",
  () => srv,
  (client) => {
    it("unknown store → 401 / InvalidArgument", async () => {
      expectError(await client().get("notexistStore", "bad-key"), {
        errorCode: "ERR_SECRET_STORE_NOT_FOUND",
        http: 401,
        grpc: 3,
      });
    });

    it("a nil map → 204 with no body over HTTP, an empty message over gRPC", async () => {
      const o = await client().get("store1", "bad-key");
      assert.ok(o.ok);
      if (client().transport === "http") assert.deepEqual(o, { ok: true, data: null, status: 204 });
      else assert.deepEqual(o.data, {});
    });

    it("denied keys → 403 / PermissionDenied", async () => {
      for (const [store, key] of [
        ["store1", "not-allowed"],
        ["store2", "random"],
        ["store3", "random"],
      ] as const) {
        expectError(await client().get(store, key), { errorCode: "ERR_PERMISSION_DENIED", http: 403, grpc: 7 });
      }
    });

    it("allowed keys → 200", async () => {
      for (const store of ["store1", "store2", "store3", "store4"]) {
        const o = await client().get(store, "good-key");
        assert.ok(o.ok, store);
        assert.deepEqual(o.data, { "good-key": "life is good" });
      }
    });

    it("a store error → 500 ERR_SECRET_GET / Internal", async () => {
      expectError(await client().get("store4", "error-key"), {
        errorCode: "ERR_SECRET_GET",
        http: 500,
        grpc: 13,
        message: "failed getting secret with key error-key from secret store store4: error occurs with error-key",
      });
      expectError(await client().get("store2", "error-key"), {
        errorCode: "ERR_PERMISSION_DENIED",
        http: 403,
        grpc: 7,
      });
    });

    it("bulk → the fake store's map", async () => {
      const o = await client().bulk("store1");
      assert.ok(o.ok);
      assert.deepEqual(o.data, { "good-key": { "good-key": "life is good" } });
    });
  },
);

describe("resiliency (docs/compatibility.md §7.1)", () => {
  it("a retry policy turns one failure into success after two calls", async () => {
    const before = flaky.calls;
    const res = await fetch(`${srv.httpUrl}/v1.0/secrets/flaky/good-key`);
    assert.equal(res.status, 200);
    assert.equal(flaky.calls - before, 2);
  });

  it("a timeout fails a slow store long before it answers, after the retry", async () => {
    const started = Date.now();
    const res = await fetch(`${srv.httpUrl}/v1.0/secrets/slow/good-key`);
    assert.equal(res.status, 500);
    const body = (await res.json()) as { errorCode: string; message: string };
    assert.equal(body.errorCode, "ERR_SECRET_GET");
    assert.match(body.message, /: context deadline exceeded$/);
    assert.equal(slow.calls, 2);
    assert.ok(Date.now() - started < 30_000);
  });
});
