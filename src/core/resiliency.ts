/**
 * @module Resiliency for secret store calls (docs/compatibility.md §7.1): per-attempt timeout, circuit breaker
 * around the timed attempt, retry around everything. Named targets win; otherwise daprd's default names.
 */
import { parseDuration } from "../stores/metadata.js";
import type { RawResource } from "../resources/load.js";
import { field } from "../resources/yaml-documents.js";

export interface RetryPolicy {
  policy: "constant" | "exponential";
  durationMs: number;
  maxIntervalMs: number;
  /** -1 retries for ever. */
  maxRetries: number;
}

export interface BreakerPolicy {
  maxRequests: number;
  intervalMs: number;
  timeoutMs: number;
  /** Trips when consecutive failures reach this. */
  tripAfter: number;
}

export type PolicyKind = "timeout" | "retry" | "circuitbreaker";

/** daprd's resiliency metrics for one store's policy: applied once per call, activated when it acts. */
export interface PolicyObserver {
  executed(policy: PolicyKind, status?: string): void;
  activated(policy: PolicyKind, status?: string): void;
}

export interface StorePolicy {
  timeoutMs?: number;
  retry?: RetryPolicy;
  breaker?: CircuitBreaker;
  observe?: PolicyObserver;
}

export class DeadlineExceeded extends Error {
  constructor() {
    super("context deadline exceeded");
  }
}

export class CircuitOpen extends Error {
  constructor() {
    super("circuit breaker is open");
  }
}

/** sony/gobreaker semantics: closed → open after the trip count, half-open after `timeoutMs`. */
export class CircuitBreaker {
  private _state: "closed" | "open" | "half-open" = "closed";
  /** Called with the new state whenever it changes. */
  onStateChange?: (state: string) => void;
  private failures = 0;
  private openedAt = 0;
  private halfOpenInFlight = 0;
  private windowStart = Date.now();
  constructor(private readonly p: BreakerPolicy) {}

  get state(): "closed" | "open" | "half-open" {
    return this._state;
  }

  private set state(next: "closed" | "open" | "half-open") {
    const changed = next !== this._state;
    this._state = next;
    if (changed) this.onStateChange?.(next);
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const now = Date.now();
    if (this.state === "open" && now - this.openedAt >= this.p.timeoutMs) {
      this.state = "half-open";
      this.halfOpenInFlight = 0;
    }
    if (this.state === "open") throw new CircuitOpen();
    if (this.state === "half-open" && this.halfOpenInFlight >= this.p.maxRequests) throw new CircuitOpen();
    if (this.state === "closed" && this.p.intervalMs > 0 && now - this.windowStart >= this.p.intervalMs) {
      this.failures = 0;
      this.windowStart = now;
    }
    if (this.state === "half-open") this.halfOpenInFlight++;
    try {
      const v = await fn();
      this.failures = 0;
      if (this.state === "half-open") this.state = "closed";
      return v;
    } catch (err) {
      this.failures++;
      if (this.state === "half-open" || this.failures >= this.p.tripAfter) {
        this.state = "open";
        this.openedAt = Date.now();
      }
      throw err;
    } finally {
      if (this.state === "half-open") this.halfOpenInFlight = Math.max(0, this.halfOpenInFlight - 1);
    }
  }
}

/** Waits `ms`; rejects with the signal's reason as soon as it aborts, so a cancelled call stops backing off. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Settles as `work` does, or rejects with the signal's reason once it aborts. A store that ignores its signal
 * may go on in the background; its result is dropped, as in daprd, and the policy stops waiting for it.
 */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * Runs one store call under a policy. Each attempt gets a signal that aborts at the attempt's timeout or when
 * `signal` (the caller's: client gone, shutdown) aborts; then no further attempt or backoff sleep happens.
 */
export async function runWithPolicy<T>(
  policy: StorePolicy | undefined,
  attempt: (signal: AbortSignal | undefined) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  if (signal?.aborted) throw signal.reason as Error;
  if (!policy) return untilAborted(attempt(signal), signal);
  const observe = policy.observe;
  if (observe) {
    if (policy.timeoutMs !== undefined) observe.executed("timeout");
    if (policy.retry) observe.executed("retry");
    if (policy.breaker) observe.executed("circuitbreaker", policy.breaker.state);
  }
  let timedOut = false;
  const timed = async () => {
    if (policy.timeoutMs === undefined) return untilAborted(attempt(signal), signal);
    const ctl = new AbortController();
    const cancel = () => ctl.abort(signal!.reason);
    signal?.addEventListener("abort", cancel, { once: true });
    const timer = setTimeout(() => {
      // As daprd: a call's timeout counts as activated once, however many attempts time out.
      if (!timedOut) observe?.activated("timeout");
      timedOut = true;
      ctl.abort(new DeadlineExceeded());
    }, policy.timeoutMs);
    try {
      return await untilAborted(attempt(ctl.signal), ctl.signal);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", cancel);
    }
  };
  const guarded = () => (policy.breaker ? policy.breaker.run(timed) : timed());
  const retry = policy.retry;
  if (!retry) return guarded();
  let interval = retry.policy === "constant" ? retry.durationMs : 500;
  for (let n = 0; ; n++) {
    try {
      return await guarded();
    } catch (err) {
      if (signal?.aborted) throw signal.reason as Error;
      if (retry.maxRetries >= 0 && n >= retry.maxRetries) throw err;
      observe?.activated("retry");
      await abortableSleep(retry.policy === "constant" ? interval : interval * (0.5 + Math.random()), signal);
      if (retry.policy === "exponential") interval = Math.min(interval * 1.5, retry.maxIntervalMs);
    }
  }
}

export class ResiliencyError extends Error {}

interface Parsed {
  timeouts: Map<string, number>;
  retries: Map<string, RetryPolicy>;
  breakers: Map<string, BreakerPolicy>;
  targets: Map<string, { timeout?: string; retry?: string; circuitBreaker?: string }>;
  /** "Timeout:name", "Retry:name", "CircuitBreaker:name" or "target:store" → the Resiliency that defined it. */
  sources: Map<string, { name: string; namespace: string }>;
}

/** What the resiliency metrics need of the metrics. */
export interface ResiliencyMetrics {
  policyLoaded(name: string, namespace: string): void;
  policyApplied(
    event: "executed" | "activated",
    name: string,
    namespace: string,
    policy: PolicyKind,
    target: string,
    status?: string,
  ): void;
}

function duration(v: unknown, fallback: number, where: string): number {
  if (v === undefined || v === null || v === "") return fallback;
  const ms = parseDuration(String(v));
  if (ms === undefined) throw new ResiliencyError(`${where}: ${JSON.stringify(v)} is not a duration`);
  return ms;
}

function entries(v: unknown): [string, unknown][] {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? Object.entries(v) : [];
}

function parseTrip(expr: unknown, where: string): number {
  if (expr === undefined || expr === null || expr === "") return 6; // gobreaker default: more than 5
  const m = /^\s*consecutiveFailures\s*(>=|>|==)\s*(\d+)\s*$/.exec(String(expr));
  if (!m)
    throw new ResiliencyError(
      `${where}: trip ${JSON.stringify(expr)} is not supported; use "consecutiveFailures >= N"`,
    );
  const n = Number(m[2]);
  return m[1] === ">" ? n + 1 : n;
}

/** Builds per-store policies from the Resiliency resources that apply to this app. */
export function buildPolicies(
  resources: readonly RawResource[],
  appId: string,
  storeNames: readonly string[],
  metrics?: ResiliencyMetrics,
): Map<string, StorePolicy> {
  const p: Parsed = {
    timeouts: new Map(),
    retries: new Map(),
    breakers: new Map(),
    targets: new Map(),
    sources: new Map(),
  };
  for (const r of resources) {
    if (r.kind !== "Resiliency") continue;
    const v = r.doc.value;
    const scopes = field(v, "scopes");
    if (Array.isArray(scopes) && scopes.length > 0 && !scopes.map(String).includes(appId)) continue;
    const where = `${r.file}:${r.doc.line}`;
    const meta = field(v, "metadata");
    const source = { name: String(field(meta, "name") ?? ""), namespace: String(field(meta, "namespace") ?? "") };
    metrics?.policyLoaded(source.name, source.namespace);
    const policies = field(field(v, "spec"), "policies");
    for (const kind of ["Timeout", "Retry", "CircuitBreaker"])
      for (const [name] of entries(field(policies, `${kind.charAt(0).toLowerCase()}${kind.slice(1)}s`)))
        p.sources.set(`${kind}:${name}`, source);
    for (const [name, t] of entries(field(policies, "timeouts")))
      p.timeouts.set(name, duration(t, 0, `${where} timeout ${name}`));
    for (const [name, raw] of entries(field(policies, "retries"))) {
      const kind = String(field(raw, "policy") ?? "constant").toLowerCase();
      if (kind !== "constant" && kind !== "exponential")
        throw new ResiliencyError(`${where} retry ${name}: policy must be constant or exponential`);
      const max = field(raw, "maxRetries");
      p.retries.set(name, {
        policy: kind,
        durationMs: duration(field(raw, "duration"), 5000, `${where} retry ${name}`),
        maxIntervalMs: duration(field(raw, "maxInterval"), 60_000, `${where} retry ${name}`),
        maxRetries: max === undefined || max === null ? -1 : Number(max),
      });
    }
    for (const [name, raw] of entries(field(policies, "circuitBreakers"))) {
      p.breakers.set(name, {
        maxRequests: Number(field(raw, "maxRequests") ?? 1) || 1,
        intervalMs: duration(field(raw, "interval"), 0, `${where} circuitBreaker ${name}`),
        timeoutMs: duration(field(raw, "timeout"), 60_000, `${where} circuitBreaker ${name}`),
        tripAfter: parseTrip(field(raw, "trip"), `${where} circuitBreaker ${name}`),
      });
    }
    for (const [store, raw] of entries(field(field(field(v, "spec"), "targets"), "components"))) {
      const out = field(raw, "outbound");
      p.sources.set(`target:${store}`, source);
      p.targets.set(store, {
        timeout: field(out, "timeout") as string | undefined,
        retry: field(out, "retry") as string | undefined,
        circuitBreaker: field(out, "circuitBreaker") as string | undefined,
      });
    }
  }
  const result = new Map<string, StorePolicy>();
  for (const store of storeNames) {
    const target = p.targets.get(store);
    let source = p.sources.get(`target:${store}`);
    const pick = <T>(map: Map<string, T>, named: string | undefined, kind: string): T | undefined => {
      if (named !== undefined) {
        const found = map.get(named);
        if (found === undefined)
          throw new ResiliencyError(`resiliency target ${store} names ${kind} policy ${named}, which is not defined`);
        source ??= p.sources.get(`${kind}:${named}`);
        return found;
      }
      for (const n of [
        `DefaultSecretstoreComponentOutbound${kind}Policy`,
        `DefaultComponentOutbound${kind}Policy`,
        `DefaultComponent${kind}Policy`,
        `Default${kind}Policy`,
      ]) {
        const found = map.get(n);
        if (found !== undefined) {
          source ??= p.sources.get(`${kind}:${n}`);
          return found;
        }
      }
      return undefined;
    };
    const timeoutMs = pick(p.timeouts, target?.timeout, "Timeout");
    const retry = pick(p.retries, target?.retry, "Retry");
    const breaker = pick(p.breakers, target?.circuitBreaker, "CircuitBreaker");
    if (timeoutMs !== undefined || retry || breaker) {
      const policy: StorePolicy = {
        timeoutMs: timeoutMs || undefined,
        retry,
        breaker: breaker ? new CircuitBreaker(breaker) : undefined,
      };
      if (metrics) policy.observe = observer(metrics, source ?? { name: "", namespace: "" }, store, policy.breaker);
      result.set(store, policy);
    }
  }
  return result;
}

function observer(
  metrics: ResiliencyMetrics,
  source: { name: string; namespace: string },
  store: string,
  breaker: CircuitBreaker | undefined,
): PolicyObserver {
  // daprd's target name for a component: its component type, "_", its name.
  const target = `Secretstore_${store}`;
  const o: PolicyObserver = {
    executed: (policy, status) =>
      metrics.policyApplied("executed", source.name, source.namespace, policy, target, status),
    activated: (policy, status) =>
      metrics.policyApplied("activated", source.name, source.namespace, policy, target, status),
  };
  if (breaker) breaker.onStateChange = (state) => o.activated("circuitbreaker", state);
  return o;
}
