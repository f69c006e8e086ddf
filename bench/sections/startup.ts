/**
 * @module Start-up to ready: from spawning the process to the line that announces the listening ports, for
 * 1, 10 and 100 local.file components, beside a bare node:http process doing the same spawn-to-listening.
 */
import type { BenchConfig } from "../lib/config.js";
import { secretsDocument, type Workspace } from "../lib/fixtures.js";
import { PATHS, rssMB, startBare, startKeyward } from "../lib/processes.js";
import { median } from "../lib/stats.js";

export interface StartupResults {
  baselineMs: number;
  components: { count: number; readyMs: number; initMs: number; rssMB: number; rounds: number[] }[];
  baselineRounds: number[];
}

export async function startupSection(cfg: BenchConfig, ws: Workspace, log: (m: string) => void): Promise<StartupResults> {
  const dirs = cfg.startupComponents.map((count) => {
    const stores: Record<string, Record<string, string>> = {};
    for (let i = 1; i <= count; i++) stores[`store-${String(i).padStart(3, "0")}`] = secretsDocument(10);
    return { count, dir: ws.resources(`startup-${count}`, stores) };
  });
  const baselineRounds: number[] = [];
  const per = new Map<number, { ready: number[]; init: number[]; rss: number[] }>(cfg.startupComponents.map((c) => [c, { ready: [], init: [], rss: [] }]));
  for (let r = 0; r < cfg.startupRounds; r++) {
    const bare = await startBare(PATHS.bareHttp, { status: 204, contentType: "text/plain", body: "" });
    baselineRounds.push(bare.readyMs);
    await bare.stop();
    for (const { count, dir } of r % 2 === 0 ? dirs : [...dirs].reverse()) {
      const kw = await startKeyward(dir);
      const m = per.get(count)!;
      m.ready.push(kw.readyMs);
      m.init.push(kw.initMs);
      m.rss.push(rssMB(kw.pid));
      await kw.stop();
    }
    log(`start-up round ${r + 1}/${cfg.startupRounds}: bare node ${baselineRounds[r]!.toFixed(0)} ms, ${cfg.startupComponents.map((c) => `${c} components ${per.get(c)!.ready[r]!.toFixed(0)} ms`).join(", ")}`);
  }
  return {
    baselineMs: median(baselineRounds),
    baselineRounds,
    components: cfg.startupComponents.map((count) => {
      const m = per.get(count)!;
      return { count, readyMs: median(m.ready), initMs: median(m.init), rssMB: median(m.rss), rounds: m.ready };
    }),
  };
}
