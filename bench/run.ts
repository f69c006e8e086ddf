/**
 * @module `npm run bench`: measures Keyward against bare baselines on this machine, in alternating rounds,
 * and writes bench/results/latest.{json,md,png}. KEYWARD_BENCH_QUICK=1 gives a short run for development.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { renderChart } from "./lib/chart.js";
import { benchConfig } from "./lib/config.js";
import { BENCH_KEY, BENCH_STORE, BENCH_VALUE, secretsDocument, Workspace } from "./lib/fixtures.js";
import { rssMB, startKeyward } from "./lib/processes.js";
import { markdownTable, rows, textTable, type Results } from "./lib/report.js";
import { grpcSection, httpSection } from "./sections/api.js";
import { awsSection } from "./sections/aws.js";
import { bulkSection } from "./sections/bulk.js";
import { memorySection, type MemoryVariant } from "./sections/memory.js";
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

async function main(): Promise<void> {
  const cfg = benchConfig(process.env);
  const t0 = performance.now();
  const log = (m: string) => process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(3)}s] ${m}\n`);
  const meta = {
    date: new Date().toISOString(),
    commit: git(["rev-parse", "--short", "HEAD"]),
    // Uncommitted changes to what is measured make the commit alone an incomplete description.
    dirty: git(["status", "--porcelain", "--", "src", "bench/*.ts", "bench/lib", "bench/load", "bench/servers", "bench/sections"]) !== "",
    machine: machine(),
    config: cfg,
  };
  log(`Keyward benchmark (${cfg.quick ? "quick" : "full"}) on ${meta.machine.nproc} x ${meta.machine.cpuModel}, Node ${meta.machine.node}, load ${meta.machine.loadAverageAtStart.join(" ")}`);
  const ws = new Workspace();
  try {
    const startup = await startupSection(cfg, ws, log);
    const mainResources = ws.resources("main", { [BENCH_STORE]: secretsDocument(20, { [BENCH_KEY]: BENCH_VALUE }) });
    const kw = await startKeyward(mainResources);
    let http, grpc, memory;
    try {
      await new Promise((r) => setTimeout(r, 1000));
      const idleMB = rssMB(kw.pid);
      http = await httpSection(cfg, kw, log);
      grpc = await grpcSection(cfg, kw, log);
      memory = { idleMB, afterLoadMB: rssMB(kw.pid), variants: [] as MemoryVariant[] };
    } finally {
      await kw.stop();
    }
    const memoryVariants = await memorySection(cfg, mainResources, log);
    const bulk = await bulkSection(cfg, ws, log);
    const aws = await awsSection(cfg, ws, log);
    memory.variants = memoryVariants;
    const results: Results = { http, grpc, bulk, startup, memory, aws };
    const table = rows(results);
    const elapsedS = Math.round((performance.now() - t0) / 1000);
    const loadEnd = loadavg().map((v) => Number(v.toFixed(2)));
    process.stdout.write(`\n${textTable(table)}\n\n`);
    const machineLine = `${meta.machine.nproc} x ${meta.machine.cpuModel}, Node ${meta.machine.node}; load average ${meta.machine.loadAverageAtStart.join(" ")} at start, ${loadEnd.join(" ")} at end`;
    process.stdout.write(`${machineLine}. Commit ${meta.commit}${meta.dirty ? " (with uncommitted changes)" : ""}, ${meta.date}, ${elapsedS} s${cfg.quick ? " (quick mode: not for publishing)" : ""}.\n`);

    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(`${RESULTS_DIR}latest.json`, JSON.stringify({ meta: { ...meta, loadAverageAtEnd: loadEnd, elapsedS }, rows: table, results }, null, 2) + "\n");
    const md = [
      `Measured ${meta.date.slice(0, 16).replace("T", " ")} UTC at commit \`${meta.commit}\`${meta.dirty ? " (with uncommitted changes)" : ""} on ${machineLine}.`,
      `Medians over ${cfg.rounds} alternating rounds (start-up: ${cfg.startupRounds}); ${cfg.quick ? "**quick mode**" : "full run"}, ${elapsedS} s.`,
      "",
      markdownTable(table),
      "",
      "![Keyward benchmark chart](latest.png)",
      "",
    ].join("\n");
    writeFileSync(`${RESULTS_DIR}latest.md`, md);
    writeFileSync(`${RESULTS_DIR}latest.png`, renderChart(results, `Keyward ${meta.commit} - ${meta.date.slice(0, 10)} - ${meta.machine.nproc} CPU ${meta.machine.node}`));
    log(`wrote ${RESULTS_DIR}latest.{json,md,png}`);
    const missed = table.filter((r) => r.pass === false).length;
    log(`${table.filter((r) => r.pass === true).length} targets met, ${missed} missed`);
  } finally {
    ws.remove();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
