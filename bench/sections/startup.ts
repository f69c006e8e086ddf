/**
 * @module Start-up to ready: from spawning the process to the line that announces the listening ports, for
 * 1, 10 and 100 local.file components, beside a bare node:http process doing the same spawn-to-listening.
 * Work a sidecar defers until after ready would hide there, so the first HTTP and gRPC answers, asked for
 * the moment the ready line appears, are timed from the spawn too.
 */
import { Client, credentials } from "@grpc/grpc-js";
import { encodeGetSecretRequest } from "../load/grpc-load.js";
import type { BenchConfig } from "../lib/config.js";
import { secretsDocument, type Workspace } from "../lib/fixtures.js";
import { PATHS, rssMB, startBare, startKeyward } from "../lib/processes.js";
import { median } from "../lib/stats.js";
import { fetchOnce } from "./api.js";

export interface StartupResults {
  baselineMs: number;
  components: {
    count: number;
    readyMs: number;
    initMs: number;
    firstHttpMs: number;
    firstGrpcMs: number;
    rssMB: number;
    rounds: number[];
  }[];
  baselineRounds: number[];
}

export async function startupSection(
  cfg: BenchConfig,
  ws: Workspace,
  log: (m: string) => void,
): Promise<StartupResults> {
  const dirs = cfg.startupComponents.map((count) => {
    const stores: Record<string, Record<string, string>> = {};
    for (let i = 1; i <= count; i++) stores[`store-${String(i).padStart(3, "0")}`] = secretsDocument(10);
    return { count, dir: ws.resources(`startup-${count}`, stores) };
  });
  const baselineRounds: number[] = [];
  const per = new Map<number, { ready: number[]; init: number[]; rss: number[]; http: number[]; grpc: number[] }>(
    cfg.startupComponents.map((c) => [c, { ready: [], init: [], rss: [], http: [], grpc: [] }]),
  );
  for (let r = 0; r < cfg.startupRounds; r++) {
    const bare = await startBare(PATHS.bareHttp, { status: 204, contentType: "text/plain", body: "" });
    baselineRounds.push(bare.readyMs);
    await bare.stop();
    for (const { count, dir } of r % 2 === 0 ? dirs : [...dirs].reverse()) {
      const spawnedAt = performance.now();
      const kw = await startKeyward(dir);
      const first = await firstAnswers(kw.httpPort, kw.grpcPort);
      const m = per.get(count)!;
      const offset = performance.now() - spawnedAt - first.sinceReady;
      m.http.push(offset + first.httpMs);
      m.grpc.push(offset + first.grpcMs);
      m.ready.push(kw.readyMs);
      m.init.push(kw.initMs);
      m.rss.push(rssMB(kw.pid));
      await kw.stop();
    }
    log(
      `start-up round ${r + 1}/${cfg.startupRounds}: bare node ${baselineRounds[r]!.toFixed(0)} ms, ${cfg.startupComponents.map((c) => `${c} components ${per.get(c)!.ready[r]!.toFixed(0)} ms`).join(", ")}`,
    );
  }
  return {
    baselineMs: median(baselineRounds),
    baselineRounds,
    components: cfg.startupComponents.map((count) => {
      const m = per.get(count)!;
      return {
        count,
        readyMs: median(m.ready),
        initMs: median(m.init),
        firstHttpMs: median(m.http),
        firstGrpcMs: median(m.grpc),
        rssMB: median(m.rss),
        rounds: m.ready,
      };
    }),
  };
}

/** Asks for one secret over HTTP and over gRPC at once; times are from the call, `sinceReady` is the total. */
async function firstAnswers(
  httpPort: number,
  grpcPort: number,
): Promise<{ httpMs: number; grpcMs: number; sinceReady: number }> {
  const t0 = performance.now();
  const client = new Client(`127.0.0.1:${grpcPort}`, credentials.createInsecure(), {
    "grpc.use_local_subchannel_pool": 1,
  });
  const grpc = new Promise<number>((resolve, reject) =>
    client.makeUnaryRequest(
      "/dapr.proto.runtime.v1.Dapr/GetSecret",
      (b: Buffer) => b,
      (b: Buffer) => b,
      encodeGetSecretRequest(FIRST_STORE, FIRST_KEY),
      (err) => (err ? reject(err) : resolve(performance.now() - t0)),
    ),
  );
  const http = fetchOnce(httpPort, `/v1.0/secrets/${FIRST_STORE}/${FIRST_KEY}`).then((r) => {
    if (r.status !== 200) throw new Error(`first HTTP answer: status ${r.status}`);
    return performance.now() - t0;
  });
  try {
    const [httpMs, grpcMs] = await Promise.all([http, grpc]);
    return { httpMs, grpcMs, sinceReady: performance.now() - t0 };
  } finally {
    client.close();
  }
}

const FIRST_STORE = "store-001";
const FIRST_KEY = "secret-00001";
