/**
 * @module What bounds the sidecar's RSS after load: the same HTTP and gRPC load on a sidecar started as
 * usual and on one whose V8 young generation is capped (`node --max-semi-space-size=N`), the knob that
 * decides most of the growth under load. Informational: the published RSS figure is the default start.
 */
import type { GrpcLoadSpec } from "../load/grpc-load.js";
import type { HttpLoadSpec, LoadResult } from "../load/http-load.js";
import type { BenchConfig } from "../lib/config.js";
import { BENCH_KEY, BENCH_STORE } from "../lib/fixtures.js";
import { PATHS, rssMB, runJson, startKeyward } from "../lib/processes.js";
import { SINGLE_GET_PATH } from "./api.js";

export const SEMI_SPACE_MB = 2;

export interface MemoryVariant {
  nodeArgs: string[];
  idleMB: number;
  afterLoadMB: number;
  httpPerSecond: number;
  grpcPerSecond: number;
}

export async function memorySection(
  cfg: BenchConfig,
  resources: string,
  log: (m: string) => void,
): Promise<MemoryVariant[]> {
  const out: MemoryVariant[] = [];
  for (const nodeArgs of [[], [`--max-semi-space-size=${SEMI_SPACE_MB}`]]) {
    const kw = await startKeyward(resources, { nodeArgs: nodeArgs.length ? nodeArgs : undefined });
    try {
      await new Promise((r) => setTimeout(r, 500));
      const idleMB = rssMB(kw.pid);
      const http = await runJson<LoadResult>(PATHS.httpLoad, {
        port: kw.httpPort,
        path: SINGLE_GET_PATH,
        mode: "closed",
        connections: cfg.httpConnections,
        warmupMs: cfg.warmupMs,
        durationMs: cfg.throughputMs,
      } satisfies HttpLoadSpec);
      const grpc = await runJson<LoadResult>(PATHS.grpcLoad, {
        port: kw.grpcPort,
        store: BENCH_STORE,
        key: BENCH_KEY,
        mode: "closed",
        inFlight: cfg.grpcInFlight,
        channels: cfg.grpcChannels,
        warmupMs: cfg.warmupMs,
        durationMs: cfg.throughputMs,
      } satisfies GrpcLoadSpec);
      const v = {
        nodeArgs,
        idleMB,
        afterLoadMB: rssMB(kw.pid),
        httpPerSecond: http.perSecond,
        grpcPerSecond: grpc.perSecond,
      };
      out.push(v);
      log(
        `memory [${nodeArgs.join(" ") || "default"}]: idle ${v.idleMB.toFixed(1)} MB, after load ${v.afterLoadMB.toFixed(1)} MB (${v.httpPerSecond.toFixed(0)} req/s, ${v.grpcPerSecond.toFixed(0)} calls/s)`,
      );
    } finally {
      await kw.stop();
    }
  }
  return out;
}
