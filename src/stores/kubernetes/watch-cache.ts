/**
 * @module Watch-backed reads for the Kubernetes store (`watch: "true"`): one list+watch per namespace
 * keeps an in-memory copy of its Secrets, like a client-go informer. Resyncs (relists) on 410 Expired,
 * reconnects with exponential backoff, and lets reads that arrive before the first list wait for it.
 * While a namespace has no synced copy (its list failed or is forbidden) the caller reads the API directly.
 */
import { untilAborted } from "../shared/sleep.js";
import { SecretStoreError, type SecretData, type StoreLogger } from "../types.js";
import type { RunningWatch, SecretEvent, SecretSource } from "./client.js";
import { safeMessage, statusOf } from "./errors.js";

export interface WatchCacheOptions {
  /** First reconnect delay; doubles up to `backoffMaxMs`, with ±20 % jitter. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** After a list or watch is refused (401/403), how long reads go straight to the API before trying again. */
  refusedRetryMs?: number;
  /** Server-side watch timeout range, like client-go's reflector (5–10 min), so streams are renewed. */
  watchTimeoutSeconds?: [number, number];
  /** A watch that stayed open this long (or delivered an event) resets the backoff. */
  healthyAfterMs?: number;
  /** At most this many namespaces get a list+watch; reads in further namespaces go to the API server. */
  maxNamespaces?: number;
  /** What is watched, for log lines: "secrets" unless the source lists something else. */
  noun?: string;
  /** Called after every change to a namespace's copy (a list or a watch event), for callers that follow it. */
  onChange?: (namespace: string) => void;
  /** After a refusal (401/403), list again after `refusedRetryMs` by itself rather than on the next read. */
  retryRefused?: boolean;
}

const DEFAULTS: Required<WatchCacheOptions> = {
  backoffInitialMs: 500,
  backoffMaxMs: 30_000,
  refusedRetryMs: 60_000,
  watchTimeoutSeconds: [300, 600],
  healthyAfterMs: 5_000,
  maxNamespaces: 64,
  noun: "secrets",
  onChange: () => undefined,
  retryRefused: false,
};

export class SecretWatchCache {
  private readonly namespaces = new Map<string, NamespaceWatch>();
  private readonly opts: Required<WatchCacheOptions>;
  private closed = false;
  private warnedFull = false;
  /** Told of every Secret the watch sees change (a name), or of a relist (no name): change notifications. */
  private readonly listeners = new Set<(name?: string) => void>();

  constructor(
    private readonly source: SecretSource,
    private readonly log: StoreLogger,
    opts: WatchCacheOptions = {},
  ) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  /** Adds a change listener; returns the function that removes it. */
  listen(listener: (name?: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed = (name?: string): void => {
    for (const listener of [...this.listeners]) listener(name);
  };

  /** Starts the list+watch of a namespace without waiting for it. */
  start(namespace: string): void {
    this.watchOf(namespace);
  }

  /**
   * The synced Secrets of a namespace (a live map: copy what you return). Waits for a list in progress when
   * the namespace has never been synced; undefined when there is no synced copy to serve from.
   */
  async snapshot(namespace: string, signal?: AbortSignal): Promise<ReadonlyMap<string, SecretData> | undefined> {
    if (this.closed) return undefined;
    // Namespaces come from request metadata: bound how many watches callers can make this process hold.
    if (!this.namespaces.has(namespace) && this.namespaces.size >= this.opts.maxNamespaces) {
      if (!this.warnedFull)
        this.log.warn("watch cache holds its maximum of namespaces; reads in others go to the API server", {
          max: this.opts.maxNamespaces,
          namespace,
        });
      this.warnedFull = true;
      return undefined;
    }
    return this.watchOf(namespace).snapshot(signal);
  }

  /** Namespaces currently watched, and whether each is synced (for tests and diagnostics). */
  status(): Record<string, { synced: boolean; resourceVersion: string; secrets: number }> {
    const out: Record<string, { synced: boolean; resourceVersion: string; secrets: number }> = {};
    for (const [ns, w] of this.namespaces)
      out[ns] = { synced: w.synced, resourceVersion: w.resourceVersion, secrets: w.secrets.size };
    return out;
  }

  /** Why the last list or watch of a namespace failed, until one succeeds again. */
  failure(namespace: string): string | undefined {
    return this.namespaces.get(namespace)?.failure;
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
    for (const w of this.namespaces.values()) w.stop();
    this.namespaces.clear();
  }

  private watchOf(namespace: string): NamespaceWatch {
    let w = this.namespaces.get(namespace);
    if (!w) {
      w = new NamespaceWatch(namespace, this.source, this.log, this.opts, this.changed);
      this.namespaces.set(namespace, w);
      w.relist();
    }
    return w;
  }
}

class NamespaceWatch {
  secrets = new Map<string, SecretData>();
  resourceVersion = "";
  /** A complete copy exists and a watch is (or is being re-)established. */
  synced = false;
  private listing: Promise<boolean> | undefined;
  private running: RunningWatch | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  private backoffMs: number;
  /** Set after a 401/403: reads go direct until this time, then a read restarts the list. */
  private refusedUntil = 0;
  private stopped = false;
  /** 410s since the last healthy watch: the first relists at once, repeats back off (no list/watch hot loop). */
  private expiredInARow = 0;
  failure: string | undefined;

  constructor(
    private readonly namespace: string,
    private readonly source: SecretSource,
    private readonly log: StoreLogger,
    private readonly opts: Required<WatchCacheOptions>,
    private readonly changed: (name?: string) => void,
  ) {
    this.backoffMs = opts.backoffInitialMs;
  }

  async snapshot(signal?: AbortSignal): Promise<ReadonlyMap<string, SecretData> | undefined> {
    if (this.synced) return this.secrets;
    if (this.refusedUntil !== 0) {
      if (Date.now() < this.refusedUntil) return undefined;
      this.refusedUntil = 0;
      this.relist();
    }
    const listing = this.listing;
    if (!listing) return undefined;
    const ok = await untilAborted(listing, signal, () => cancelled(this.namespace));
    return ok && this.synced ? this.secrets : undefined;
  }

  stop(): void {
    this.stopped = true;
    this.synced = false;
    this.abort.abort();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.running?.stop();
    this.running = undefined;
    this.secrets = new Map();
  }

  relist(): void {
    if (this.stopped || this.listing) return;
    this.running?.stop();
    this.running = undefined;
    this.listing = (async () => {
      try {
        const list = await this.source.list(this.namespace, this.abort.signal);
        if (this.stopped) return false;
        // Swap in the fresh copy at once: readers never see a half-built map.
        const relisted = this.synced || this.resourceVersion !== "";
        this.secrets = list.secrets;
        this.resourceVersion = list.resourceVersion;
        this.synced = true;
        this.failure = undefined;
        // A relist may hide changes the watch missed: every secret may have changed.
        if (relisted) this.changed();
        this.log.debug(`listed ${this.opts.noun} for the watch cache`, {
          namespace: this.namespace,
          items: list.secrets.size,
          resourceVersion: list.resourceVersion,
        });
        this.opts.onChange(this.namespace);
        void this.startWatch();
        return true;
      } catch (err) {
        if (this.stopped) return false;
        // A copy already held stays served while the API server is unreachable, as informers do.
        this.failed("list", err, () => this.relist());
        return false;
      } finally {
        this.listing = undefined;
      }
    })();
  }

  private async startWatch(): Promise<void> {
    if (this.stopped) return;
    const openedAt = Date.now();
    let sawEvent = false;
    let relistNeeded = false;
    const timeout = randomBetween(this.opts.watchTimeoutSeconds[0], this.opts.watchTimeoutSeconds[1]);
    const onEvent = (e: SecretEvent): void => {
      if (e.type !== "ERROR") {
        sawEvent = true;
        this.expiredInARow = 0;
      }
      switch (e.type) {
        case "ADDED":
        case "MODIFIED":
          this.secrets.set(e.name, e.data);
          this.resourceVersion = e.resourceVersion || this.resourceVersion;
          this.changed(e.name);
          this.opts.onChange(this.namespace);
          return;
        case "DELETED":
          this.secrets.delete(e.name);
          this.resourceVersion = e.resourceVersion || this.resourceVersion;
          this.changed(e.name);
          this.opts.onChange(this.namespace);
          return;
        case "BOOKMARK":
          this.resourceVersion = e.resourceVersion || this.resourceVersion;
          return;
        case "ERROR":
          // 410 Expired: the history since our resourceVersion is gone; anything else also needs a fresh list.
          relistNeeded = true;
          this.log.info(
            e.status.code === 410
              ? `watch resourceVersion expired; relisting ${this.opts.noun}`
              : `watch reported an error; relisting ${this.opts.noun}`,
            {
              namespace: this.namespace,
              code: e.status.code,
              reason: e.status.reason,
            },
          );
          this.running?.stop();
          this.running = undefined;
          if (e.status.code === 410 && this.expiredInARow++ === 0) this.relist();
          else this.schedule(() => this.relist());
          return;
      }
    };
    const onDone = (err: unknown): void => {
      if (this.stopped || relistNeeded) return;
      this.running = undefined;
      const healthy = sawEvent || Date.now() - openedAt >= this.opts.healthyAfterMs;
      if (healthy) {
        this.backoffMs = this.opts.backoffInitialMs;
        this.expiredInARow = 0;
      }
      if (err === undefined) {
        // The server ended the stream (timeoutSeconds, rollout): resume from where we are.
        if (healthy) void this.startWatch();
        else this.schedule(() => void this.startWatch());
        return;
      }
      if (statusOf(err)?.code === 410) {
        this.log.info(`watch resourceVersion expired; relisting ${this.opts.noun}`, { namespace: this.namespace });
        if (this.expiredInARow++ === 0) this.relist();
        else this.schedule(() => this.relist());
        return;
      }
      this.failed("watch", err, () => void this.startWatch());
    };
    try {
      const running = await this.source.watch(this.namespace, this.resourceVersion, timeout, {
        event: onEvent,
        done: onDone,
      });
      if (this.stopped || relistNeeded) running.stop();
      else this.running = running;
    } catch (err) {
      onDone(err);
    }
  }

  /** After a failed list or watch: back off and retry, or stop and let reads go direct when refused. */
  private failed(verb: "list" | "watch", err: unknown, retry: () => void): void {
    const code = statusOf(err)?.code ?? (err instanceof SecretStoreError ? kindCode(err) : undefined);
    const message = safeMessage(err);
    this.failure = message;
    if ((code === 401 || code === 403) && this.opts.retryRefused) {
      // The copy held stays: a revoked grant must not unload what was loaded with it.
      this.log.error(`cannot ${verb} ${this.opts.noun}; trying again later`, {
        namespace: this.namespace,
        retryInMs: this.opts.refusedRetryMs,
        error: message,
      });
      this.schedule(() => this.relist(), this.opts.refusedRetryMs);
      return;
    }
    if (code === 401 || code === 403) {
      this.synced = false;
      this.refusedUntil = Date.now() + this.opts.refusedRetryMs;
      this.log.warn(`the watch cache cannot ${verb} ${this.opts.noun}; reads go to the API server directly`, {
        namespace: this.namespace,
        verb,
        retryInMs: this.opts.refusedRetryMs,
        error: message,
      });
      return;
    }
    const delay = this.nextDelay();
    this.log.warn(`${verb} of ${this.opts.noun} failed; retrying`, {
      namespace: this.namespace,
      retryInMs: delay,
      error: message,
    });
    this.schedule(retry, delay);
  }

  private schedule(fn: () => void, delay = this.nextDelay()): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.stopped) fn();
    }, delay);
    this.timer.unref();
  }

  private nextDelay(): number {
    const base = this.backoffMs;
    this.backoffMs = Math.min(this.opts.backoffMaxMs, this.backoffMs * 2);
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }
}

function kindCode(err: SecretStoreError): number | undefined {
  if (err.kind === "permission_denied") return 403;
  if (err.kind === "bad_credentials") return 401;
  return undefined;
}

function randomBetween(min: number, max: number): number {
  return Math.floor(min + Math.random() * (max - min + 1));
}

function cancelled(namespace: string): SecretStoreError {
  return new SecretStoreError(
    "unavailable",
    `timed out waiting for the first list of secrets in namespace "${namespace}"`,
  );
}
