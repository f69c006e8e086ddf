/**
 * @module Prometheus metrics with daprd's names, tags and buckets (docs/compatibility.md §7.2), and Keyward's own under
 * `keyward_`. Labels never carry a secret name or value: paths are cut before the secret name, as daprd does.
 *
 * Every family is a set of plain numbers (metrics-family.ts) handed to prom-client only when scraped. The
 * exposition is prom-client's own, loaded after the sidecar is ready: importing it is a fifth of start-up
 * otherwise.
 */
import type { Registry } from "prom-client";
import type { CacheCounters } from "./core/cache/secret-cache.js";
import { Family, LATENCY_BUCKETS_MS, SIZE_BUCKETS, type Sample, type Series } from "./metrics-family.js";
import { commonJsExports } from "./commonjs-exports.js";

/** The secret cache's counters per component: field, metric name, help. */
const CACHE_METRICS: [keyof CacheCounters, string, string][] = [
  ["hits", "keyward_secret_cache_hits_total", "Secret reads answered from the component's cache"],
  ["misses", "keyward_secret_cache_misses_total", "Secret reads the component's cache could not answer"],
  ["stale", "keyward_secret_cache_stale_total", "Expired answers served because the store failed (cacheStaleIfError)"],
  ["evictions", "keyward_secret_cache_evictions_total", "Cached answers dropped for the entry or memory bound"],
  ["storeCalls", "keyward_secret_cache_store_calls_total", "Store calls the component's cache made"],
];

const RESILIENCY_TAGS = ["app_id", "name", "policy", "namespace", "flow_direction", "target", "status"];

export class SidecarMetrics {
  private readonly secretCount = new Family(
    "dapr_component_secret_count",
    "The number of operations performed on the secret component.",
    "counter",
    ["app_id", "component", "namespace", "operation", "success"],
  );
  private readonly secretLatency = new Family(
    "dapr_component_secret_latencies",
    "The latency of the response from the secret component.",
    "histogram",
    ["app_id", "component", "namespace", "operation", "success"],
    LATENCY_BUCKETS_MS,
  );
  private readonly httpRequestCount = new Family(
    "dapr_http_server_request_count",
    "Count of HTTP requests processed by the server.",
    "counter",
    ["app_id", "method", "path", "status"],
  );
  private readonly httpResponseCount = new Family(
    "dapr_http_server_response_count",
    "The number of HTTP responses",
    "counter",
    ["app_id", "method", "path", "status"],
  );
  private readonly httpLatency = new Family(
    "dapr_http_server_latency",
    "HTTP request end-to-end latency in server.",
    "histogram",
    ["app_id", "method", "path", "status"],
    LATENCY_BUCKETS_MS,
  );
  private readonly httpRequestBytes = new Family(
    "dapr_http_server_request_bytes",
    "HTTP request body size if set as ContentLength (uncompressed) in server.",
    "histogram",
    ["app_id"],
    SIZE_BUCKETS,
  );
  private readonly httpResponseBytes = new Family(
    "dapr_http_server_response_bytes",
    "HTTP response body size (uncompressed) in server.",
    "histogram",
    ["app_id"],
    SIZE_BUCKETS,
  );
  private readonly grpcCompleted = new Family(
    "dapr_grpc_io_server_completed_rpcs",
    "Distribution of bytes sent per RPC, by method.",
    "counter",
    ["app_id", "grpc_server_method", "grpc_server_status"],
  );
  private readonly grpcLatency = new Family(
    "dapr_grpc_io_server_server_latency",
    "Time between first byte of request received to last byte of response sent, or terminal error.",
    "histogram",
    ["app_id", "grpc_server_method", "grpc_server_status"],
    LATENCY_BUCKETS_MS,
  );
  private readonly grpcReceivedBytes = new Family(
    "dapr_grpc_io_server_received_bytes_per_rpc",
    "Total bytes received across all messages per RPC.",
    "histogram",
    ["app_id", "grpc_server_method"],
    SIZE_BUCKETS,
  );
  private readonly grpcSentBytes = new Family(
    "dapr_grpc_io_server_sent_bytes_per_rpc",
    "Total bytes sent in across all response messages per RPC.",
    "histogram",
    ["app_id", "grpc_server_method"],
    SIZE_BUCKETS,
  );
  private readonly componentLoaded = new Family(
    "dapr_runtime_component_loaded",
    "The number of successfully loaded components.",
    "counter",
    ["app_id"],
  );
  private readonly componentInit = new Family(
    "dapr_runtime_component_init_total",
    "The number of initialized components.",
    "counter",
    ["app_id", "component"],
  );
  private readonly componentInitFail = new Family(
    "dapr_runtime_component_init_fail_total",
    "The number of component initialization failures.",
    "counter",
    ["app_id", "component", "reason", "componentName"],
  );
  private readonly errorCodes = new Family(
    "dapr_error_code_total",
    "Total number of times an error with a specific error code was encountered.",
    "counter",
    ["app_id", "error_code", "category"],
  );
  private readonly resiliencyLoaded = new Family(
    "dapr_resiliency_loaded",
    "Number of resiliency policies loaded.",
    "counter",
    ["app_id", "name", "namespace"],
  );
  private readonly resiliencyCount = new Family(
    "dapr_resiliency_count",
    "Number of times a resiliency policyKey has been applied to a building block.",
    "counter",
    RESILIENCY_TAGS,
  );
  private readonly resiliencyActivations = new Family(
    "dapr_resiliency_activations_total",
    "Number of times a resiliency policyKey has been activated in a building block after a failure or after a state change.",
    "counter",
    RESILIENCY_TAGS,
  );
  private readonly refusals = new Family(
    "keyward_api_refusals_total",
    "Calls refused before they reached a store: bad or missing API token, API allow/deny list, secret scopes.",
    "counter",
    ["app_id", "transport", "reason"],
  );
  private readonly auditLines = new Family(
    "keyward_audit_lines_total",
    "Lines written to the audit log (--audit-log).",
    "counter",
    ["app_id"],
  );
  private readonly auditFailures = new Family(
    "keyward_audit_failures_total",
    "Audit log lines or reopens that failed (disk full, permissions, file gone).",
    "counter",
    ["app_id"],
  );
  private readonly cacheReads = new Family(
    "keyward_store_cache_reads_total",
    "Reads of a store that keeps a copy of its secrets (Kubernetes with watch): result hit (from the copy) or miss.",
    "counter",
    ["app_id", "component", "result"],
  );
  private readonly subscriptions = new Family(
    "keyward_secret_subscriptions_active",
    "Change-notification subscriptions clients hold now, per component.",
    "gauge",
    ["app_id", "component"],
  );
  private readonly notifications = new Family(
    "keyward_secret_notifications_total",
    "Secret states sent to change-notification subscribers, per component.",
    "counter",
    ["app_id", "component"],
  );
  private readonly polls = new Family(
    "keyward_secret_polls_total",
    "Version checks of subscribed secrets asked of stores that cannot push changes, per component.",
    "counter",
    ["app_id", "component"],
  );
  private readonly families: Family[] = [
    this.auditLines,
    this.auditFailures,
    this.subscriptions,
    this.notifications,
    this.polls,
    this.cacheReads,
    this.secretCount,
    this.secretLatency,
    this.httpRequestCount,
    this.httpResponseCount,
    this.httpLatency,
    this.httpRequestBytes,
    this.httpResponseBytes,
    this.grpcCompleted,
    this.grpcLatency,
    this.grpcReceivedBytes,
    this.grpcSentBytes,
    this.componentLoaded,
    this.componentInit,
    this.componentInitFail,
    this.errorCodes,
    this.resiliencyLoaded,
    this.resiliencyCount,
    this.resiliencyActivations,
    this.refusals,
  ];
  /** Counters the secret caches increment in place (kept across a component's reloads). */
  private readonly cache = new Map<string, CacheCounters>();
  private registry: Promise<Registry> | undefined;
  /** The Configuration's `metrics.recordErrorCodes`; error codes are counted only when it is set. */
  recordErrorCodes = false;

  constructor(
    private readonly appId: string,
    private readonly namespace: string,
  ) {}

  /** The names of every family this exports (for documentation and the dashboard check). */
  static familyNames(): string[] {
    return [...new SidecarMetrics("", "").families.map((f) => f.name), ...CACHE_METRICS.map(([, name]) => name)];
  }

  /** The Prometheus text and its content type. */
  async render(): Promise<{ contentType: string; text: string }> {
    const registry = await this.exposition();
    return { contentType: registry.contentType, text: await registry.metrics() };
  }

  /** Loads prom-client and starts the process metrics; idempotent. */
  exposition(): Promise<Registry> {
    this.registry ??= import("prom-client").then((mod) => {
      const { Registry: R, collectDefaultMetrics } = commonJsExports(mod);
      const registry = new R();
      collectDefaultMetrics({ register: registry });
      for (const f of this.families) registry.registerMetric(exported(f.name, f.help, f.type, () => f.samples()));
      for (const [field, name, help] of CACHE_METRICS)
        registry.registerMetric(
          exported(name, help, "counter", () =>
            [...this.cache].map(([component, c]) => ({ labels: { app_id: this.appId, component }, value: c[field] })),
          ),
        );
      return registry;
    });
    return this.registry;
  }

  /** The cache counters of a component; only components with a cache are exported. */
  cacheCounters(component: string): CacheCounters {
    let c = this.cache.get(component);
    if (!c) this.cache.set(component, (c = { hits: 0, misses: 0, stale: 0, evictions: 0, storeCalls: 0 }));
    return c;
  }

  /**
   * The series each kind of call records into, found through three levels of maps by the label values
   * themselves: every API call records into several families, and building and joining each family's label
   * set per call, or even one joined key, profiled as a share of a single get. As bounded as the label sets
   * themselves (methods, cut paths, codes and components).
   */
  private readonly secretSeries: SeriesIndex = new Map();
  private readonly httpSeries: SeriesIndex = new Map();
  private readonly grpcSeries: SeriesIndex = new Map();

  recordSecretCall(component: string, operation: "get" | "bulk_get", success: boolean, ms: number): void {
    const [count, latency] = seriesOf(this.secretSeries, component, operation, success ? 1 : 0, () => {
      const labels = [this.appId, component, this.namespace, operation, String(success)];
      return [this.secretCount.seriesFor(labels), this.secretLatency.seriesFor(labels)];
    });
    this.secretCount.add(count!);
    this.secretLatency.add(latency!, ms);
  }

  /** One HTTP API call; `path` is already cut to daprd's low-cardinality label. */
  recordHttp(method: string, path: string, status: number, requestBytes: number, responseBytes: number, ms: number) {
    const [requests, responses, latency, received, sent] = seriesOf(this.httpSeries, method, path, status, () => {
      const labels = [this.appId, method, path, String(status)];
      return [
        this.httpRequestCount.seriesFor(labels),
        this.httpResponseCount.seriesFor(labels),
        this.httpLatency.seriesFor(labels),
        this.httpRequestBytes.seriesFor([this.appId]),
        this.httpResponseBytes.seriesFor([this.appId]),
      ];
    });
    this.httpRequestCount.add(requests!);
    this.httpResponseCount.add(responses!);
    this.httpLatency.add(latency!, Math.floor(ms));
    this.httpRequestBytes.add(received!, requestBytes);
    this.httpResponseBytes.add(sent!, responseBytes);
  }

  /** One gRPC call; `status` is the code's name as Go prints it (OK, NotFound...). */
  recordGrpc(method: string, status: string, requestBytes: number, responseBytes: number, ms: number): void {
    const [completed, latency, received, sent] = seriesOf(this.grpcSeries, method, status, 0, () => [
      this.grpcCompleted.seriesFor([this.appId, method, status]),
      this.grpcLatency.seriesFor([this.appId, method, status]),
      this.grpcReceivedBytes.seriesFor([this.appId, method]),
      this.grpcSentBytes.seriesFor([this.appId, method]),
    ]);
    this.grpcCompleted.add(completed!);
    this.grpcLatency.add(latency!, Math.floor(ms));
    this.grpcReceivedBytes.add(received!, requestBytes);
    this.grpcSentBytes.add(sent!, responseBytes);
  }

  componentInitialized(type: string): void {
    this.componentLoaded.observe([this.appId]);
    this.componentInit.observe([this.appId, type]);
  }

  componentFailed(type: string, reason: string, name: string): void {
    this.componentInitFail.observe([this.appId, type, reason, name]);
  }

  errorCode(code: string, category: string): void {
    if (this.recordErrorCodes) this.errorCodes.observe([this.appId, code, category]);
  }

  refused(transport: "http" | "grpc", reason: "token" | "api_denied" | "scope"): void {
    this.refusals.observe([this.appId, transport, reason]);
  }

  auditLine(): void {
    this.auditLines.observe([this.appId]);
  }

  auditFailure(): void {
    this.auditFailures.observe([this.appId]);
  }

  /** A subscription started (+1) or ended (-1). */
  subscriptionsActive(component: string, delta: number): void {
    this.subscriptions.observe([this.appId, component], delta);
  }

  notificationSent(component: string): void {
    this.notifications.observe([this.appId, component]);
  }

  notificationPoll(component: string): void {
    this.polls.observe([this.appId, component]);
  }

  cacheRead(component: string, hit: boolean): void {
    this.cacheReads.observe([this.appId, component, hit ? "hit" : "miss"]);
  }

  policyLoaded(name: string, namespace: string): void {
    this.resiliencyLoaded.observe([this.appId, name, namespace]);
  }

  /** A policy applied to (`activated`: triggered by) a secret store call; `target` is daprd's target name. */
  policyApplied(
    event: "executed" | "activated",
    name: string,
    namespace: string,
    policy: "timeout" | "retry" | "circuitbreaker",
    target: string,
    status = "",
  ): void {
    const family = event === "executed" ? this.resiliencyCount : this.resiliencyActivations;
    family.observe([this.appId, name, policy, namespace, "outbound", target, status]);
  }
}

/** A metric object in the shape prom-client's Registry reads at scrape time. */
function exported(
  name: string,
  help: string,
  type: Family["type"],
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

type SeriesIndex = Map<string, Map<string, Map<number, Series[]>>>;

/** The series of one label combination (two strings and a number), made by `make` on first use. */
function seriesOf(index: SeriesIndex, a: string, b: string, c: number, make: () => Series[]): Series[] {
  let byB = index.get(a);
  if (!byB) index.set(a, (byB = new Map()));
  let byC = byB.get(b);
  if (!byC) byB.set(b, (byC = new Map()));
  let series = byC.get(c);
  if (!series) byC.set(c, (series = make()));
  return series;
}
