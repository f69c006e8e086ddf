/** gRPC details of docs/compatibility.md §2: metadata calls, unimplemented methods, empty names, shutdown. */
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
  if (s.process.exitCode === null) await s.stop();
});

describe("gRPC API", () => {
  it("GetMetadata lists the app id and components with capabilities", async () => {
    const { res, err } = await unary(c, "GetMetadata", {});
    assert.equal(err, undefined);
    assert.equal(res!.id, "test-app");
    const comps = res!.registered_components as {
      name: string;
      type: string;
      version: string;
      capabilities: string[];
    }[];
    const multi = comps.find((x) => x.name === "multistore");
    assert.deepEqual(multi, {
      name: "multistore",
      type: "secretstores.local.file",
      version: "v1",
      capabilities: ["MULTIPLE_KEY_VALUES_PER_SECRET"],
    });
    assert.ok(res!.runtime_version);
  });

  it("SetMetadata stores an extended attribute", async () => {
    assert.equal((await unary(c, "SetMetadata", { key: "owner", value: "team-a" })).err, undefined);
    const { res } = await unary(c, "GetMetadata", {});
    assert.equal((res!.extended_metadata as Record<string, string>).owner, "team-a");
  });

  it("a secret literally named bulk can be read over gRPC", async () => {
    const { res } = await unary(c, "GetSecret", { store_name: "filestore", key: "bulk" });
    assert.deepEqual(res!.data, { bulk: "named-bulk" });
  });

  it("an empty store name is InvalidArgument with daprd's message", async () => {
    const { err } = await unary(c, "GetSecret", { store_name: "", key: "x" });
    assert.equal(err!.code, status.INVALID_ARGUMENT);
    assert.equal(err!.details, "failed finding secret store with key ");
  });

  it("every other Dapr method answers UNIMPLEMENTED", async () => {
    for (const m of ["GetState", "SaveState", "PublishEvent", "InvokeBinding", "GetConfiguration"]) {
      const { err } = await unary(c, m, {});
      assert.equal(err?.code, status.UNIMPLEMENTED, m);
    }
  });

  it("Shutdown answers, then the sidecar exits 0", async () => {
    const { err } = await unary(c, "Shutdown", {});
    assert.equal(err, undefined);
    assert.equal(await s.exited, 0);
  });
});
