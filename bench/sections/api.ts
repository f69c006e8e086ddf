/**
 * @module Single-secret GET over HTTP and gRPC: Keyward against bare node:http and bare grpc-js servers.
 * Runs in `npm run bench`, or alone: `node dist/bench/sections/api.js [http] [grpc]` (both when none is named;
 * KEYWARD_BENCH_QUICK=1 for short), which prints the rows and writes nothing.
 */
import { request } from "node:http";
import type { GrpcLoadSpec } from "../load/grpc-load.js";
import type { HttpLoadSpec, LoadResult } from "../load/http-load.js";
import { benchConfig, type BenchConfig } from "../lib/config.js";
import { BENCH_KEY, BENCH_STORE, BENCH_VALUE, secretsDocument, Workspace } from "../lib/fixtures.js";
import { isMain } from "../lib/main.js";
import { apiRows, textTable } from "../lib/report.js";
import { PATHS, rssMB, runJson, startBare, startKeyward, type Keyward } from "../lib/processes.js";
import { alternate, type PairSummary } from "./compare.js";

export interface ApiResults {
  throughput: PairSummary;
  fixedRate: PairSummary;
  baselineRssMB: number;
}

export function fetchOnce(port: number, path: string): Promise<{ status: number; contentType: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          contentType: String(res.headers["content-type"] ?? ""),
          body: Buffer.concat(chunks),
        }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

export const SINGLE_GET_PATH = `/v1.0/secrets/${BENCH_STORE}/${BENCH_KEY}`;

export async function httpSection(cfg: BenchConfig, kw: Keyward, log: (m: string) => void): Promise<ApiResults> {
  const ref = await fetchOnce(kw.httpPort, SINGLE_GET_PATH);
  if (ref.status !== 200 || !ref.body.toString().includes(BENCH_VALUE))
    throw new Error(`Keyward did not serve the bench secret: ${ref.status}`);
  const bare = await startBare(PATHS.bareHttp, {
    status: ref.status,
    contentType: ref.contentType,
    body: ref.body.toString("base64"),
  });
  try {
    const side = (pid: number, port: number, spec: Omit<HttpLoadSpec, "port" | "path">) => ({
      pid,
      run: () => runJson<LoadResult>(PATHS.httpLoad, { ...spec, port, path: SINGLE_GET_PATH }),
    });
    const closed = {
      mode: "closed" as const,
      connections: cfg.httpConnections,
      warmupMs: cfg.warmupMs,
      durationMs: cfg.throughputMs,
    };
    const throughput = await alternate(
      "http throughput",
      cfg.rounds,
      side(kw.pid, kw.httpPort, closed),
      side(bare.pid, bare.port, closed),
      log,
    );
    const rate = {
      mode: "rate" as const,
      connections: 16,
      rate: cfg.rate,
      warmupMs: cfg.warmupMs / 2,
      durationMs: cfg.rateMs,
    };
    const fixedRate = await alternate(
      "http latency",
      cfg.rounds,
      side(kw.pid, kw.httpPort, rate),
      side(bare.pid, bare.port, rate),
      log,
    );
    return { throughput, fixedRate, baselineRssMB: rssMB(bare.pid) };
  } finally {
    await bare.stop();
  }
}

/** A gRPC server under test: its process and port. */
export interface GrpcTarget {
  pid: number;
  port: number;
}

/**
 * GetSecret throughput (calls in flight) or latency at a fixed rate, `a` against `b` in alternating rounds, both
 * loaded by the same grpc-js load generator.
 */
export function grpcPair(
  cfg: BenchConfig,
  what: string,
  kind: "throughput" | "latency",
  a: GrpcTarget,
  b: GrpcTarget,
  log: (m: string) => void,
  labels?: readonly [string, string],
): Promise<PairSummary> {
  const side = (t: GrpcTarget, spec: Omit<GrpcLoadSpec, "port" | "store" | "key">) => ({
    pid: t.pid,
    run: () => runJson<LoadResult>(PATHS.grpcLoad, { ...spec, port: t.port, store: BENCH_STORE, key: BENCH_KEY }),
  });
  const spec =
    kind === "throughput"
      ? {
          mode: "closed" as const,
          inFlight: cfg.grpcInFlight,
          channels: cfg.grpcChannels,
          warmupMs: cfg.warmupMs,
          durationMs: cfg.throughputMs,
        }
      : { mode: "rate" as const, inFlight: 0, rate: cfg.rate, warmupMs: cfg.warmupMs / 2, durationMs: cfg.rateMs };
  return alternate(`${what} ${kind}`, cfg.rounds, side(a, spec), side(b, spec), log, labels);
}

export async function grpcSection(cfg: BenchConfig, kw: Keyward, log: (m: string) => void): Promise<ApiResults> {
  const bare = await startBare(PATHS.bareGrpc, { data: { [BENCH_KEY]: BENCH_VALUE } });
  try {
    const keyward = { pid: kw.pid, port: kw.grpcPort };
    const throughput = await grpcPair(cfg, "grpc", "throughput", keyward, bare, log);
    const fixedRate = await grpcPair(cfg, "grpc", "latency", keyward, bare, log);
    return { throughput, fixedRate, baselineRssMB: rssMB(bare.pid) };
  } finally {
    await bare.stop();
  }
}

/** Keyward serving the same store as in the full run, then the named sections against it. */
async function runAlone(which: string[]): Promise<void> {
  const cfg = benchConfig(process.env);
  const t0 = performance.now();
  const log = (m: string) =>
    process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(3)}s] ${m}\n`);
  const ws = new Workspace();
  try {
    const kw = await startKeyward(
      ws.resources("main", { [BENCH_STORE]: secretsDocument(20, { [BENCH_KEY]: BENCH_VALUE }) }),
    );
    try {
      await new Promise((r) => setTimeout(r, 1000));
      const rows = [];
      if (which.includes("http")) rows.push(...apiRows("HTTP", await httpSection(cfg, kw, log)));
      if (which.includes("grpc")) rows.push(...apiRows("gRPC", await grpcSection(cfg, kw, log)));
      process.stdout.write(`\n${textTable(rows)}\n\n`);
    } finally {
      await kw.stop();
    }
  } finally {
    ws.remove();
  }
}

if (isMain(import.meta.url)) {
  const named = process.argv.slice(2).filter((a) => a === "http" || a === "grpc");
  runAlone(named.length ? named : ["http", "grpc"]).catch((err: unknown) => {
    process.stderr.write(`api: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  });
}
