/** Every query of the Grafana dashboard names only metrics a running Keyward exports. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT } from "../helpers/paths.js";
import { scrape } from "../helpers/metrics.js";
import { componentYaml, startSidecar } from "../helpers/sidecar.js";

interface Panel {
  title: string;
  targets?: { expr: string }[];
}
const dashboard = JSON.parse(readFileSync(join(REPO_ROOT, "deploy", "grafana", "keyward.json"), "utf8")) as {
  panels: Panel[];
  templating: { list: { query?: unknown }[] };
};

/** PromQL's functions, aggregations and keywords the dashboard may use; any other word must be a metric. */
const PROMQL = new Set(
  "sum avg min max count rate irate increase histogram_quantile vector or and unless by without on ignoring label_values".split(
    " ",
  ),
);

/** The metric names in a query: strings, label matchers, ranges and grouping labels removed first. */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, "")
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, "")
    .replace(/,\s*[a-z_]+\s*\)/g, ")"); // label_values(metric, label)
  return [...bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)].map((m) => m[0]).filter((w) => !PROMQL.has(w));
}

describe("Grafana dashboard", () => {
  const queries: [string, string][] = [];
  for (const p of dashboard.panels) for (const t of p.targets ?? []) queries.push([p.title, t.expr]);
  for (const v of dashboard.templating.list) {
    const q = v.query as { query?: string } | string | undefined;
    const text = typeof q === "object" ? q.query : q;
    if (text?.includes("(")) queries.push([`variable ${text}`, text]);
  }

  it("has the panels the operators asked for", () => {
    const titles = dashboard.panels.map((p) => p.title.toLowerCase()).join("\n");
    for (const word of ["request rate", "errors by code", "latency percentiles per store", "cache hit ratio", "refusals"])
      assert.ok(titles.includes(word), `no panel about ${word}`);
  });

  it("every query names at least one metric, and every metric it names is exported", async () => {
    const s = await startSidecar({
      components: { "env.yaml": componentYaml("env", "secretstores.local.env") },
    });
    let text: string;
    try {
      text = await scrape(s.metricsPort!);
    } finally {
      await s.stop();
    }
    const exported = new Set<string>();
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      exported.add(m[1]!);
      if (m[2] === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) exported.add(m[1]! + suffix);
    }
    assert.ok(queries.length >= 10);
    for (const [where, expr] of queries) {
      const names = metricNames(expr);
      assert.ok(names.length > 0, `${where}: no metric in ${expr}`);
      for (const n of names) assert.ok(exported.has(n), `${where}: ${n} is not exported by Keyward`);
    }
  });

  it("the metric finder sees a misspelt metric", () => {
    assert.deepEqual(metricNames('sum by (le) (rate(dapr_http_server_latnecy_bucket{a="b"}[5m]))'), [
      "dapr_http_server_latnecy_bucket",
    ]);
  });
});
