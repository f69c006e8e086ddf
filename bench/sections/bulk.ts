/**
 * @module Bulk get from local.file stores of 10, 1,000 and 10,000 secrets: latency on one connection,
 * against a bare node:http server sending the same (large) body, so transfer cost is separated from Keyward's.
 */
import type { LoadResult } from "../load/http-load.js";
import type { BenchConfig } from "../lib/config.js";
import { secretsDocument, type Workspace } from "../lib/fixtures.js";
import { PATHS, rssMB, runJson, startBare, startKeyward } from "../lib/processes.js";
import { fetchOnce } from "./api.js";
import { alternate, type PairSummary } from "./compare.js";

export interface BulkResults {
  sizes: { secrets: number; bytes: number; pair: PairSummary }[];
  /** RSS of the sidecar holding all three stores, after the bulk load. */
  keywardRssMB: number;
}

export async function bulkSection(cfg: BenchConfig, ws: Workspace, log: (m: string) => void): Promise<BulkResults> {
  const stores: Record<string, Record<string, string>> = {};
  for (const n of cfg.bulkSizes) stores[`bulk-${n}`] = secretsDocument(n);
  const kw = await startKeyward(ws.resources("bulk", stores));
  try {
    const sizes: BulkResults["sizes"] = [];
    for (const n of cfg.bulkSizes) {
      const path = `/v1.0/secrets/bulk-${n}/bulk`;
      const ref = await fetchOnce(kw.httpPort, path);
      if (ref.status !== 200) throw new Error(`bulk-${n}: status ${ref.status}`);
      const bodyFile = ws.file(`bulk-${n}-response.json`, ref.body);
      const bare = await startBare(PATHS.bareHttp, { status: ref.status, contentType: ref.contentType, bodyFile });
      try {
        const spec = {
          mode: "closed",
          connections: 1,
          warmupMs: Math.min(cfg.warmupMs, 500),
          durationMs: cfg.bulkMs,
          path,
        };
        const side = (pid: number, port: number) => ({
          pid,
          run: () => runJson<LoadResult>(PATHS.httpLoad, { ...spec, port }),
        });
        const pair = await alternate(
          `bulk ${n}`,
          cfg.rounds,
          side(kw.pid, kw.httpPort),
          side(bare.pid, bare.port),
          log,
        );
        sizes.push({ secrets: n, bytes: ref.body.length, pair });
      } finally {
        await bare.stop();
      }
    }
    return { sizes, keywardRssMB: rssMB(kw.pid) };
  } finally {
    await kw.stop();
  }
}
