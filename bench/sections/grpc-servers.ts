/**
 * @module gRPC server candidates: a bare @grpc/grpc-js server against a bare @connectrpc/connect-node server,
 * both serving the same Dapr GetSecret answer from the same vendored proto, both loaded by the same grpc-js load
 * generator in alternating rounds. It measures which library to serve gRPC with, not Keyward itself.
 * Runs in `npm run bench`, or alone: `node dist/bench/sections/grpc-servers.js` (KEYWARD_BENCH_QUICK=1 for short).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { benchConfig, type BenchConfig } from "../lib/config.js";
import { BENCH_KEY, BENCH_VALUE } from "../lib/fixtures.js";
import { isMain } from "../lib/main.js";
import { PATHS, rssMB, startBare } from "../lib/processes.js";
import { grpcPair } from "./api.js";
import type { PairSummary } from "./compare.js";

export interface GrpcServersResults {
  /** "keyward" holds connect-node, "baseline" grpc-js. */
  throughput: PairSummary;
  /** Undefined when a server fell so far behind the fixed rate that no call in the window completed. */
  fixedRate?: PairSummary;
  fixedRateMissed?: string;
  idleMB: { connect: number; grpcjs: number };
  afterLoadMB: { connect: number; grpcjs: number };
}

const LABELS = ["connect-node", "grpc-js"] as const;

export async function grpcServersSection(cfg: BenchConfig, log: (m: string) => void): Promise<GrpcServersResults> {
  const spec = { data: { [BENCH_KEY]: BENCH_VALUE } };
  const connect = await startBare(PATHS.bareConnect, spec);
  const grpcjs = await startBare(PATHS.bareGrpc, spec);
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const idleMB = { connect: rssMB(connect.pid), grpcjs: rssMB(grpcjs.pid) };
    const throughput = await grpcPair(cfg, "grpc servers", "throughput", connect, grpcjs, log, LABELS);
    let fixedRate: PairSummary | undefined;
    let fixedRateMissed: string | undefined;
    try {
      fixedRate = await grpcPair(cfg, "grpc servers", "latency", connect, grpcjs, log, LABELS);
    } catch (err) {
      // On a busy machine the slower server can fall so far behind 1,000 call/s that no call completes in time.
      fixedRateMissed = (err as Error).message.split("\n")[0];
      log(`grpc servers latency: ${fixedRateMissed}`);
    }
    return {
      throughput,
      fixedRate,
      fixedRateMissed,
      idleMB,
      afterLoadMB: { connect: rssMB(connect.pid), grpcjs: rssMB(grpcjs.pid) },
    };
  } finally {
    await connect.stop();
    await grpcjs.stop();
  }
}

if (isMain(import.meta.url)) {
  const t0 = performance.now();
  const log = (m: string) =>
    process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(3)}s] ${m}\n`);
  grpcServersSection(benchConfig(process.env), log).then(
    async (r) => {
      const { grpcServersRows, textTable } = await import("../lib/report.js");
      process.stdout.write(`\n${textTable(grpcServersRows(r))}\n\n`);
      const dir = fileURLToPath(new URL("../../../bench/results/", import.meta.url));
      mkdirSync(dir, { recursive: true });
      writeFileSync(`${dir}grpc-servers.json`, JSON.stringify(r, null, 2) + "\n");
    },
    (err: unknown) => {
      process.stderr.write(`grpc-servers: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
