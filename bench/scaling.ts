/**
 * @module `npm run bench:scaling`: the scaling curves (bench/sections/scaling.ts), written to
 * bench/results/scaling.{json,md,png}. `--only connections,bulk,startup,rss` runs some of them; the others
 * keep their last results, so the curves can be measured in parts. KEYWARD_BENCH_QUICK=1 gives a short run;
 * a run that is not quick refreshes the scaling block of docs/performance.md.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { updateDocsBlock } from "./lib/docs-block.js";
import { Workspace } from "./lib/fixtures.js";
import { ACCENT, BASELINE, KEYWARD, renderLineCharts, type LinePanel } from "./lib/line-chart.js";
import {
  bulkCurve,
  connectionsCurve,
  rssCurve,
  scalingConfig,
  startupCurve,
  type BulkPoint,
  type ConnectionPoint,
  type RssPoint,
  type StartupPoint,
} from "./sections/scaling.js";

const RESULTS_DIR = fileURLToPath(new URL("../../bench/results/", import.meta.url));
const CURVES = ["connections", "bulk", "startup", "rss"] as const;
type Curve = (typeof CURVES)[number];

interface Measured<T> {
  /** When, on what, and how loaded the machine was: each curve may come from a different run. */
  note: string;
  points: T[];
}

interface Saved {
  connections?: Measured<ConnectionPoint>;
  bulk?: Measured<BulkPoint>;
  startup?: Measured<StartupPoint>;
  rss?: Measured<RssPoint>;
}

function chosen(argv: string[]): Curve[] {
  const i = argv.indexOf("--only");
  if (i < 0) return [...CURVES];
  const names = (argv[i + 1] ?? "").split(",").filter(Boolean);
  const bad = names.filter((n) => !(CURVES as readonly string[]).includes(n));
  if (names.length === 0 || bad.length) throw new Error(`--only takes a comma-separated list of ${CURVES.join(", ")}`);
  return names as Curve[];
}

const n = (v: number, digits = 0) =>
  v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

function tables(s: Saved): string {
  const out: string[] = [];
  if (s.connections) {
    out.push(
      `**HTTP single get by connections** (${s.connections.note}; closed loop, every connection keeps one request in flight)`,
      "",
      "| Connections | Keyward req/s | Bare req/s | Ratio | Keyward p50 / p99 (ms) | Bare p50 / p99 (ms) | Keyward CPU/req (µs) |",
      "| --: | --: | --: | --: | --: | --: | --: |",
      ...s.connections.points.map(
        (p) =>
          `| ${n(p.connections)} | ${n(p.keyward.perSecond)} | ${n(p.baseline.perSecond)} | ${(p.keyward.perSecond / p.baseline.perSecond).toFixed(2)}x | ${p.keyward.p50.toFixed(2)} / ${p.keyward.p99.toFixed(2)} | ${p.baseline.p50.toFixed(2)} / ${p.baseline.p99.toFixed(2)} | ${p.keyward.cpuUs.toFixed(1)} |`,
      ),
      "",
    );
  }
  if (s.bulk) {
    out.push(
      `**Bulk get by store size** (${s.bulk.note}; sequential requests, each on a new connection, timed by the client from request to last byte)`,
      "",
      "| Secrets | Response (KiB) | p50 (ms) | p99 (ms) | p50 per 1,000 secrets (ms) |",
      "| --: | --: | --: | --: | --: |",
      ...s.bulk.points.map(
        (p) =>
          `| ${n(p.secrets)} | ${n(p.bytes / 1024)} | ${p.p50.toFixed(2)} | ${p.p99.toFixed(2)} | ${p.p50Per1000.toFixed(2)} |`,
      ),
      "",
    );
  }
  if (s.startup) {
    out.push(
      `**Start-up to ready by components** (${s.startup.note}; local.file stores of 10 secrets)`,
      "",
      "| Components | Keyward (ms) | Keyward's own init (ms) | Bare node (ms) | RSS at ready (MB) |",
      "| --: | --: | --: | --: | --: |",
      ...s.startup.points.map(
        (p) => `| ${n(p.components)} | ${n(p.readyMs)} | ${n(p.initMs)} | ${n(p.bareMs)} | ${p.rssMB.toFixed(1)} |`,
      ),
      "",
    );
  }
  if (s.rss) {
    out.push(
      `**RSS by secrets loaded** (${s.rss.note}; one local.file store)`,
      "",
      "| Secrets | Secrets file (KiB) | RSS idle (MB) | RSS after one bulk get (MB) |",
      "| --: | --: | --: | --: |",
      ...s.rss.points.map(
        (p) => `| ${n(p.secrets)} | ${n(p.fileBytes / 1024)} | ${p.idleMB.toFixed(1)} | ${p.afterBulkMB.toFixed(1)} |`,
      ),
      "",
    );
  }
  return out.join("\n");
}

function charts(s: Saved): LinePanel[] {
  const panels: LinePanel[] = [];
  const fmt = (v: number) =>
    v >= 10_000
      ? `${(v / 1000).toFixed(0)}k`
      : v >= 1000
        ? `${(v / 1000).toFixed(1)}k`
        : v >= 10
          ? v.toFixed(0)
          : v.toFixed(2);
  if (s.connections) {
    const pts = s.connections.points;
    panels.push(
      {
        title: "HTTP req/s by connections",
        xLabel: "connections (log)",
        logX: true,
        format: fmt,
        series: [
          { name: "Keyward", color: KEYWARD, points: pts.map((p) => [p.connections, p.keyward.perSecond]) },
          { name: "bare node:http", color: BASELINE, points: pts.map((p) => [p.connections, p.baseline.perSecond]) },
        ],
      },
      {
        title: "HTTP p99 (ms) by connections",
        xLabel: "connections (log)",
        logX: true,
        format: fmt,
        series: [
          { name: "Keyward", color: KEYWARD, points: pts.map((p) => [p.connections, p.keyward.p99]) },
          { name: "bare node:http", color: BASELINE, points: pts.map((p) => [p.connections, p.baseline.p99]) },
        ],
      },
    );
  }
  if (s.bulk)
    panels.push({
      title: "Bulk get p50 (ms) by secrets",
      xLabel: "secrets in the store (linear axis: a straight line is linear cost)",
      logX: false,
      format: fmt,
      series: [{ name: "p50", color: KEYWARD, points: s.bulk.points.map((p) => [p.secrets, p.p50]) }],
    });
  if (s.startup)
    panels.push({
      title: "Start-up to ready (ms) by components",
      xLabel: "components (linear)",
      logX: false,
      format: fmt,
      series: [
        { name: "Keyward", color: KEYWARD, points: s.startup.points.map((p) => [p.components, p.readyMs]) },
        { name: "bare node", color: BASELINE, points: s.startup.points.map((p) => [p.components, p.bareMs]) },
      ],
    });
  if (s.rss)
    panels.push({
      title: "RSS (MB) by secrets loaded",
      xLabel: "secrets (linear)",
      logX: false,
      format: fmt,
      series: [
        { name: "idle", color: KEYWARD, points: s.rss.points.map((p) => [p.secrets, p.idleMB]) },
        { name: "after a bulk get", color: ACCENT, points: s.rss.points.map((p) => [p.secrets, p.afterBulkMB]) },
      ],
    });
  return panels;
}

async function main(): Promise<void> {
  const cfg = scalingConfig(process.env);
  const curves = chosen(process.argv.slice(2));
  const t0 = performance.now();
  const log = (m: string) =>
    process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(3)}s] ${m}\n`);
  const file = `${RESULTS_DIR}scaling.json`;
  const saved: Saved = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Saved) : {};
  const ws = new Workspace();
  try {
    for (const curve of curves) {
      const load0 = loadavg()[0]!.toFixed(2);
      const stamp = () =>
        `${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, ${availableParallelism()} CPUs (${cpus()[0]?.model ?? "?"}), Node ${process.version}, load average ${load0} -> ${loadavg()[0]!.toFixed(2)}${cfg.quick ? ", quick mode" : ""}`;
      log(`scaling: ${curve}`);
      if (curve === "connections") saved.connections = { points: await connectionsCurve(cfg, ws, log), note: "" };
      if (curve === "bulk") saved.bulk = { points: await bulkCurve(cfg, ws, log), note: "" };
      if (curve === "startup") saved.startup = { points: await startupCurve(cfg, ws, log), note: "" };
      if (curve === "rss") saved.rss = { points: await rssCurve(cfg, ws, log), note: "" };
      saved[curve]!.note = stamp();
    }
  } finally {
    ws.remove();
  }
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(file, JSON.stringify(saved, null, 2) + "\n");
  const md = `${tables(saved)}\n![Keyward scaling curves](scaling.png)\n`;
  writeFileSync(`${RESULTS_DIR}scaling.md`, md);
  writeFileSync(`${RESULTS_DIR}scaling.png`, renderLineCharts(charts(saved), "Keyward scaling curves"));
  process.stdout.write(md);
  if (!cfg.quick) updateDocsBlock("scaling", md.replace("(scaling.png)", "(../bench/results/scaling.png)"));
  log(`wrote ${RESULTS_DIR}scaling.{json,md,png}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench scaling: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
