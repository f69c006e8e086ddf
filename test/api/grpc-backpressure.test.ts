/**
 * gRPC backpressure: a client that opens many bulk calls and never reads their answers must not make the
 * sidecar build and hold every answer; other clients are served meanwhile and memory comes back after.
 */
import assert from "node:assert/strict";
import { connect, type ClientHttp2Session } from "node:http2";
import { after, before, describe, it } from "node:test";
import { daprGrpcClient, unary, type DaprGrpcClient } from "../helpers/clients.js";
import { grpcFrame, protoString } from "../helpers/grpc-frames.js";
import { rssMiB, sleep } from "../helpers/process-memory.js";
import type { Sidecar } from "../helpers/sidecar.js";
import { bigSecretValue, startBigStoreSidecar } from "./fixtures.js";

const CONNECTIONS = 5;
const CALLS = 100;

let s: Sidecar;
let c: DaprGrpcClient;
before(async () => {
  s = await startBigStoreSidecar();
  c = daprGrpcClient(s.grpcAddress);
});
after(async () => {
  c.close();
  assert.equal(await s.stop(), 0);
});

describe("gRPC backpressure", () => {
  it("bulk calls whose answers are never read hold little memory; others are served; memory returns", async () => {
    const warm = await unary(c, "GetBulkSecret", { store_name: "big" });
    assert.equal(Object.keys(warm.res!.data as object).length, 1000);
    await sleep(300);
    const idle = rssMiB(s.process.pid!);

    const request = grpcFrame(protoString(1, "big")); // GetBulkSecretRequest{store_name: "big"}
    const hogs: ClientHttp2Session[] = [];
    for (let i = 0; i < CONNECTIONS; i++) {
      const session = connect(`http://127.0.0.1:${s.grpcPort}`);
      session.on("error", () => undefined);
      for (let j = 0; j < CALLS; j++) {
        const stream = session.request({
          ":method": "POST",
          ":path": "/dapr.proto.runtime.v1.Dapr/GetBulkSecret",
          "content-type": "application/grpc",
          te: "trailers",
        });
        stream.on("error", () => undefined);
        stream.pause(); // never reads
        stream.end(request);
      }
      hogs.push(session);
    }
    // Without backpressure the sidecar builds all 500 answers (over 500 MB) here.
    let peak = idle;
    for (let i = 0; i < 12; i++) {
      const r = await unary(c, "GetSecret", { store_name: "big", key: "s3" });
      assert.deepEqual(r.res?.data, { s3: bigSecretValue(3) }, r.err?.details);
      peak = Math.max(peak, rssMiB(s.process.pid!));
      await sleep(250);
    }
    assert.ok(peak - idle < 150, `RSS grew by ${Math.round(peak - idle)} MiB with ${CONNECTIONS} stalled clients`);

    for (const session of hogs) session.destroy();
    await sleep(1000);
    assert.equal(s.process.exitCode, null, "the sidecar is still running");
    const r = await unary(c, "GetSecret", { store_name: "big", key: "s1" });
    assert.equal(r.err, undefined);
    const back = rssMiB(s.process.pid!);
    assert.ok(back - idle < 150, `RSS is ${Math.round(back - idle)} MiB above idle after the clients left`);
  });
});
