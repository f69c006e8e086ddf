/** The secrets API over HTTP and over gRPC against a started bin/keyward (docs/compatibility.md §1.3-1.4, §2-§4). */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { componentYaml, startSidecar, type Sidecar } from "../helpers/sidecar.js";
import { describeTransports, expectError, grpcSecretsClient, httpSecretsClient } from "../helpers/clients.js";
import { startApiSidecar } from "./fixtures.js";

const NOT_CONFIGURED = {
  errorCode: "ERR_SECRET_STORES_NOT_CONFIGURED",
  http: 500,
  grpc: 9,
  message: "secret store is not configured",
};

let sidecar: Sidecar;
before(async () => {
  sidecar = await startApiSidecar();
});
after(async () => {
  assert.equal(await sidecar.stop(), 0);
});

describeTransports(
  "secrets API",
  () => sidecar,
  (client) => {
    it("get returns the store's flat map", async () => {
      assert.deepEqual(await client().get("filestore", "secret"), {
        ok: true,
        data: { secret: "v1" },
        status: client().transport === "http" ? 200 : "OK",
      });
    });

    it("nested secrets are flattened with ':'", async () => {
      const o = await client().get("filestore", "nested:a");
      assert.ok(o.ok);
      assert.deepEqual(o.data, { "nested:a": "x" });
    });

    it("a name with '/' works", async () => {
      const o = await client().get("filestore", "a/b");
      assert.ok(o.ok, JSON.stringify(o));
      assert.deepEqual(o.data, { "a/b": "slash" });
    });

    it("a missing secret is ERR_SECRET_GET with daprd's message", async () => {
      expectError(await client().get("filestore", "nope"), {
        errorCode: "ERR_SECRET_GET",
        http: 500,
        grpc: 13,
        message: "failed getting secret with key nope from secret store filestore: secret nope not found",
      });
    });

    it("an unknown store is ERR_SECRET_STORE_NOT_FOUND (401 / InvalidArgument)", async () => {
      expectError(await client().get("nostore", "secret"), {
        errorCode: "ERR_SECRET_STORE_NOT_FOUND",
        http: 401,
        grpc: 3,
        message: "failed finding secret store with key nostore",
      });
      expectError(await client().bulk("nostore"), { errorCode: "ERR_SECRET_STORE_NOT_FOUND", http: 401, grpc: 3 });
    });

    it("scopes: an allow-list denies everything else before the store is called", async () => {
      const ok = await client().get("scoped", "secret");
      assert.ok(ok.ok);
      assert.deepEqual(ok.data, { secret: "v1" });
      expectError(await client().get("scoped", "other"), {
        errorCode: "ERR_PERMISSION_DENIED",
        http: 403,
        grpc: 7,
        message: 'access denied by policy to get "other" from "scoped"',
      });
      // Denied before the store is asked: a missing secret is still a permission error.
      expectError(await client().get("scoped", "does-not-exist"), {
        errorCode: "ERR_PERMISSION_DENIED",
        http: 403,
        grpc: 7,
      });
    });

    it("scopes: a deny-list denies only its names", async () => {
      expectError(await client().get("denylisted", "secret"), {
        errorCode: "ERR_PERMISSION_DENIED",
        http: 403,
        grpc: 7,
        message: 'access denied by policy to get "secret" from "denylisted"',
      });
      assert.ok((await client().get("denylisted", "other")).ok);
    });

    it("bulk returns every secret as a map of maps", async () => {
      const o = await client().bulk("filestore");
      assert.ok(o.ok);
      assert.deepEqual(o.data, {
        secret: { secret: "v1" },
        "nested:a": { "nested:a": "x" },
        "a/b": { "a/b": "slash" },
        "with space": { "with space": "sp" },
        bulk: { bulk: "named-bulk" },
        "x<y&z": { "x<y&z": "html<>&" },
        other: { other: "o" },
      });
    });

    it("bulk is filtered by scope, silently", async () => {
      const scoped = await client().bulk("scoped");
      assert.ok(scoped.ok);
      assert.deepEqual(scoped.data, { secret: { secret: "v1" } });
      const deny = await client().bulk("denylisted");
      assert.ok(deny.ok && deny.data);
      assert.equal("secret" in deny.data, false);
      assert.ok("other" in deny.data);
    });

    it("multi-valued secrets return their inner keys", async () => {
      const o = await client().get("multistore", "parent");
      assert.ok(o.ok);
      assert.deepEqual(o.data, { child1: "12345", "child2:child3": "67890" });
      const b = await client().bulk("multistore");
      assert.ok(b.ok);
      assert.deepEqual(b.data, { parent: { child1: "12345", "child2:child3": "67890" }, single: { single: "s" } });
    });

    it("local.env: a missing variable is an empty value; bulk strips the prefix", async () => {
      const o = await client().get("envstore", "MISSING");
      assert.ok(o.ok);
      assert.deepEqual(o.data, { MISSING: "" });
      const b = await client().bulk("envstore");
      assert.ok(b.ok);
      assert.deepEqual(b.data, { ONE: { ONE: "1" }, TWO: { TWO: "2" } });
    });

    it("unknown request metadata is passed to the store and ignored by local stores", async () => {
      const o = await client().get("filestore", "secret", { version_id: "3", namespace: "x" });
      assert.ok(o.ok);
      assert.deepEqual(o.data, { secret: "v1" });
    });
  },
);

describe("no secret stores loaded", () => {
  let bare: Sidecar;
  before(async () => {
    bare = await startSidecar({
      components: { "state.yaml": componentYaml("statestore", "state.redis", { redisHost: "localhost:6379" }) },
    });
  });
  after(async () => {
    await bare.stop();
  });
  for (const [name, make] of [
    ["http", (s: Sidecar) => httpSecretsClient(s.httpUrl)],
    ["grpc", (s: Sidecar) => grpcSecretsClient(s.grpcAddress)],
  ] as const) {
    it(`ERR_SECRET_STORES_NOT_CONFIGURED over ${name}`, async () => {
      const c = make(bare);
      expectError(await c.get("any", "thing"), NOT_CONFIGURED);
      expectError(await c.bulk("any"), NOT_CONFIGURED);
      c.close();
    });
  }
  it("the skipped state store was warned about once", () => {
    const lines = bare
      .output()
      .split("\n")
      .filter((l) => l.includes("statestore"));
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(lines[0]!, /not a secret store/);
  });
});
