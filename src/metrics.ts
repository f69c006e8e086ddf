/**
 * @module daprd's Prometheus metrics (docs/compatibility.md §7.2). Labels never carry secret names or values.
 *
 * The two secret-call metrics are plain counters kept here and handed to prom-client only when scraped:
 * prom-client validates and hashes the label set on every observe, even on label-bound children, which
 * profiled as the largest cost of a single get (hot path). The exposition is prom-client's own, loaded
 * after the sidecar is ready: importing it is a fifth of start-up otherwise.
 */
import type { Registry } from "prom-client";
import type { CacheCounters } from "./core/cache/secret-cache.js";

const BUCKETS_MS = [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

interface Series {
  labels: Record<string, string>;
  count: number;
  sum: number;
  /** Per-bucket (not cumulative) counts; the last slot is +Inf. */
  buckets: Float64Array;
}

/** The cache's counters per component; metric name suffix → field. */
const CACHE_METRICS: [keyof CacheCounters, string, string][] = [
  ["hits", "keyward_secret_cache_hits_total", "Secret reads answered from the component's cache"],
  ["misses", "keyward_secret_cache_misses_total", "Secret reads the component's cache could not answer"],
  ["stale", "keyward_secret_cache_stale_total", "Expired answers served because the store failed (cacheStaleIfError)"],
  ["evictions", "keyward_secret_cache_evictions_total", "Cached answers dropped for the entry or memory bound"],
  ["storeCalls", "keyward_secret_cache_store_calls_total", "Store calls the component's cache made"],
];

type Sample = { labels: Record<string, string | number>; value: number; metricName?: string };

export class SidecarMetrics {
  private readonly series = new Map<string, Series>();
  private registry: Promise<Registry> | undefined;
  private readonly cache = new Map<string, CacheCounters>();

  constructor(
    private readonly appId: string,
    private readonly namespace: string,
  ) {}

  /** The Prometheus text and its content type. */
  async render(): Promise<{ contentType: string; text: string }> {
    const registry = await this.exposition();
    return { contentType: registry.contentType, text: await registry.metrics() };
  }

  /** Loads prom-client and starts the process metrics; idempotent. */
  exposition(): Promise<Registry> {
    this.registry ??= import("prom-client").then(({ Registry: R, collectDefaultMetrics }) => {
      const registry = new R();
      collectDefaultMetrics({ register: registry });
      this.register(registry);
      return registry;
    });
    return this.registry;
  }

  /** The cache counters of a component (kept across its reloads); only caching components are exported. */
  cacheCounters(component: string): CacheCounters {
    let c = this.cache.get(component);
    if (!c) this.cache.set(component, (c = { hits: 0, misses: 0, stale: 0, evictions: 0, storeCalls: 0 }));
    return c;
  }

  private register(registry: Registry): void {
    for (const [field, name, help] of CACHE_METRICS)
      registry.registerMetric(
        this.exported(name, help, "counter", () =>
          [...this.cache].map(([component, c]) => ({ labels: { component }, value: c[field] })),
        ),
      );
    const count = "dapr_component_secret_count";
    const latency = "dapr_component_secret_latencies";
    registry.registerMetric(
      this.exported(count, "The number of operations performed on the secret component", "counter", () =>
        [...this.series.values()].map((s) => ({ labels: s.labels, value: s.count })),
      ),
    );
    registry.registerMetric(
      this.exported(
        latency,
        "The latency of the operations performed on the secret component (ms)",
        "histogram",
        () => {
          const out: Sample[] = [];
          for (const s of this.series.values()) {
            let cumulative = 0;
            BUCKETS_MS.forEach((le, i) => {
              cumulative += s.buckets[i]!;
              out.push({ labels: { ...s.labels, le }, value: cumulative, metricName: `${latency}_bucket` });
            });
            out.push({ labels: { ...s.labels, le: "+Inf" }, value: s.count, metricName: `${latency}_bucket` });
            out.push({ labels: s.labels, value: s.sum, metricName: `${latency}_sum` });
            out.push({ labels: s.labels, value: s.count, metricName: `${latency}_count` });
          }
          return out;
        },
      ),
    );
  }

  /** A metric object in the shape prom-client's Registry reads at scrape time. */
  private exported(
    name: string,
    help: string,
    type: "counter" | "histogram",
    values: () => Sample[],
  ): Parameters<Registry["registerMetric"]>[0] {
    return {
      name,
      help,
      type,
      aggregator: "sum",
      get: async () => ({ name, help, type, aggregator: "sum", values: values() }),
    } as unknown as Parameters<Registry["registerMetric"]>[0];
  }

  recordSecretCall(component: string, operation: "get" | "bulk_get", success: boolean, ms: number): void {
    const key = `${component}\u0000${operation}\u0000${success}`;
    let s = this.series.get(key);
    if (!s) {
      s = {
        labels: { app_id: this.appId, component, namespace: this.namespace, operation, success: String(success) },
        count: 0,
        sum: 0,
        buckets: new Float64Array(BUCKETS_MS.length + 1),
      };
      this.series.set(key, s);
    }
    s.count++;
    s.sum += ms;
    let i = 0;
    while (i < BUCKETS_MS.length && ms > BUCKETS_MS[i]!) i++;
    s.buckets[i]!++;
  }
}
