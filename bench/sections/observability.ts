/**
 * @module What tracing and the audit log cost: start-up to ready, resident memory, and per-call latency and
 * server CPU for sequential HTTP reads of one secret, with both off, with `--audit-log` (a file), with
 * spec.tracing at sampling rate 0 (the SDK is not loaded) and at rate 1 (every call exported over OTLP/HTTP
 * to a sink in this process). Modes alternate within each round, medians are taken over the rounds.
 * `node dist/bench/sections/observability.js` runs this section alone.
 */
import { createServer } from "node:http";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { benchConfig, type BenchConfig } from "../lib/config.js";
import { BENCH_KEY, BENCH_STORE, BENCH_VALUE, secretsDocument, Workspace } from "../lib/fixtures.js";
import { isMain } from "../lib/main.js";
import { cpuMs, rssMB, startKeyward } from "../lib/processes.js";
import { median, medianSummary, summarize, type LatencySummary } from "../lib/stats.js";

export type ObservabilityMode = "off" | "audit log" | "tracing, rate 0" | "tracing, rate 1";

export interface ObservabilityVariant {
  mode: ObservabilityMode;
  readyMs: number;
  rssMB: number;
  latency: LatencySummary;
  /** Server CPU per call, µs. */
  cpuUs: number;
}

export interface ObservabilityResults {
  reads: number;
  variants: ObservabilityVariant[];
}

const MODES: ObservabilityMode[] = ["off", "audit log", "tracing, rate 0", "tracing, rate 1"];

function tracingConfig(rate: string, collector: string): string {
  return (
    "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: bench\nspec:\n  tracing:\n" +
    `    samplingRate: "${rate}"\n    otel:\n      endpointAddress: ${collector}\n      isSecure: false\n      protocol: http\n`
  );
}

export async function observabilitySection(
  cfg: BenchConfig,
  ws: Workspace,
  log: (m: string) => void,
): Promise<ObservabilityResults> {
  const reads = cfg.quick ? 500 : 3000;
  // An OTLP/HTTP collector that reads and drops every export, so the exporter's work is real.
  let exported = 0;
  const sink = createServer((req, res) => {
    req.on("data", () => undefined);
    req.on("end", () => {
      exported++;
      res.writeHead(200, { "Content-Type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((r) => sink.listen(0, "127.0.0.1", r));
  const collector = `127.0.0.1:${(sink.address() as AddressInfo).port}`;
  const resources = ws.resources("observability", {
    [BENCH_STORE]: secretsDocument(20, { [BENCH_KEY]: BENCH_VALUE }),
  });
  const args: Record<ObservabilityMode, string[]> = {
    off: [],
    "audit log": ["--audit-log", join(ws.dir, "audit.log")],
    "tracing, rate 0": ["--config", ws.file("tracing-0.yaml", tracingConfig("0", collector))],
    "tracing, rate 1": ["--config", ws.file("tracing-1.yaml", tracingConfig("1", collector))],
  };
  const per = new Map(
    MODES.map((m) => [
      m,
      { ready: [] as number[], rss: [] as number[], cpu: [] as number[], lat: [] as LatencySummary[] },
    ]),
  );
  try {
    for (let r = 0; r < cfg.rounds; r++) {
      for (const mode of r % 2 === 0 ? MODES : [...MODES].reverse()) {
        const kw = await startKeyward(resources, { extraArgs: args[mode] });
        try {
          const url = `http://127.0.0.1:${kw.httpPort}/v1.0/secrets/${BENCH_STORE}/${BENCH_KEY}`;
          for (let i = 0; i < 200; i++) await (await fetch(url)).arrayBuffer(); // warm-up, connection made
          const samples = new Float64Array(reads);
          const cpu0 = cpuMs(kw.pid);
          for (let i = 0; i < reads; i++) {
            const t = performance.now();
            const res = await fetch(url);
            await res.arrayBuffer();
            samples[i] = performance.now() - t;
            if (res.status !== 200) throw new Error(`${mode}: HTTP ${res.status}`);
          }
          const m = per.get(mode)!;
          m.cpu.push(((cpuMs(kw.pid) - cpu0) * 1000) / reads);
          m.lat.push(summarize(samples));
          m.ready.push(kw.readyMs);
          m.rss.push(rssMB(kw.pid));
        } finally {
          await kw.stop();
        }
      }
      log(
        `observability round ${r + 1}/${cfg.rounds}: ${MODES.map((m) => `${m} p50 ${per.get(m)!.lat[r]!.p50.toFixed(3)} ms`).join(", ")}`,
      );
    }
  } finally {
    sink.close();
  }
  if (exported === 0) throw new Error("tracing at rate 1 exported nothing");
  return {
    reads,
    variants: MODES.map((mode) => {
      const m = per.get(mode)!;
      return {
        mode,
        readyMs: median(m.ready),
        rssMB: median(m.rss),
        latency: medianSummary(m.lat),
        cpuUs: median(m.cpu),
      };
    }),
  };
}

if (isMain(import.meta.url)) {
  const ws = new Workspace();
  const t0 = performance.now();
  const log = (m: string) => process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0)}s] ${m}\n`);
  void observabilitySection(benchConfig(process.env), ws, log)
    .then((r) => {
      process.stdout.write(
        `${JSON.stringify(r)}\n` +
          r.variants
            .map(
              (v) =>
                `${v.mode.padEnd(16)} ready ${v.readyMs.toFixed(0)} ms, RSS ${v.rssMB.toFixed(1)} MB, ` +
                `p50/p99 ${v.latency.p50.toFixed(3)}/${v.latency.p99.toFixed(3)} ms, CPU ${v.cpuUs.toFixed(1)} µs/call`,
            )
            .join("\n") +
          "\n",
      );
    })
    .catch((err: unknown) => {
      process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    })
    .finally(() => ws.remove());
}
