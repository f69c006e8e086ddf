/** @module Runs one load shape against Keyward and its baseline in alternating rounds and pairs the results. */
import type { LoadResult } from "../load/http-load.js";
import { cpuMs } from "../lib/processes.js";
import { median, medianSummary, type LatencySummary } from "../lib/stats.js";

export interface SideRound {
  perSecond: number;
  latency: LatencySummary;
  /** Server CPU time per response over the whole run, microseconds. */
  serverCpuUs: number;
  /** Share of one core the server used over the whole run: near 1 means the server, not the client, was the limit. */
  serverCpuShare: number;
  clientCpuShare: number;
  errors: number;
}

export interface PairedRounds {
  keyward: SideRound[];
  baseline: SideRound[];
}

export interface SideSummary {
  perSecond: number;
  latency: LatencySummary;
  serverCpuUs: number;
  serverCpuShare: number;
  clientCpuShare: number;
}

export interface PairSummary {
  keyward: SideSummary;
  baseline: SideSummary;
  /** Median over rounds of keyward/baseline throughput. */
  ratio: number;
  /** Median over rounds of keyward p99 - baseline p99, ms. */
  addedP50: number;
  addedP90: number;
  addedP99: number;
  rounds: PairedRounds;
}

export interface Side {
  pid: number;
  run(): Promise<LoadResult>;
}

/** Checks that both sides answered with the same bytes: a comparison of different work would be meaningless. */
function sameBytes(a: LoadResult, b: LoadResult, what: string): void {
  if (a.firstBody !== b.firstBody || a.firstStatus !== b.firstStatus) {
    throw new Error(
      `${what}: Keyward and the baseline answered differently (status ${a.firstStatus} vs ${b.firstStatus}); refusing to compare`,
    );
  }
}

async function measure(side: Side): Promise<{ load: LoadResult; round: SideRound }> {
  const cpu0 = cpuMs(side.pid);
  const t0 = performance.now();
  const load = await side.run();
  const cpu = cpuMs(side.pid) - cpu0;
  const wall = performance.now() - t0;
  return {
    load,
    round: {
      perSecond: load.perSecond,
      latency: load.latency,
      serverCpuUs: load.total ? (cpu * 1000) / load.total : NaN,
      serverCpuShare: cpu / wall,
      clientCpuShare: load.clientCpuShare,
      errors: load.errors,
    },
  };
}

/** Even rounds run Keyward first, odd rounds the baseline first, so drift on a shared machine hits both. */
export async function alternate(
  what: string,
  rounds: number,
  keyward: Side,
  baseline: Side,
  progress: (msg: string) => void,
  labels: readonly [string, string] = ["keyward", "baseline"],
): Promise<PairSummary> {
  const out: PairedRounds = { keyward: [], baseline: [] };
  for (let r = 0; r < rounds; r++) {
    const order =
      r % 2 === 0
        ? ([
            ["keyward", keyward],
            ["baseline", baseline],
          ] as const)
        : ([
            ["baseline", baseline],
            ["keyward", keyward],
          ] as const);
    const got: Partial<Record<"keyward" | "baseline", LoadResult>> = {};
    for (const [name, side] of order) {
      const { load, round } = await measure(side);
      got[name] = load;
      out[name].push(round);
    }
    sameBytes(got.keyward!, got.baseline!, what);
    const k = out.keyward[r]!;
    const b = out.baseline[r]!;
    const show = (x: SideRound) =>
      `${x.perSecond.toFixed(0)}/s p50 ${x.latency.p50.toFixed(3)} p99 ${x.latency.p99.toFixed(3)} ms, ${x.serverCpuUs.toFixed(0)} µs CPU/req, server ${(x.serverCpuShare * 100).toFixed(0)}% client ${(x.clientCpuShare * 100).toFixed(0)}%`;
    progress(`${what} ${r + 1}/${rounds}: ${labels[0]} ${show(k)} | ${labels[1]} ${show(b)}`);
  }
  return summarizePairs(out);
}

export function summarizePairs(rounds: PairedRounds): PairSummary {
  const side = (rs: SideRound[]) => ({
    perSecond: median(rs.map((r) => r.perSecond)),
    latency: medianSummary(rs.map((r) => r.latency)),
    serverCpuUs: median(rs.map((r) => r.serverCpuUs)),
    serverCpuShare: median(rs.map((r) => r.serverCpuShare)),
    clientCpuShare: median(rs.map((r) => r.clientCpuShare)),
  });
  const paired = (f: (k: SideRound, b: SideRound) => number) =>
    median(rounds.keyward.map((k, i) => f(k, rounds.baseline[i]!)));
  return {
    keyward: side(rounds.keyward),
    baseline: side(rounds.baseline),
    ratio: paired((k, b) => k.perSecond / b.perSecond),
    addedP50: paired((k, b) => k.latency.p50 - b.latency.p50),
    addedP90: paired((k, b) => k.latency.p90 - b.latency.p90),
    addedP99: paired((k, b) => k.latency.p99 - b.latency.p99),
    rounds,
  };
}
