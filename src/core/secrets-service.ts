/**
 * @module The transport-neutral secrets API (daprd's "universal" API): store lookup, scope check,
 * resilient store call, error mapping, bulk filtering. HTTP and gRPC both call only this.
 */
import { ApiError, Errors } from "../errors/catalogue.js";
import { Cancelled, signalOf, type CallSignal } from "./cancellation.js";
import { BulkAnswer, SecretAnswer } from "./cache/answer.js";
import type { SecretCache } from "./cache/secret-cache.js";
import type { Logger } from "../log.js";
import type { SidecarMetrics } from "../metrics.js";
import type { SecretScope } from "../resources/configuration.js";
import {
  SecretStoreError,
  type BulkSecretData,
  type SecretData,
  type SecretStore,
  type SecretStoreFeature,
} from "../stores/types.js";
import { runWithPolicy, type StorePolicy } from "./resiliency.js";
import { isSecretAllowed } from "./scopes.js";
import { isTruthy } from "../stores/metadata.js";
import type { CallSpan } from "../tracing/types.js";

export interface LoadedStore {
  name: string;
  type: string;
  version: string;
  store: SecretStore;
  features: readonly SecretStoreFeature[];
  /** The component's answer cache, when its metadata sets cacheTTL. */
  cache?: SecretCache<SecretAnswer | BulkAnswer>;
  /** How often a subscribed secret's version is polled when the store cannot push changes (pollInterval). */
  pollIntervalMs?: number;
}

export interface SecretsServiceDeps {
  /** Live view of the loaded stores: components may come and go. */
  stores: ReadonlyMap<string, LoadedStore>;
  /** Read once per call: a configuration reload replaces the whole map. */
  readonly scopes: ReadonlyMap<string, SecretScope>;
  policies: ReadonlyMap<string, StorePolicy>;
  metrics?: SidecarMetrics;
  log: Logger;
}

type Metadata = Readonly<Record<string, string>>;

/** Per-request metadata that bypasses the cache and refreshes the entry; never passed to the store. */
export const REFRESH_CACHE = "refresh_cache";

/**
 * Answers by the store's data object. A store that hands out the same frozen object for an unchanged secret
 * or bulk map (local.file) gets its HTTP body and gRPC reply encoded once, as a cache hit does; a fresh or
 * mutable object is answered anew. For bulk this is what keeps the time linear in the number of secrets:
 * encoding 10,000 secrets on every call took 19 times as long as 1,000 (npm run bench).
 */
const answers = new WeakMap<SecretData, SecretAnswer>();
const bulkAnswers = new WeakMap<BulkSecretData, BulkAnswer>();

function answerOf(data: SecretData | null): SecretAnswer {
  return keptAnswer(answers, data, SecretAnswer);
}

function bulkAnswerOf(data: BulkSecretData | null): BulkAnswer {
  return keptAnswer(bulkAnswers, data, BulkAnswer);
}

function keptAnswer<D extends object, A>(kept: WeakMap<D, A>, data: D | null, make: new (data: D | null) => A): A {
  if (data === null || !Object.isFrozen(data)) return new make(data);
  let answer = kept.get(data);
  if (!answer) kept.set(data, (answer = new make(data)));
  return answer;
}

export class SecretsService {
  constructor(private readonly deps: SecretsServiceDeps) {}

  private lookup(storeName: string): LoadedStore {
    const { stores } = this.deps;
    if (stores.size === 0) throw new ApiError(Errors.SECRET_STORES_NOT_CONFIGURED);
    const found = stores.get(storeName);
    if (!found) throw new ApiError(Errors.SECRET_STORE_NOT_FOUND, [storeName]);
    return found;
  }

  /**
   * Resolves to the store's map, or null when the store returned no data. `signal` is the caller's: when it
   * aborts (client gone, shutdown) the store call, its retries and backoff stop.
   */
  async getSecret(
    storeName: string,
    key: string,
    metadata: Metadata,
    signal?: AbortSignal,
  ): Promise<SecretData | null> {
    return (await this.getSecretAnswer(storeName, key, metadata, signal)).data;
  }

  /**
   * As getSecret, with the answer's wire forms (kept with the answer when the component caches). With
   * `span` (tracing on), the store call, when one is made, gets a child span.
   */
  async getSecretAnswer(
    storeName: string,
    key: string,
    metadata: Metadata,
    signal?: CallSignal,
    span?: CallSpan,
  ): Promise<SecretAnswer> {
    return this.secretAnswer(storeName, key, metadata, signal, span);
  }

  /**
   * As getSecretAnswer, but the answer comes back at once, not in a promise, when it is at hand: a fresh
   * cache hit, or a store that holds the secret in memory (peekSecret) without a resiliency policy or a span
   * to record. Its checks throw at once too. Spares a single get every promise and microtask of the
   * asynchronous path (hot path, profiled); the transports use it when no audit line waits on the outcome.
   */
  secretAnswer(
    storeName: string,
    key: string,
    metadata: Metadata,
    signal?: CallSignal,
    span?: CallSpan,
  ): SecretAnswer | Promise<SecretAnswer> {
    const entry = this.lookup(storeName);
    const named = this.secretName(entry, key);
    return typeof named === "string"
      ? this.answerNamed(entry, named, key, metadata, signal, span)
      : named.then((name) => this.answerNamed(entry, name, key, metadata, signal, span));
  }

  private answerNamed(
    entry: LoadedStore,
    name: string,
    key: string,
    metadata: Metadata,
    signal: CallSignal | undefined,
    span: CallSpan | undefined,
  ): SecretAnswer | Promise<SecretAnswer> {
    const storeName = entry.name;
    // The scope is checked before the cache, so a cached answer never reaches a caller the scopes deny.
    if (!isSecretAllowed(this.deps.scopes, storeName, name, entry.store))
      throw new ApiError(Errors.PERMISSION_DENIED, [key, storeName]);
    const { md, refresh } = splitRefresh(metadata);
    const cache = entry.cache;
    // A secret the store holds in memory is answered before the store call is set up (hot path, profiled).
    if (!cache && entry.store.peekSecret && !span && md === NO_METADATA && !this.deps.policies.has(storeName)) {
      const data = entry.store.peekSecret(name);
      if (data !== undefined) {
        this.deps.metrics?.recordSecretCall(storeName, "get", true, 0);
        return answerOf(data);
      }
    }
    const load = (sig: CallSignal | undefined) => this.callGet(entry, name, key, md, sig, span).then(answerOf);
    if (!cache) return load(signal);
    const cacheKey = md === NO_METADATA ? "g:" + name : "G:" + JSON.stringify([name, sortedEntries(md)]);
    const hit = refresh ? undefined : cache.peek(cacheKey);
    if (hit) return hit as SecretAnswer;
    return cache.get({
      key: cacheKey,
      name,
      refresh,
      signal: signalOf(signal),
      load,
      staleAllowed,
      onStale: (err, late) => this.staleLogged(storeName, key, err, late),
    }) as Promise<SecretAnswer>;
  }

  /**
   * For a subscription: the component and the name its store reads, after the same store lookup, name
   * check and scope check as a GET (and the same errors).
   */
  async subscribeTarget(storeName: string, key: string): Promise<{ entry: LoadedStore; name: string }> {
    const entry = this.lookup(storeName);
    const name = await this.secretName(entry, key);
    if (!isSecretAllowed(this.deps.scopes, storeName, name, entry.store))
      throw new ApiError(Errors.PERMISSION_DENIED, [key, storeName]);
    return { entry, name };
  }

  /** Whether the scopes let callers read `name` of the component now (they may change with a reload). */
  allowed(entry: LoadedStore, name: string): boolean {
    return isSecretAllowed(this.deps.scopes, entry.name, name, entry.store);
  }

  /**
   * A read that skips the cache, for change notifications: the store has (or may have) a new value, so the
   * component's cached answers for the secret, and its bulk answers, are dropped as well.
   */
  async freshAnswer(entry: LoadedStore, name: string, metadata: Metadata, signal: AbortSignal): Promise<SecretAnswer> {
    entry.cache?.invalidate(name);
    return new SecretAnswer(await this.callGet(entry, name, name, metadata, signal, undefined));
  }

  private async callGet(
    entry: LoadedStore,
    name: string,
    key: string,
    metadata: Metadata,
    signal: CallSignal | undefined,
    span: CallSpan | undefined,
  ): Promise<SecretData | null> {
    const storeName = entry.name;
    const started = performance.now();
    const child = span?.storeCall(storeName, entry.type, "get");
    try {
      const policy = this.deps.policies.get(storeName);
      // Without a resiliency policy the store is called directly: runWithPolicy would only add a closure and
      // a promise to every single get, the hot path (profiled with `npm run bench`).
      const data = await (policy
        ? runWithPolicy(policy, (attempt) => entry.store.getSecret({ name, metadata }, attempt), signalOf(signal))
        : entry.store.getSecret({ name, metadata }, signalOf(signal)));
      this.deps.metrics?.recordSecretCall(storeName, "get", true, performance.now() - started);
      child?.end();
      return data;
    } catch (err) {
      this.deps.metrics?.recordSecretCall(storeName, "get", false, performance.now() - started);
      child?.end(err);
      const reason = errorText(err);
      this.deps.log.debug({ store: storeName, key }, `get secret failed: ${reason}`);
      throw new ApiError(Errors.SECRET_GET, [key, storeName, reason], { cause: err });
    }
  }

  private staleLogged(storeName: string, key: string | undefined, err: unknown, lateMs: number): void {
    this.deps.log.warn(
      { store: storeName, ...(key === undefined ? {} : { key }) },
      `the store failed, so the cache served its last good answer, expired ${Math.round(lateMs / 1000)} s ago (cacheStaleIfError): ${errorText(err)}`,
    );
  }

  /** The name the store will read: the scope is checked on it, never on another spelling of it. */
  private secretName(entry: LoadedStore, key: string): string | Promise<string> {
    if (!entry.store.secretName) return key;
    try {
      const named = entry.store.secretName(key);
      return typeof named === "string" ? named : named.catch((err: unknown) => this.nameRefused(entry, key, err));
    } catch (err) {
      return this.nameRefused(entry, key, err);
    }
  }

  private nameRefused(entry: LoadedStore, key: string, err: unknown): never {
    const reason = errorText(err);
    this.deps.log.debug({ store: entry.name, key }, `get secret refused: ${reason}`);
    throw new ApiError(Errors.SECRET_GET, [key, entry.name, reason], { cause: err });
  }

  async getBulkSecret(storeName: string, metadata: Metadata, signal?: AbortSignal): Promise<BulkSecretData | null> {
    return (await this.getBulkSecretAnswer(storeName, metadata, signal)).data;
  }

  /** As getBulkSecret, with the answer's wire forms; a cached bulk answer is one entry. */
  async getBulkSecretAnswer(
    storeName: string,
    metadata: Metadata,
    signal?: AbortSignal,
    span?: CallSpan,
  ): Promise<BulkAnswer> {
    const entry = this.lookup(storeName);
    const { md, refresh } = splitRefresh(metadata);
    const load = (sig: AbortSignal | undefined) => this.callBulk(entry, md, sig, span).then(bulkAnswerOf);
    const answer = entry.cache
      ? ((await entry.cache.get({
          key: "b:" + JSON.stringify(sortedEntries(md)),
          name: undefined,
          refresh,
          signal,
          load,
          staleAllowed,
          onStale: (err, late) => this.staleLogged(storeName, undefined, err, late),
        })) as BulkAnswer)
      : await load(signal);
    // Scopes filter every answer, cached or not; the filtered form is kept per scope with the answer.
    const scopes = this.deps.scopes;
    const scope = scopes.get(storeName);
    if (answer.data === null || scope === undefined) return answer;
    return answer.filtered(scope, (data) => {
      const filtered: BulkSecretData = {};
      for (const [name, value] of Object.entries(data)) {
        if (isSecretAllowed(scopes, storeName, name, entry.store)) filtered[name] = value;
        else this.deps.log.debug({ store: storeName, key: name }, "bulk get: secret dropped by scope");
      }
      return filtered;
    });
  }

  private async callBulk(
    entry: LoadedStore,
    metadata: Metadata,
    signal: AbortSignal | undefined,
    span: CallSpan | undefined,
  ): Promise<BulkSecretData | null> {
    const storeName = entry.name;
    const started = performance.now();
    const child = span?.storeCall(storeName, entry.type, "bulk_get");
    try {
      const data = await runWithPolicy(
        this.deps.policies.get(storeName),
        (attempt) => entry.store.bulkGetSecret({ metadata }, attempt),
        signal,
      );
      this.deps.metrics?.recordSecretCall(storeName, "bulk_get", true, performance.now() - started);
      child?.end();
      return data;
    } catch (err) {
      this.deps.metrics?.recordSecretCall(storeName, "bulk_get", false, performance.now() - started);
      child?.end(err);
      const reason = errorText(err);
      this.deps.log.debug({ store: storeName }, `bulk get failed: ${reason}`);
      throw new ApiError(Errors.BULK_SECRET_GET, [storeName, reason], { cause: err });
    }
  }
}

/** No metadata: one frozen object the transports pass for a call that carries none (hot path). */
export const NO_METADATA: Metadata = Object.freeze({});

/** What no metadata splits into, made once (hot path). */
const NOTHING_TO_SPLIT = Object.freeze({ md: NO_METADATA, refresh: false });

/** The request metadata without refresh_cache, and whether it asked for a refresh. */
function splitRefresh(metadata: Metadata): { md: Metadata; refresh: boolean } {
  if (metadata === NO_METADATA) return NOTHING_TO_SPLIT;
  const keys = Object.keys(metadata);
  if (keys.length === 0) return NOTHING_TO_SPLIT;
  if (!Object.hasOwn(metadata, REFRESH_CACHE)) return { md: metadata, refresh: false };
  const { [REFRESH_CACHE]: flag, ...rest } = metadata;
  return { md: Object.keys(rest).length === 0 ? NO_METADATA : rest, refresh: isTruthy(flag) };
}

function sortedEntries(md: Metadata): [string, string][] {
  return Object.entries(md).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * A stale answer stands in for a store that fails (down, throttled, credentials), never for one that says
 * the secret is gone or the name is refused, nor for a caller that left.
 */
function staleAllowed(err: unknown): boolean {
  const cause = err instanceof ApiError ? err.cause : err;
  if (cause instanceof Cancelled) return false;
  if (cause instanceof SecretStoreError)
    return !["not_found", "invalid_request", "permission_denied"].includes(cause.kind);
  return true;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
