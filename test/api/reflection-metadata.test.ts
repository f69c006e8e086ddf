/**
 * gRPC server reflection (v1 and v1alpha) through a reflection client, as grpcurl uses it; and the metadata
 * answer's app connection and actor runtime as daprd fills them for a sidecar without an app.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { credentials, loadPackageDefinition, Metadata, type Client, type ClientDuplexStream } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { daprGrpcClient, unary } from "../helpers/clients.js";
import { componentYaml, startSidecar, type Sidecar } from "../helpers/sidecar.js";

const TOKEN = `reflection-token-${process.pid}`;
const VERSIONS = ["v1", "v1alpha"] as const;

type Reply = {
  list_services_response?: { service: { name: string }[] };
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  error_response?: { error_code: number; error_message: string };
};
type ReflectionClient = Client & {
  ServerReflectionInfo(md: Metadata): ClientDuplexStream<Record<string, unknown>, Reply>;
};

function reflectionClient(version: string, address: string): ReflectionClient {
  const protos = join(
    dirname(createRequire(import.meta.url).resolve("@grpc/reflection/package.json")),
    "build",
    "proto",
  );
  const def = loadSync(`grpc/reflection/${version}/reflection.proto`, {
    includeDirs: [protos],
    keepCase: true,
    defaults: true,
  });
  const pkg = loadPackageDefinition(def) as unknown as {
    grpc: { reflection: Record<string, { ServerReflection: new (a: string, c: unknown) => ReflectionClient }> };
  };
  return new pkg.grpc.reflection[version]!.ServerReflection(address, credentials.createInsecure());
}

/** Sends one request on a fresh stream and returns the first reply, or the stream's error. */
function ask(client: ReflectionClient, request: Record<string, unknown>, token?: string): Promise<Reply> {
  const md = new Metadata();
  if (token) md.set("dapr-api-token", token);
  return new Promise((resolve, reject) => {
    const stream = client.ServerReflectionInfo(md);
    stream.once("data", (r: Reply) => {
      resolve(r);
      stream.end();
    });
    stream.once("error", reject);
    stream.write(request);
  });
}

describe("gRPC server reflection and the metadata answer", () => {
  let s: Sidecar;
  before(async () => {
    s = await startSidecar({
      env: { DAPR_API_TOKEN: TOKEN },
      components: { "env.yaml": componentYaml("env", "secretstores.local.env") },
    });
  });
  after(async () => {
    await s?.stop();
  });

  for (const version of VERSIONS) {
    it(`reflection ${version} lists the served services and describes the Dapr and Keyward services`, async () => {
      const client = reflectionClient(version, s.grpcAddress);
      try {
        const list = await ask(client, { list_services: "" }, TOKEN);
        const names = list.list_services_response!.service.map((x) => x.name).sort();
        assert.deepEqual(names, [
          "dapr.proto.runtime.v1.Dapr",
          "grpc.reflection.v1.ServerReflection",
          "grpc.reflection.v1alpha.ServerReflection",
          "keyward.v1alpha1.Secrets",
        ]);
        const keyward = await ask(client, { file_containing_symbol: "keyward.v1alpha1.Secrets" }, TOKEN);
        const keywardFile = Buffer.concat(keyward.file_descriptor_response!.file_descriptor_proto).toString("latin1");
        assert.ok(keywardFile.includes("SubscribeSecret") && keywardFile.includes("SecretUpdate"));
        const file = await ask(client, { file_containing_symbol: "dapr.proto.runtime.v1.Dapr" }, TOKEN);
        const protos = file.file_descriptor_response!.file_descriptor_proto;
        assert.ok(protos.length > 0);
        const all = Buffer.concat(protos).toString("latin1");
        for (const needle of ["dapr.proto.runtime.v1", "GetSecret", "GetBulkSecret"])
          assert.ok(all.includes(needle), `${needle} missing from the descriptors`);
        const secretMessage = await ask(
          client,
          { file_containing_symbol: "dapr.proto.runtime.v1.GetSecretRequest" },
          TOKEN,
        );
        assert.ok(Buffer.concat(secretMessage.file_descriptor_response!.file_descriptor_proto).includes("store_name"));
        const unknown = await ask(client, { file_containing_symbol: "no.such.Symbol" }, TOKEN);
        assert.equal(unknown.error_response?.error_code, 5);
      } finally {
        client.close();
      }
    });
  }

  it("reflection needs the API token like every other call", async () => {
    const client = reflectionClient("v1", s.grpcAddress);
    try {
      await assert.rejects(ask(client, { list_services: "" }), (err: { code?: number }) => err.code === 16);
    } finally {
      client.close();
    }
  });

  it("HTTP metadata: appConnectionProperties and actorRuntime.hostReady as daprd writes them", async () => {
    const res = await fetch(`${s.httpUrl}/v1.0/metadata`, { headers: { "dapr-api-token": TOKEN } });
    const text = await res.text();
    const body = JSON.parse(text) as Record<string, unknown>;
    assert.deepEqual(body.appConnectionProperties, { protocol: "http", channelAddress: "127.0.0.1" });
    assert.deepEqual(body.actorRuntime, { runtimeStatus: "DISABLED", hostReady: false });
    // encoding/json writes the struct's fields in declaration order.
    assert.ok(text.indexOf('"extended"') < text.indexOf('"appConnectionProperties"'));
    assert.ok(text.indexOf('"appConnectionProperties"') < text.indexOf('"actorRuntime"'));
  });

  it("gRPC GetMetadata: app_connection_properties and actor_runtime", async () => {
    const client = daprGrpcClient(s.grpcAddress);
    try {
      const md = new Metadata();
      md.set("dapr-api-token", TOKEN);
      const { res, err } = await unary(client, "GetMetadata", {}, md);
      assert.equal(err, undefined);
      const conn = res!.app_connection_properties as Record<string, unknown>;
      assert.equal(conn.protocol, "http");
      assert.equal(conn.channel_address, "127.0.0.1");
      assert.equal(conn.port, 0);
      assert.deepEqual(res!.actor_runtime, {
        runtime_status: "DISABLED",
        active_actors: [],
        host_ready: false,
        placement: "",
      });
    } finally {
      client.close();
    }
  });
});
