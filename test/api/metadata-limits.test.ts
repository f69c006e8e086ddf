/** Extended metadata (PUT /v1.0/metadata/{key}, gRPC SetMetadata) is bounded in keys and total size. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { daprGrpcClient, unary, type DaprGrpcClient } from "../helpers/clients.js";
import type { Sidecar } from "../helpers/sidecar.js";
import { startApiSidecar } from "./fixtures.js";

let s: Sidecar;
let c: DaprGrpcClient;
before(async () => {
  s = await startApiSidecar();
  c = daprGrpcClient(s.grpcAddress);
});
after(async () => {
  c.close();
  assert.equal(await s.stop(), 0);
});

async function put(key: string, value: string | Buffer): Promise<{ status: number; body: string }> {
  const res = await fetch(`${s.httpUrl}/v1.0/metadata/${encodeURIComponent(key)}`, { method: "PUT", body: value });
  return { status: res.status, body: await res.text() };
}

async function extended(): Promise<Record<string, string>> {
  const res = await fetch(`${s.httpUrl}/v1.0/metadata`);
  return ((await res.json()) as { extended: Record<string, string> }).extended;
}

describe("extended metadata limits", () => {
  it("large values are refused with ERR_METADATA_SET and GetMetadata keeps working for everyone", async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, "a");
    for (let i = 0; i < 3; i++) {
      const r = await put(`big${i}`, big);
      assert.equal(r.status, 400);
      assert.deepEqual(JSON.parse(r.body), {
        errorCode: "ERR_METADATA_SET",
        message: "failed setting metadata: a value may be at most 65536 bytes",
      });
    }
    const { err } = await unary(c, "SetMetadata", { key: "bigrpc", value: big.toString() });
    assert.equal(err?.code, status.INVALID_ARGUMENT);
    assert.match(err!.details, /^failed setting metadata: keys and values may total at most 65536 bytes/);
    const md = await unary(c, "GetMetadata", {});
    assert.equal(md.err, undefined, md.err?.details);
    const ext = md.res!.extended_metadata as Record<string, string>;
    assert.ok(!("big0" in ext) && !("bigrpc" in ext), "nothing refused was stored");
  });

  it("the total size counts every key and value; replacing a value frees its old size", async () => {
    const value = "v".repeat(20_000);
    for (const k of ["t1", "t2", "t3"]) assert.equal((await put(k, value)).status, 204);
    const r = await put("t4", value);
    assert.equal(r.status, 400);
    assert.match(JSON.parse(r.body).message, /would make 80008$/);
    assert.equal((await put("t3", "small")).status, 204, "replacing t3 with a small value fits");
    assert.equal((await put("t4", value)).status, 204);
    const ext = await extended();
    assert.equal(ext.t3, "small");
    assert.equal(ext.t4, value);
    for (const k of ["t1", "t2", "t4"]) assert.equal((await put(k, "")).status, 204);
  });

  it("at most 100 keys, over both transports; an existing key can still be changed", async () => {
    const have = Object.keys(await extended()).length - 2; // daprRuntimeVersion, keywardVersion
    for (let i = have; i < 100; i++) {
      const k = `k${i}`;
      if (i % 2) assert.equal((await put(k, "x")).status, 204);
      else assert.equal((await unary(c, "SetMetadata", { key: k, value: "x" })).err, undefined);
    }
    const r = await put("one-more", "x");
    assert.equal(r.status, 400);
    assert.equal(JSON.parse(r.body).message, 'failed setting metadata: at most 100 keys may be set; "one-more" is new');
    const { err } = await unary(c, "SetMetadata", { key: "one-more", value: "x" });
    assert.equal(err?.code, status.INVALID_ARGUMENT);
    assert.equal((await put("k99", "changed")).status, 204);
    assert.equal((await extended()).k99, "changed");
  });
});
