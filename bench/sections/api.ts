/** @module Single-secret GET over HTTP and gRPC: Keyward against bare node:http and bare grpc-js servers. */
import { request } from "node:http";
import type { GrpcLoadSpec } from "../load/grpc-load.js";
import type { HttpLoadSpec, LoadResult } from "../load/http-load.js";
import type { BenchConfig } from "../lib/config.js";
import { BENCH_KEY, BENCH_STORE, BENCH_VALUE } from "../lib/fixtures.js";
import { PATHS, rssMB, runJson, startBare, type Keyward } from "../lib/processes.js";
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
 * GetSecret throughput (calls in flight) and latency at a fixed rate, `a` against `b` in alternating rounds, both
 * loaded by the same grpc-js load generator.
 */
export async function grpcPairs(
  cfg: BenchConfig,
  what: string,
  a: GrpcTarget,
  b: GrpcTarget,
  log: (m: string) => void,
  labels?: readonly [string, string],
): Promise<{ throughput: PairSummary; fixedRate: PairSummary }> {
  const side = (t: GrpcTarget, spec: Omit<GrpcLoadSpec, "port" | "store" | "key">) => ({
    pid: t.pid,
    run: () => runJson<LoadResult>(PATHS.grpcLoad, { ...spec, port: t.port, store: BENCH_STORE, key: BENCH_KEY }),
  });
  const closed = {
    mode: "closed" as const,
    inFlight: cfg.grpcInFlight,
    channels: cfg.grpcChannels,
    warmupMs: cfg.warmupMs,
    durationMs: cfg.throughputMs,
  };
  const rate = {
    mode: "rate" as const,
    inFlight: 0,
    rate: cfg.rate,
    warmupMs: cfg.warmupMs / 2,
    durationMs: cfg.rateMs,
  };
  const run = (name: string, spec: Omit<GrpcLoadSpec, "port" | "store" | "key">) =>
    alternate(`${what} ${name}`, cfg.rounds, side(a, spec), side(b, spec), log, labels);
  const throughput = await run("throughput", closed);
  const fixedRate = await run("latency", rate);
  return { throughput, fixedRate };
}

export async function grpcSection(cfg: BenchConfig, kw: Keyward, log: (m: string) => void): Promise<ApiResults> {
  const bare = await startBare(PATHS.bareGrpc, { data: { [BENCH_KEY]: BENCH_VALUE } });
  try {
    const pairs = await grpcPairs(cfg, "grpc", { pid: kw.pid, port: kw.grpcPort }, bare, log);
    return { ...pairs, baselineRssMB: rssMB(bare.pid) };
  } finally {
    await bare.stop();
  }
}
