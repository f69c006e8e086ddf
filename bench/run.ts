/**
 * @module `npm run bench`: measures Keyward against bare baselines on this machine, in alternating rounds,
 * and writes bench/results/latest.{json,md,png}. KEYWARD_BENCH_QUICK=1 gives a short run for development.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { renderChart } from "./lib/chart.js";
import { updateDocsBlock } from "./lib/docs-block.js";
import { benchConfig, type BenchConfig } from "./lib/config.js";
import { BENCH_KEY, BENCH_STORE, BENCH_VALUE, secretsDocument, Workspace } from "./lib/fixtures.js";
import { PATHS, rssMB, startBare, startKeyward } from "./lib/processes.js";
import { apiRows, markdownTable, memoryRows, rows, startupRows, textTable, type Results } from "./lib/report.js";
import { grpcSection, httpSection } from "./sections/api.js";
import { awsSection } from "./sections/aws.js";
import { bulkSection } from "./sections/bulk.js";
import { cacheSection } from "./sections/cache.js";
import { grpcServersSection } from "./sections/grpc-servers.js";
import { memorySection, type MemoryVariant } from "./sections/memory.js";
import { observabilitySection } from "./sections/observability.js";
import { notifySection } from "./sections/notify.js";
import { startupSection } from "./sections/startup.js";

const RESULTS_DIR = fileURLToPath(new URL("../../bench/results/", import.meta.url));
const REPO = fileURLToPath(new URL("../../", import.meta.url));

function git(args: string[]): string {
  try {
    return execFileSync("git", args, { cwd: REPO, encoding: "utf8" }).trim();
  } catch {
    return "";
  }
}

function machine() {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  return {
    nproc: availableParallelism(),
    cpuModel: /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    node: process.version,
    loadAverageAtStart: loadavg().map((v) => Number(v.toFixed(2))),
  };
}

/** The code a run exercises (other stores are never loaded), for the "uncommitted changes" flag. */
const MEASURED_PATHS = [
  "src/main.ts",
  "src/log.ts",
  "src/metrics.ts",
  "src/api",
  "src/cli",
  "src/core",
  "src/errors",
  "src/audit",
  "src/tracing",
  "src/resources",
  "src/stores/local",
  "src/stores/aws",
  "src/stores/hashicorp",
  "src/stores/kubernetes",
  "src/stores/shared",
  "src/stores/registry.ts",
  "src/stores/types.ts",
  "src/stores/metadata.ts",
  "bench/run.ts",
  "bench/lib",
  "bench/load",
  "bench/servers",
  "bench/sections",
  "bin",
];

interface Meta {
  date: string;
  commit: string;
  dirty: boolean;
  machine: ReturnType<typeof machine>;
  config: BenchConfig;
  loadAverageAtEnd: number[];
  elapsedS: number;
}

function writeJson(meta: Meta, results: Results): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(`${RESULTS_DIR}latest.json`, JSON.stringify({ meta, rows: rows(results), results }, null, 2) + "\n");
}

/** Prints the table and writes latest.md and latest.png; returns how many targets were missed. */
function publish(meta: Meta, results: Results): number {
  const table = rows(results);
  const cfg = meta.config;
  const m = meta.machine;
  const machineLine = `${m.nproc} CPUs (nproc), ${m.cpuModel}, Node ${m.node}; load average ${m.loadAverageAtStart.join(" ")} at start, ${meta.loadAverageAtEnd.join(" ")} at end`;
  process.stdout.write(`\n${textTable(table)}\n\n`);
  process.stdout.write(
    `${machineLine}. Commit ${meta.commit}${meta.dirty ? " (with uncommitted changes)" : ""}, ${meta.date}, ${meta.elapsedS} s${cfg.quick ? " (quick mode: not for publishing)" : ""}.\n`,
  );
  const md = [
    `Measured ${meta.date.slice(0, 16).replace("T", " ")} UTC at commit \`${meta.commit}\`${meta.dirty ? " (with uncommitted changes)" : ""} on ${machineLine}.`,
    `Medians over ${cfg.rounds} alternating rounds (start-up: ${cfg.startupRounds}); ${cfg.quick ? "**quick mode**" : "full run"}, ${meta.elapsedS} s.`,
    "",
    markdownTable(table),
    "",
    "![Keyward benchmark chart](latest.png)",
    "",
  ].join("\n");
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(`${RESULTS_DIR}latest.md`, md);
  // A full run refreshes the results block of docs/performance.md, so the published table is always the latest.
  if (!cfg.quick) updateDocsBlock("bench", md.replace("(latest.png)", "(../bench/results/latest.png)"));
  writeFileSync(
    `${RESULTS_DIR}latest.png`,
    renderChart(results, `Keyward ${meta.commit} - ${meta.date.slice(0, 10)} - ${m.nproc} CPU - Node ${m.node}`),
  );
  return table.filter((r) => r.pass === false).length;
}

/** `--report-only`: re-renders the table, latest.md and latest.png from latest.json without measuring. */
function reportOnly(): void {
  const saved = JSON.parse(readFileSync(`${RESULTS_DIR}latest.json`, "utf8")) as { meta: Meta; results: Results };
  publish(saved.meta, saved.results);
}

/** Idle RSS of Keyward and of a bare node:http server, then the HTTP and gRPC sections on one Keyward. */
async function apiAndMemory(
  cfg: BenchConfig,
  resources: string,
  log: (m: string) => void,
): Promise<Pick<Results, "http" | "grpc" | "memory">> {
  const bare = await startBare(PATHS.bareHttp, { status: 204, contentType: "text/plain", body: "" });
  await new Promise((r) => setTimeout(r, 1000));
  const bareIdleMB = rssMB(bare.pid);
  await bare.stop();
  const kw = await startKeyward(resources);
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const idleMB = rssMB(kw.pid);
    const http = await httpSection(cfg, kw, log);
    const grpc = await grpcSection(cfg, kw, log);
    return { http, grpc, memory: { idleMB, bareIdleMB, afterLoadMB: rssMB(kw.pid), variants: [] as MemoryVariant[] } };
  } finally {
    await kw.stop();
  }
}

type CoreResults = Pick<Results, "startup" | "http" | "grpc" | "memory">;

/**
 * Writes latest-node<major>.{json,md} and that Node's block of docs/performance.md from the core figures.
 * Returns nothing the caller waits on: the process ends after it.
 */
function publishCore(meta: Omit<Meta, "loadAverageAtEnd" | "elapsedS">, t0: number, r: CoreResults): void {
  const table = [...apiRows("HTTP", r.http), ...apiRows("gRPC", r.grpc), ...startupRows(r.startup), ...memoryRows(r)];
  const major = process.versions.node.split(".")[0]!;
  const m = meta.machine;
  const end = loadavg().map((v) => Number(v.toFixed(2)));
  const elapsedS = Math.round((performance.now() - t0) / 1000);
  process.stdout.write(`\n${textTable(table)}\n\n`);
  const md = [
    `Measured ${meta.date.slice(0, 16).replace("T", " ")} UTC at commit \`${meta.commit}\`${meta.dirty ? " (with uncommitted changes)" : ""} on ${m.nproc} CPUs (nproc), ${m.cpuModel}, **Node ${m.node}**; load average ${m.loadAverageAtStart.join(" ")} at start, ${end.join(" ")} at end.`,
    `Medians over ${meta.config.rounds} alternating rounds (start-up: ${meta.config.startupRounds}); ${meta.config.quick ? "**quick mode**" : "full run"}, ${elapsedS} s.`,
    "",
    markdownTable(table),
    "",
  ].join("\n");
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(
    `${RESULTS_DIR}latest-node${major}.json`,
    JSON.stringify({ meta: { ...meta, loadAverageAtEnd: end, elapsedS }, rows: table, results: r }, null, 2) + "\n",
  );
  writeFileSync(`${RESULTS_DIR}latest-node${major}.md`, md);
  if (!meta.config.quick) updateDocsBlock(`bench-node${major}`, md);
}

async function main(): Promise<void> {
  if (process.argv.includes("--report-only")) return reportOnly();
  const cfg = benchConfig(process.env);
  const t0 = performance.now();
  const log = (m: string) =>
    process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(3)}s] ${m}\n`);
  const meta = {
    date: new Date().toISOString(),
    commit: git(["rev-parse", "--short", "HEAD"]),
    // Uncommitted changes to what is measured make the commit alone an incomplete description.
    dirty: git(["status", "--porcelain", "--", ...MEASURED_PATHS]) !== "",
    machine: machine(),
    config: cfg,
  };
  log(
    `Keyward benchmark (${cfg.quick ? "quick" : "full"}) on ${meta.machine.nproc} x ${meta.machine.cpuModel}, Node ${meta.machine.node}, load ${meta.machine.loadAverageAtStart.join(" ")}`,
  );
  const ws = new Workspace();
  try {
    // --core: the figures that depend most on the Node runtime, for the run on a second Node (npm run bench runs it).
    const core = process.argv.includes("--core");
    const startup = await startupSection(cfg, ws, log);
    const mainResources = ws.resources("main", { [BENCH_STORE]: secretsDocument(20, { [BENCH_KEY]: BENCH_VALUE }) });
    const { http, grpc, memory } = await apiAndMemory(cfg, mainResources, log);
    if (core) return publishCore(meta, t0, { startup, http, grpc, memory });
    const memoryVariants = await memorySection(cfg, mainResources, log);
    const bulk = await bulkSection(cfg, ws, log);
    const aws = await awsSection(cfg, ws, log);
    const cache = await cacheSection(cfg, ws, log);
    const observability = await observabilitySection(cfg, ws, log);
    memory.variants = memoryVariants;

    const notify = await notifySection(cfg, ws, log);
    const grpcServers = await grpcServersSection(cfg, log);
    const results: Results = { http, grpc, bulk, startup, memory, aws, cache, observability, notify, grpcServers };
    const fullMeta: Meta = {
      ...meta,
      loadAverageAtEnd: loadavg().map((v) => Number(v.toFixed(2))),
      elapsedS: Math.round((performance.now() - t0) / 1000),
    };
    writeJson(fullMeta, results);
    const missed = publish(fullMeta, results);
    log(`wrote ${RESULTS_DIR}latest.{json,md,png}; ${missed} target(s) missed`);
  } finally {
    ws.remove();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
