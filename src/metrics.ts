/** @module Prometheus metrics with daprd's names (contract 7.2). Labels never carry secret names or values. */
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export class SidecarMetrics {
  readonly registry = new Registry();
  private readonly count: Counter<"app_id" | "component" | "namespace" | "operation" | "success">;
  private readonly latency: Histogram<"app_id" | "component" | "namespace" | "operation" | "success">;

  constructor(
    private readonly appId: string,
    private readonly namespace: string,
  ) {
    collectDefaultMetrics({ register: this.registry });
    const labelNames = ["app_id", "component", "namespace", "operation", "success"] as const;
    this.count = new Counter({ name: "dapr_component_secret_count", help: "The number of operations performed on the secret component", labelNames, registers: [this.registry] });
    this.latency = new Histogram({
      name: "dapr_component_secret_latencies",
      help: "The latency of the operations performed on the secret component (ms)",
      labelNames,
      buckets: [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
      registers: [this.registry],
    });
  }

  /** Label-bound children, one per store/operation/outcome: prom-client hashes a label object on every
   * call otherwise, which profiled as the largest cost of a single get (hot path). */
  private readonly children = new Map<string, { count: { inc(): void }; latency: { observe(v: number): void } }>();

  recordSecretCall(component: string, operation: "get" | "bulk_get", success: boolean, ms: number): void {
    const key = `${component}\u0000${operation}\u0000${success}`;
    let child = this.children.get(key);
    if (!child) {
      const labels = { app_id: this.appId, component, namespace: this.namespace, operation, success: String(success) };
      child = { count: this.count.labels(labels), latency: this.latency.labels(labels) };
      this.children.set(key, child);
    }
    child.count.inc();
    child.latency.observe(ms);
  }
}
