/**
 * @module daprd's Prometheus metrics (docs/compatibility.md §7.2). Labels never carry secret names or values.
 *
 * The two secret-call metrics are plain counters kept here and handed to prom-client only when scraped:
 * prom-client validates and hashes the label set on every observe, even on label-bound children, which
 * profiled as the largest cost of a single get (hot path). The exposition is prom-client's own, loaded
 * after the sidecar is ready: importing it is a fifth of start-up otherwise.
 */
import type { Registry } from "prom-client";

const BUCKETS_MS = [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

interface Series {
  labels: Record<string, string>;
  count: number;
  sum: number;
  /** Per-bucket (not cumulative) counts; the last slot is +Inf. */
  buckets: Float64Array;
}

type Sample = { labels: Record<string, string | number>; value: number; metricName?: string };

export class SidecarMetrics {
  private readonly series = new Map<string, Series>();
  private registry: Promise<Registry> | undefined;

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

  private register(registry: Registry): void {
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
