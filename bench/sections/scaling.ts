/**
 * @module Scaling curves: HTTP throughput and latency from 1 to 1,000 connections (beside a bare node:http
 * server sending the same bytes), bulk get from 10 to 100,000 secrets, start-up from 1 to 500 components
 * (beside a bare node start), and RSS against the number of secrets loaded.
 */
import { fetchOnce, SINGLE_GET_PATH } from "./api.js";
import { alternate } from "./compare.js";
import type { LoadResult } from "../load/http-load.js";
import {
  BENCH_KEY,
  BENCH_STORE,
  BENCH_VALUE,
  componentYaml,
  secretsDocument,
  type Workspace,
} from "../lib/fixtures.js";
import { PATHS, rssMB, runJson, startBare, startKeyward } from "../lib/processes.js";
import { median, percentile } from "../lib/stats.js";

export interface ScalingConfig {
  quick: boolean;
  rounds: number;
  warmupMs: number;
  windowMs: number;
  connections: number[];
  bulkSizes: number[];
  /** Timed bulk requests per store size (after two untimed ones). */
  bulkRequests: number;
  startupComponents: number[];
  startupRounds: number;
  rssSizes: number[];
}

export function scalingConfig(env: NodeJS.ProcessEnv): ScalingConfig {
  const quick = env.KEYWARD_BENCH_QUICK === "1" || env.KEYWARD_BENCH_QUICK === "true";
  return {
    quick,
    rounds: quick ? 1 : 3,
    warmupMs: quick ? 300 : 800,
    windowMs: quick ? 1000 : 2500,
    connections: quick ? [1, 10, 100, 1000] : [1, 10, 50, 100, 300, 1000],
    bulkSizes: quick ? [10, 1000, 10_000, 100_000] : [10, 100, 1000, 10_000, 30_000, 100_000],
    bulkRequests: quick ? 10 : 40,
    startupComponents: quick ? [1, 10, 100, 500] : [1, 10, 50, 100, 250, 500],
    startupRounds: quick ? 2 : 3,
    rssSizes: quick ? [10, 10_000, 100_000] : [10, 1000, 10_000, 30_000, 100_000],
  };
}

export interface ConnectionPoint {
  connections: number;
  keyward: { perSecond: number; p50: number; p99: number; cpuUs: number; cpuShare: number };
  baseline: { perSecond: number; p50: number; p99: number; cpuUs: number; cpuShare: number };
  errors: number;
}

export async function connectionsCurve(
  cfg: ScalingConfig,
  ws: Workspace,
  log: (m: string) => void,
): Promise<ConnectionPoint[]> {
  const kw = await startKeyward(
    ws.resources("scaling-connections", { [BENCH_STORE]: secretsDocument(20, { [BENCH_KEY]: BENCH_VALUE }) }),
  );
  try {
    const ref = await fetchOnce(kw.httpPort, SINGLE_GET_PATH);
    if (ref.status !== 200) throw new Error(`Keyward did not serve the bench secret: ${ref.status}`);
    const bare = await startBare(PATHS.bareHttp, {
      status: ref.status,
      contentType: ref.contentType,
      body: ref.body.toString("base64"),
    });
    try {
      const out: ConnectionPoint[] = [];
      for (const connections of cfg.connections) {
        // Opening 1,000 sockets takes a while on a busy machine: the warm-up grows with the connection count.
        const spec = { mode: "closed", connections, warmupMs: cfg.warmupMs + connections, durationMs: cfg.windowMs };
        const side = (pid: number, port: number) => ({
          pid,
          run: () => runJson<LoadResult>(PATHS.httpLoad, { ...spec, port, path: SINGLE_GET_PATH }),
        });
        const pair = await alternate(
          `http ${connections} connections`,
          cfg.rounds,
          side(kw.pid, kw.httpPort),
          side(bare.pid, bare.port),
          log,
        );
        const pick = (s: typeof pair.keyward) => ({
          perSecond: s.perSecond,
          p50: s.latency.p50,
          p99: s.latency.p99,
          cpuUs: s.serverCpuUs,
          cpuShare: s.serverCpuShare,
        });
        const errors = [...pair.rounds.keyward, ...pair.rounds.baseline].reduce((a, r) => a + r.errors, 0);
        out.push({ connections, keyward: pick(pair.keyward), baseline: pick(pair.baseline), errors });
      }
      return out;
    } finally {
      await bare.stop();
    }
  } finally {
    await kw.stop();
  }
}

export interface BulkPoint {
  secrets: number;
  bytes: number;
  p50: number;
  p99: number;
  /** p50 per 1,000 secrets: flat when the cost is linear. */
  p50Per1000: number;
}

/** A resources folder of local.file stores allowed files up to 64 MiB (100,000 secrets are ~6 MB). */
function largeStores(ws: Workspace, name: string, stores: Record<string, number>): string {
  const files: Record<string, string> = {};
  for (const [store, count] of Object.entries(stores)) {
    const file = ws.file(`${name}-${store}.json`, JSON.stringify(secretsDocument(count)));
    files[`${store}.yaml`] = componentYaml(store, "local.file", { secretsFile: file, maxFileSize: "64Mi" });
  }
  return ws.rawResources(name, files);
}

export async function bulkCurve(cfg: ScalingConfig, ws: Workspace, log: (m: string) => void): Promise<BulkPoint[]> {
  const kw = await startKeyward(
    largeStores(ws, "scaling-bulk", Object.fromEntries(cfg.bulkSizes.map((n) => [`bulk-${n}`, n]))),
  );
  try {
    const out: BulkPoint[] = [];
    for (const secrets of cfg.bulkSizes) {
      const path = `/v1.0/secrets/bulk-${secrets}/bulk`;
      const ref = await fetchOnce(kw.httpPort, path);
      if (ref.status !== 200) throw new Error(`bulk-${secrets}: status ${ref.status}`);
      // Sequential requests timed one by one: a 100,000-secret answer takes longer than a load window.
      const times: number[] = [];
      for (let i = 0; i < 2 + cfg.bulkRequests; i++) {
        const t0 = performance.now();
        const res = await fetchOnce(kw.httpPort, path);
        if (res.status !== 200) throw new Error(`bulk-${secrets}: status ${res.status}`);
        if (i >= 2) times.push(performance.now() - t0);
      }
      times.sort((x, y) => x - y);
      const p50s = [percentile(times, 50)];
      const p99s = [percentile(times, 99)];
      const p50 = median(p50s);
      out.push({ secrets, bytes: ref.body.length, p50, p99: median(p99s), p50Per1000: (p50 * 1000) / secrets });
      log(`bulk ${secrets}: p50 ${p50.toFixed(2)} ms, p99 ${median(p99s).toFixed(2)} ms, ${ref.body.length} bytes`);
    }
    return out;
  } finally {
    await kw.stop();
  }
}

export interface StartupPoint {
  components: number;
  readyMs: number;
  initMs: number;
  bareMs: number;
  rssMB: number;
}

export async function startupCurve(
  cfg: ScalingConfig,
  ws: Workspace,
  log: (m: string) => void,
): Promise<StartupPoint[]> {
  const out: StartupPoint[] = [];
  for (const count of cfg.startupComponents) {
    const stores: Record<string, Record<string, string>> = {};
    for (let i = 1; i <= count; i++) stores[`store-${String(i).padStart(3, "0")}`] = secretsDocument(10);
    const dir = ws.resources(`scaling-startup-${count}`, stores);
    const ready: number[] = [];
    const init: number[] = [];
    const bare: number[] = [];
    const rss: number[] = [];
    for (let r = 0; r < cfg.startupRounds; r++) {
      // Alternate which starts first, so drift hits both.
      const runBare = async () => {
        const b = await startBare(PATHS.bareHttp, { status: 204, contentType: "text/plain", body: "" });
        bare.push(b.readyMs);
        await b.stop();
      };
      if (r % 2 === 1) await runBare();
      const kw = await startKeyward(dir);
      ready.push(kw.readyMs);
      init.push(kw.initMs);
      rss.push(rssMB(kw.pid));
      await kw.stop();
      if (r % 2 === 0) await runBare();
    }
    const point = {
      components: count,
      readyMs: median(ready),
      initMs: median(init),
      bareMs: median(bare),
      rssMB: median(rss),
    };
    out.push(point);
    log(
      `start-up ${count} components: ${point.readyMs.toFixed(0)} ms (init ${point.initMs}), bare ${point.bareMs.toFixed(0)} ms`,
    );
  }
  return out;
}

export interface RssPoint {
  secrets: number;
  fileBytes: number;
  idleMB: number;
  afterBulkMB: number;
}

export async function rssCurve(cfg: ScalingConfig, ws: Workspace, log: (m: string) => void): Promise<RssPoint[]> {
  const out: RssPoint[] = [];
  for (const secrets of cfg.rssSizes) {
    const kw = await startKeyward(largeStores(ws, `scaling-rss-${secrets}`, { big: secrets }));
    try {
      await new Promise((r) => setTimeout(r, 1000));
      const idleMB = rssMB(kw.pid);
      const ref = await fetchOnce(kw.httpPort, "/v1.0/secrets/big/bulk");
      if (ref.status !== 200) throw new Error(`rss ${secrets}: status ${ref.status}`);
      await new Promise((r) => setTimeout(r, 500));
      const point = {
        secrets,
        fileBytes: JSON.stringify(secretsDocument(secrets)).length,
        idleMB,
        afterBulkMB: rssMB(kw.pid),
      };
      out.push(point);
      log(`rss ${secrets} secrets: idle ${idleMB.toFixed(1)} MB, after a bulk get ${point.afterBulkMB.toFixed(1)} MB`);
    } finally {
      await kw.stop();
    }
  }
  return out;
}
