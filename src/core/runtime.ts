/**
 * @module Composition root: resources → references → store init (dependencies first) → the secrets
 * service. Servers start only after this, so no request ever sees a half-loaded runtime (docs/compatibility.md §5.3).
 */
import type { Logger } from "../log.js";
import { storeLogger } from "../log.js";
import type { SidecarMetrics } from "../metrics.js";
import type { ComponentManifest } from "../resources/component.js";
import { EMPTY_CONFIGURATION, loadConfiguration, type RuntimeConfiguration } from "../resources/configuration.js";
import { loadResources, type RawResource } from "../resources/load.js";
import { findStoreDefinition } from "../stores/registry.js";
import type { StoreContext, StoreEnv } from "../stores/types.js";
import { splitCacheMetadata } from "./cache/options.js";
import { SecretCache, type CacheCounters } from "./cache/secret-cache.js";
import { orderByReferences, resolveMetadata } from "./references.js";
import { buildPolicies, type StorePolicy } from "./resiliency.js";
import { SecretsService, type LoadedStore } from "./secrets-service.js";

export interface RuntimeOptions {
  appId: string;
  resourcesPaths: readonly string[];
  configFiles: readonly string[];
  kubernetesMode: boolean;
  /** env NAMESPACE, "" when unset. */
  namespace: string;
  env: NodeJS.ProcessEnv;
  /** `--kubeconfig`, handed to Kubernetes stores. */
  kubeconfig?: string;
  log: Logger;
  metrics?: SidecarMetrics;
}

/** Start-up failed; the message says what to fix. */
export class StartupError extends Error {}

/** The built-in store daprd adds in Kubernetes mode (docs/compatibility.md §5.4). */
const KUBERNETES_BUILTIN = "kubernetes";

export class Runtime {
  readonly stores = new Map<string, LoadedStore>();
  /** The manifest each loaded store came from, to tell what a hot reload changed. */
  private readonly manifests = new Map<string, ComponentManifest>();
  /** Live policies: a hot reload replaces them. */
  private readonly policies = new Map<string, StorePolicy>();
  private others: RawResource[] = [];
  readonly extendedMetadata = new Map<string, string>();
  configuration: RuntimeConfiguration = EMPTY_CONFIGURATION;
  service!: SecretsService;

  /** One frozen copy for every store: none can change what another sees. */
  private readonly storeEnv: StoreEnv;

  constructor(readonly opts: RuntimeOptions) {
    this.storeEnv = Object.freeze({ ...opts.env });
  }

  async start(): Promise<void> {
    const { opts } = this;
    try {
      this.configuration = await loadConfiguration(opts.configFiles, opts.env);
    } catch (err) {
      throw new StartupError(`configuration: ${(err as Error).message}`);
    }
    let resources;
    try {
      resources = await loadResources(opts.resourcesPaths, { appId: opts.appId, namespace: opts.namespace });
    } catch (err) {
      throw new StartupError((err as Error).message);
    }
    for (const w of resources.warnings) opts.log.warn(w);

    const components = [...resources.secretStores];
    if (opts.kubernetesMode && !components.some((c) => c.name === KUBERNETES_BUILTIN))
      components.unshift(kubernetesBuiltin());
    try {
      await this.initStores(components, false);
      this.others = resources.others;
      this.rebuildPolicies();
      this.service = new SecretsService({
        stores: this.stores,
        scopes: this.configuration.scopes,
        policies: this.policies,
        metrics: opts.metrics,
        log: opts.log,
      });
    } catch (err) {
      await this.close();
      throw err instanceof StartupError ? err : new StartupError((err as Error).message);
    }
  }

  private rebuildPolicies(): void {
    const next = buildPolicies(this.others, this.opts.appId, [...this.stores.keys()]);
    this.policies.clear();
    for (const [k, v] of next) this.policies.set(k, v);
  }

  /** `reloading`: a failed store is logged and left out instead of stopping the sidecar. */
  private async initStores(components: ComponentManifest[], reloading: boolean): Promise<void> {
    const { opts } = this;
    const defaultStore = opts.kubernetesMode ? KUBERNETES_BUILTIN : "";
    const { ordered, problems } = orderByReferences(components, defaultStore, new Set(this.stores.keys()));
    for (const c of ordered) {
      const fail = (reason: string) => {
        const msg = `process component ${c.name} error: [INIT_COMPONENT_FAILURE]: initialization error occurred for ${c.name} (${c.type}/${c.version || "v1"}): ${reason}`;
        if (reloading) {
          opts.log.error(
            { component: c.name },
            `${msg} (${c.file}:${c.line}); the component stays unloaded until its file is fixed`,
          );
          return;
        }
        if (!c.ignoreErrors) throw new StartupError(`${msg} (${c.file}:${c.line})`);
        opts.log.warn({ component: c.name }, `${msg}; ignoreErrors is set, so the sidecar goes on without it`);
      };
      const problem = problems.get(c.name);
      if (problem !== undefined) {
        fail(problem);
        continue;
      }
      try {
        const loaded = await this.initStore(c, defaultStore);
        if (loaded) {
          this.stores.set(c.name, loaded);
          this.manifests.set(c.name, c);
        } else fail(`couldn't find secret store ${c.type}/${c.version || "v1"}`);
      } catch (err) {
        if (err instanceof StartupError) throw err;
        fail((err as Error).message);
      }
    }
  }

  private async initStore(c: ComponentManifest, defaultStore: string): Promise<LoadedStore | undefined> {
    const def = await findStoreDefinition(c.type, c.version).catch(() => undefined);
    if (!def) return undefined;
    const log = this.opts.log.child({ component: c.name });
    const resolved = await resolveMetadata(c, {
      appId: this.opts.appId,
      namespace: this.opts.namespace,
      env: this.opts.env,
      defaultStore,
      store: (name) => this.stores.get(name)?.store,
      warn: (m) => log.warn(m),
    });
    // The cache's fields are the runtime's, never store configuration.
    const { options: cacheOptions, storeMetadata: metadata } = splitCacheMetadata(resolved);
    const store = def.create();
    const signal = AbortSignal.timeout(c.initTimeoutMs);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_r, reject) => {
      timer = setTimeout(
        () => reject(new Error(`init timed out after ${c.initTimeoutMs} ms (spec.initTimeout)`)),
        c.initTimeoutMs,
      );
    });
    try {
      const ctx: StoreContext = {
        name: c.name,
        signal,
        log: storeLogger(log),
        env: this.storeEnv,
        namespace: this.opts.namespace,
        appId: this.opts.appId,
        ...(this.opts.kubeconfig ? { kubeconfig: this.opts.kubeconfig } : {}),
      };
      await Promise.race([store.init(metadata, ctx), timeout]);
    } catch (err) {
      await store.close().catch(() => undefined);
      throw err;
    } finally {
      clearTimeout(timer);
    }
    log.info({ component_type: c.type, version: c.version || "v1" }, "component loaded");
    return {
      name: c.name,
      type: c.type.toLowerCase(),
      version: c.version || "v1",
      store,
      features: store.features(),
      ...(cacheOptions ? { cache: new SecretCache(cacheOptions, this.cacheCounters(c.name)) } : {}),
    };
  }

  private cacheCounters(component: string): CacheCounters {
    return this.opts.metrics?.cacheCounters(component) ?? { hits: 0, misses: 0, stale: 0, evictions: 0, storeCalls: 0 };
  }

  /**
   * Forgets a component's cached answers: all of them, or those of one secret (the name as the store reads
   * it) and every bulk answer. For change notifications; a store without a cache is a no-op.
   */
  invalidateCache(storeName: string, name?: string): void {
    this.stores.get(storeName)?.cache?.invalidate(name);
  }

  /**
   * Hot reload (docs/compatibility.md §8.1): re-reads the resources folders and applies the difference by component
   * name. A changed store is closed and started again, a removed one closed, a new one started; requests
   * for a store being replaced briefly get ERR_SECRET_STORE_NOT_FOUND, as in daprd.
   */
  async reload(): Promise<void> {
    const { opts } = this;
    let resources;
    try {
      resources = await loadResources(opts.resourcesPaths, { appId: opts.appId, namespace: opts.namespace });
    } catch (err) {
      opts.log.error(`hot reload: ${(err as Error).message}; the loaded components stay as they are`);
      return;
    }
    for (const w of resources.warnings) opts.log.warn(w);
    const next = new Map(resources.secretStores.map((c) => [c.name, c]));
    const start: ComponentManifest[] = [];
    for (const [name, current] of [...this.manifests]) {
      if (current.line === 0 && name === KUBERNETES_BUILTIN) continue; // the built-in store is never unloaded
      const wanted = next.get(name);
      if (wanted && specOf(wanted) === specOf(current)) continue;
      const loaded = this.stores.get(name);
      this.stores.delete(name);
      this.manifests.delete(name);
      await loaded?.store
        .close()
        .catch((err: unknown) => opts.log.warn({ component: name }, `close failed: ${(err as Error).message}`));
      opts.log.info({ component: name }, wanted ? "component changed: restarting it" : "component removed");
    }
    for (const [name, c] of next) if (!this.manifests.has(name)) start.push(c);
    await this.initStores(start, true);
    this.others = resources.others;
    try {
      this.rebuildPolicies();
    } catch (err) {
      opts.log.error(`hot reload: resiliency: ${(err as Error).message}; previous policies kept`);
    }
  }

  /** Closes every store; errors are logged, never thrown, so shutdown always completes. */
  async close(): Promise<void> {
    const all = [...this.stores.values()];
    this.stores.clear();
    await Promise.all(
      all.map((s) =>
        s.store
          .close()
          .catch((err: unknown) =>
            this.opts.log.warn({ component: s.name }, `close failed: ${(err as Error).message}`),
          ),
      ),
    );
  }
}

/** What makes two manifests the same component: everything but where it was read from. */
function specOf(c: ComponentManifest): string {
  const { file: _f, line: _l, metadata, ...rest } = c;
  return JSON.stringify({ ...rest, metadata: metadata.map(({ line: _ml, ...m }) => m) });
}

function kubernetesBuiltin(): ComponentManifest {
  return {
    name: KUBERNETES_BUILTIN,
    namespace: "",
    type: "secretstores.kubernetes",
    version: "v1",
    initTimeoutMs: 5000,
    ignoreErrors: false,
    metadata: [],
    authSecretStore: "",
    scopes: [],
    file: "(built-in, Kubernetes mode)",
    line: 0,
  };
}
