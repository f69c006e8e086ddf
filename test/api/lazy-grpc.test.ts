/**
 * The gRPC port is open from ready, but grpc-js and the Dapr protos load only on its first connection: an
 * app that talks HTTP only never loads them, and an app that talks gRPC is served from its first call,
 * however many connections arrive while the API loads and whatever they do meanwhile.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { daprGrpcClient, grpcSecretsClient, unary } from "../helpers/clients.js";
import { useRecordedSidecar, type Metafile } from "../helpers/module-log.js";
import { REPO_ROOT } from "../helpers/paths.js";
import { startSidecar } from "../helpers/sidecar.js";

const SECRET = `lazy-grpc-${process.pid}-${Date.now()}`;
const LOADED = "gRPC API loaded on its first connection";

/** The bundle's chunks that hold grpc-js or Keyward's gRPC API. */
function grpcChunks(): string[] {
  const meta = JSON.parse(readFileSync(join(REPO_ROOT, "dist", "bundle-meta.json"), "utf8")) as Metafile;
  return Object.entries(meta.outputs)
    .filter(([, o]) => Object.keys(o.inputs).some((i) => /node_modules\/@grpc\/grpc-js\/|src\/api\/grpc\//.test(i)))
    .map(([file]) => pathToFileURL(join(REPO_ROOT, file)).href);
}

const count = (text: string, part: string) => text.split(part).length - 1;

describe("gRPC API loaded on the first gRPC connection", () => {
  const recorded = useRecordedSidecar(SECRET);

  it("answers over HTTP without loading any gRPC code", async () => {
    const res = await fetch(`${recorded.sidecar.httpUrl}/v1.0/secrets/local/token`);
    assert.deepEqual(await res.json(), { token: SECRET });
    const chunks = grpcChunks();
    assert.ok(chunks.length > 0, "the bundle has a gRPC chunk");
    assert.deepEqual(
      chunks.filter((c) => recorded.modules.resolved().includes(c)),
      [],
    );
    assert.equal(count(recorded.sidecar.output(), LOADED), 0);
  });

  it("survives a first connection that sends garbage and resets while the API loads", async () => {
    await new Promise<void>((resolve, reject) => {
      const s = connect(recorded.sidecar.grpcPort, "127.0.0.1", () => {
        s.write("PRI * HTTP/2.0\r\n\r\nnot a settings frame");
        s.resetAndDestroy();
        resolve();
      });
      s.on("error", reject);
    });
    // The API finishes loading with nobody left to serve; the process is still up and serving.
    const res = await fetch(`${recorded.sidecar.httpUrl}/v1.0/healthz`);
    assert.equal(res.status, 204);
  });

  it("serves every one of many connections opened at once", async () => {
    const clients = Array.from({ length: 12 }, () =>
      daprGrpcClient(recorded.sidecar.grpcAddress, { "grpc.use_local_subchannel_pool": 1 }),
    );
    try {
      const answers = await Promise.all(
        clients.map((c) => unary(c, "GetSecret", { store_name: "local", key: "token", metadata: {} })),
      );
      for (const a of answers) assert.deepEqual(a.res?.data, { token: SECRET }, a.err?.message);
    } finally {
      for (const c of clients) c.close();
    }
    assert.equal(count(recorded.sidecar.output(), LOADED), 1, "loaded once");
    assert.ok(grpcChunks().some((c) => recorded.modules.resolved().includes(c)));
    assert.ok(!recorded.sidecar.output().includes(SECRET), "the secret value is not in the output");
  });

  it("serves connections made after the load directly", async () => {
    const grpc = grpcSecretsClient(recorded.sidecar.grpcAddress);
    try {
      assert.deepEqual(await grpc.get("local", "token"), { ok: true, data: { token: SECRET }, status: "OK" });
      assert.deepEqual((await grpc.get("local", "missing")).ok, false);
    } finally {
      grpc.close();
    }
    assert.equal(count(recorded.sidecar.output(), LOADED), 1);
  });
});

describe("a sidecar whose gRPC API is still loading", () => {
  it("exits 0 on SIGTERM sent the moment its first gRPC connection opens", async () => {
    // The connection never speaks: destroyed if the API is still loading, or held by grpc-js (as any silent
    // connection is) until the grace period ends. Either way the sidecar ends with 0.
    const sidecar = await startSidecar({ args: ["--dapr-graceful-shutdown-seconds", "1"] });
    const silent = connect(sidecar.grpcPort, "127.0.0.1");
    silent.on("error", () => {});
    await new Promise((r) => silent.once("connect", r));
    const code = await sidecar.stop("SIGTERM");
    silent.destroy();
    assert.equal(code, 0);
    assert.match(sidecar.output(), /shutting down/);
  });
});
