/**
 * @module The transport-neutral secrets API (daprd's "universal" API): store lookup, scope check,
 * resilient store call, error mapping, bulk filtering. HTTP and gRPC both call only this.
 */
import { ApiError, Errors } from "../errors/catalogue.js";
import type { Logger } from "../log.js";
import type { SidecarMetrics } from "../metrics.js";
import type { SecretScope } from "../resources/configuration.js";
import type { BulkSecretData, SecretData, SecretStore, SecretStoreFeature } from "../stores/types.js";
import { runWithPolicy, type StorePolicy } from "./resiliency.js";
import { isSecretAllowed } from "./scopes.js";

export interface LoadedStore {
  name: string;
  type: string;
  version: string;
  store: SecretStore;
  features: readonly SecretStoreFeature[];
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
    const entry = this.lookup(storeName);
    const named = this.secretName(entry, key);
    // Most stores answer at once: awaiting only a promise keeps a microtask off the hot path.
    const name = typeof named === "string" ? named : await named;
    if (!isSecretAllowed(this.deps.scopes, storeName, name, entry.store))
      throw new ApiError(Errors.PERMISSION_DENIED, [key, storeName]);
    const started = performance.now();
    try {
      const policy = this.deps.policies.get(storeName);
      // Without a resiliency policy the store is called directly: runWithPolicy would only add a closure and
      // a promise to every single get, the hot path (profiled with `npm run bench`).
      const data = await (policy
        ? runWithPolicy(policy, (attempt) => entry.store.getSecret({ name, metadata }, attempt), signal)
        : entry.store.getSecret({ name, metadata }, signal));
      this.deps.metrics?.recordSecretCall(storeName, "get", true, performance.now() - started);
      return data;
    } catch (err) {
      this.deps.metrics?.recordSecretCall(storeName, "get", false, performance.now() - started);
      const reason = errorText(err);
      this.deps.log.debug({ store: storeName, key }, `get secret failed: ${reason}`);
      throw new ApiError(Errors.SECRET_GET, [key, storeName, reason], { cause: err });
    }
  }

  /** The name the store will read: the scope is checked on it, never on another spelling of it. */
  private secretName(entry: LoadedStore, key: string): string | Promise<string> {
    if (!entry.store.secretName) return key;
    const refused = (err: unknown): never => {
      const reason = errorText(err);
      this.deps.log.debug({ store: entry.name, key }, `get secret refused: ${reason}`);
      throw new ApiError(Errors.SECRET_GET, [key, entry.name, reason], { cause: err });
    };
    try {
      const named = entry.store.secretName(key);
      return typeof named === "string" ? named : named.catch(refused);
    } catch (err) {
      return refused(err);
    }
  }

  async getBulkSecret(storeName: string, metadata: Metadata, signal?: AbortSignal): Promise<BulkSecretData | null> {
    const entry = this.lookup(storeName);
    const started = performance.now();
    let data: BulkSecretData | null;
    try {
      data = await runWithPolicy(
        this.deps.policies.get(storeName),
        (attempt) => entry.store.bulkGetSecret({ metadata }, attempt),
        signal,
      );
      this.deps.metrics?.recordSecretCall(storeName, "bulk_get", true, performance.now() - started);
    } catch (err) {
      this.deps.metrics?.recordSecretCall(storeName, "bulk_get", false, performance.now() - started);
      const reason = errorText(err);
      this.deps.log.debug({ store: storeName }, `bulk get failed: ${reason}`);
      throw new ApiError(Errors.BULK_SECRET_GET, [storeName, reason], { cause: err });
    }
    const scopes = this.deps.scopes;
    if (data === null || !scopes.has(storeName)) return data;
    const filtered: BulkSecretData = {};
    for (const [name, value] of Object.entries(data)) {
      if (isSecretAllowed(scopes, storeName, name, entry.store)) filtered[name] = value;
      else this.deps.log.debug({ store: storeName, key: name }, "bulk get: secret dropped by scope");
    }
    return filtered;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
