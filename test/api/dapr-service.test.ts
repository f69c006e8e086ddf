/**
 * The Dapr service Keyward builds for grpc-js without proto-loader (start-up cost) must be the one
 * proto-loader builds from the vendored protos in proto/: same methods, shapes and bytes on the wire.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadPackageDefinition, type ServiceDefinition } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { daprService, serviceRpcs, warmDaprService } from "../../src/api/grpc/dapr-service.js";
import { REPO_ROOT } from "../helpers/paths.js";

function protoLoaderService(): ServiceDefinition {
  const def = loadSync("dapr/proto/runtime/v1/dapr.proto", {
    includeDirs: [join(REPO_ROOT, "proto")],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return (
    loadPackageDefinition(def) as unknown as {
      dapr: { proto: { runtime: { v1: { Dapr: { service: ServiceDefinition } } } } };
    }
  ).dapr.proto.runtime.v1.Dapr.service;
}

const SAMPLES: Record<string, [unknown, unknown]> = {
  GetSecret: [
    { store_name: "vault", key: "db", metadata: { version_id: "2" } },
    { data: { db: "s3cr<e>t&", "a\u2028": "é😀" } },
  ],
  GetBulkSecret: [
    { store_name: "vault", metadata: {} },
    { data: { a: { secrets: { a: "1", b: "2" } }, empty: { secrets: {} } } },
  ],
  GetMetadata: [
    {},
    {
      id: "app",
      registered_components: [
        { name: "s", type: "secretstores.local.file", version: "v1", capabilities: ["MULTIPLE_KEY_VALUES_PER_SECRET"] },
      ],
      extended_metadata: { k: "v" },
      runtime_version: "1.16.0",
      enabled_features: [],
      actor_runtime: { runtime_status: "DISABLED", host_ready: false },
    },
  ],
  SetMetadata: [{ key: "k", value: "v" }, {}],
  Shutdown: [{}, {}],
  InvokeService: [
    {
      id: "other",
      message: { method: "m", data: { type_url: "t", value: Buffer.from([1, 2, 3]) }, content_type: "text/plain" },
    },
    { content_type: "text/plain" },
  ],
  GetState: [
    { store_name: "s", key: "k", consistency: "CONSISTENCY_STRONG", metadata: {} },
    { data: Buffer.from("x"), etag: "1" },
  ],
};

describe("Dapr gRPC service definition", () => {
  const ours = daprService();
  const theirs = protoLoaderService();

  it("has proto-loader's methods, paths and streaming shapes", () => {
    assert.deepEqual(Object.keys(ours), Object.keys(theirs));
    for (const [name, m] of Object.entries(theirs)) {
      const o = ours[name]!;
      assert.deepEqual(
        [o.path, o.requestStream, o.responseStream, o.originalName],
        [m.path, m.requestStream, m.responseStream, m.originalName],
        name,
      );
    }
  });

  it("encodes and decodes served and unserved messages exactly as proto-loader does", () => {
    for (const [name, [request, response]] of Object.entries(SAMPLES)) {
      const o = ours[name]!;
      const t = theirs[name]!;
      const req = t.requestSerialize(request);
      const res = t.responseSerialize(response);
      assert.deepEqual(o.requestSerialize(request), req, `${name} request bytes`);
      assert.deepEqual(o.responseSerialize(response), res, `${name} response bytes`);
      assert.deepEqual(o.requestDeserialize(req), t.requestDeserialize(req), `${name} request object`);
      assert.deepEqual(o.responseDeserialize(res), t.responseDeserialize(res), `${name} response object`);
      assert.throws(
        () => o.requestDeserialize(Buffer.from([0xff, 0xff])),
        (err: Error) => {
          assert.throws(() => t.requestDeserialize(Buffer.from([0xff, 0xff])), { message: err.message });
          return true;
        },
      );
    }
  });

  it("reads the same method list at start-up as protobufjs does", () => {
    assert.deepEqual(warmDaprService(), []);
  });

  it("reads rpcs past comments, stream markers and option blocks", () => {
    const text = `syntax = "proto3";
      service Other { rpc Nope(A) returns (B); }
      // service Dapr { rpc Commented(A) returns (B); }
      service Dapr {
        /* rpc Hidden(A) returns (B); */
        rpc Unary (pkg.A) returns (google.protobuf.Empty) {}
        rpc Down(A) returns (stream B) { option deprecated = true; }
        rpc Up(stream A) returns (B);  // trailing comment
        rpc Both ( stream A ) returns ( stream B ) {}
      }
      service After { rpc Later(A) returns (B); }`;
    assert.deepEqual(serviceRpcs(text, "Dapr"), [
      { name: "Unary", requestStream: false, responseStream: false },
      { name: "Down", requestStream: false, responseStream: true },
      { name: "Up", requestStream: true, responseStream: false },
      { name: "Both", requestStream: true, responseStream: true },
    ]);
    assert.throws(() => serviceRpcs("service Other {}", "Dapr"), /service Dapr not found/);
  });
});
