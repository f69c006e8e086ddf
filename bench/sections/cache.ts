/**
 * @module Remote store with and without the answer cache: 1,000 HTTP reads of a Vault component (the Vault
 * test server in this process) without a cache, as cache misses (each secret read once) and as hits (one
 * warm secret), with the Vault calls each kind made. The figures a cacheTTL buys on a remote store.
 */
import type { BenchConfig } from "../lib/config.js";
import { componentYaml, type Workspace } from "../lib/fixtures.js";
import { startKeyward } from "../lib/processes.js";
import { summarize, type LatencySummary } from "../lib/stats.js";
import { startVaultServer } from "../../test/servers/vault/server.js";

export interface CacheMode {
  mode: "no cache" | "miss" | "hit";
  latency: LatencySummary;
  /** Requests Vault received per 1,000 reads. */
  backendCallsPer1000: number;
}

export interface CacheResults {
  reads: number;
  modes: CacheMode[];
}

export async function cacheSection(cfg: BenchConfig, ws: Workspace, log: (m: string) => void): Promise<CacheResults> {
  const reads = cfg.quick ? 200 : 1000;
  const vault = await startVaultServer({ rootToken: `hvs.bench-${process.pid}` });
  try {
    for (let i = 0; i < reads; i++) vault.put(`dapr/s${i}`, { value: `value-${i}-${"x".repeat(40)}` });
    const md = { vaultAddr: vault.url, vaultToken: vault.rootToken };
    const res = ws.rawResources("cache", {
      "plain.yaml": componentYaml("plain", "hashicorp.vault", md),
      "cached.yaml": componentYaml("cached", "hashicorp.vault", { ...md, cacheTTL: "1h" }),
    });
    const kw = await startKeyward(res);
    try {
      const base = `http://127.0.0.1:${kw.httpPort}/v1.0/secrets`;
      const measure = async (mode: CacheMode["mode"], url: (i: number) => string): Promise<CacheMode> => {
        await (await fetch(`${base}/plain/s0`)).text(); // connection set up outside the samples, no entry made
        const calls = vault.requests.length;
        const samples = new Float64Array(reads);
        for (let i = 0; i < reads; i++) {
          const t = performance.now();
          const r = await fetch(url(i));
          await r.text();
          samples[i] = performance.now() - t;
          if (r.status !== 200) throw new Error(`${mode}: HTTP ${r.status}`);
        }
        const latency = summarize(samples);
        const backendCallsPer1000 = ((vault.requests.length - calls) * 1000) / reads;
        log(`cache ${mode}: p50 ${latency.p50.toFixed(3)} ms, ${backendCallsPer1000} Vault calls per 1,000 reads`);
        return { mode, latency, backendCallsPer1000 };
      };
      const modes = [
        await measure("no cache", (i) => `${base}/plain/s${i}`),
        await measure("miss", (i) => `${base}/cached/s${i}`),
        await measure("hit", () => `${base}/cached/s0`),
      ];
      return { reads, modes };
    } finally {
      await kw.stop();
    }
  } finally {
    await vault.close();
  }
}
