/**
 * @module Composition root: resources → references → store init (dependencies first) → the secrets
 * service. Servers start only after this, so no request ever sees a half-loaded runtime (docs/compatibility.md §5.3).
 */
import type { Logger } from "../log.js";
import { storeLogger } from "../log.js";
import type { SidecarMetrics } from "../metrics.js";
import type { ComponentManifest } from "../resources/component.js";
import {
  EMPTY_CONFIGURATION,
  loadConfiguration,
  parseConfiguration,
  unmatchedScopeWarnings,
  type RuntimeConfiguration,
} from "../resources/configuration.js";
import { loadResources, parseResources, type LoadedResources, type RawResource } from "../resources/load.js";
import { debounced, type Debounced } from "../watch.js";
import type { ClusterResources } from "./cluster/cluster-resources.js";
import { findStoreDefinition } from "../stores/registry.js";
import type { StoreContext, StoreEnv } from "../stores/types.js";
import type { BulkAnswer, SecretAnswer } from "./cache/answer.js";
import { splitCacheMetadata } from "./cache/options.js";
import { SecretCache, type CacheCounters } from "./cache/secret-cache.js";
import { checkComponent } from "./component-check.js";
import { orderByReferences, referencedStore, resolveMetadata } from "./references.js";
import { buildPolicies, type StorePolicy } from "./resiliency.js";
import { NotificationHub } from "./notify/hub.js";
import { referenceWatches } from "./notify/rotation.js";
import { SecretsService, type LoadedStore } from "./secrets-service.js";
import { TrackedStore } from "./tracked-store.js";

export interface RuntimeOptions {
  appId: string;
  resourcesPaths: readonly string[];
  configFiles: readonly string[];
  kubernetesMode: boolean;
  /** daprd's --disable-builtin-k8s-secret-store. */
  disableBuiltinKubernetesStore?: boolean;
  /** env NAMESPACE, "" when unset. */
  namespace: string;
  env: NodeJS.ProcessEnv;
  /** `--kubeconfig`, handed to Kubernetes stores. */
  kubeconfig?: string;
  log: Logger;
  metrics?: SidecarMetrics;
  /** `--strict`: every resource warning (skipped document, YAML error, unknown metadata name, secret scope
   * for no store) stops start-up instead. */
  strict?: boolean;
  /**
   * Kubernetes mode without resources folders: Components, Resiliencies and the Configuration named
   * `configName` (`--config`) come from the API server, and every change to them reloads.
   */
  fromCluster?: { configName: string | undefined };
}

/** Start-up failed; the message says what to fix. */
export class StartupError extends Error {}

/** The built-in store daprd adds in Kubernetes mode (docs/compatibility.md §5.4). */
const KUBERNETES_BUILTIN = "kubernetes";

/** How long a replaced store instance may finish the calls it was serving before it is closed anyway. */
const DRAIN_MS = 30_000;

export class Runtime {
  readonly stores = new Map<string, LoadedStore>();
  /** The manifest each loaded store came from, to tell what a hot reload changed. */
  private readonly manifests = new Map<string, ComponentManifest>();
  /** Live policies: a hot reload replaces them. */
  private readonly policies = new Map<string, StorePolicy>();
  private others: RawResource[] = [];
  /** Replaced instances still finishing their calls; shutdown closes them too. */
  private readonly retiring = new Set<LoadedStore>();
  private closed = false;
  private cluster: ClusterResources | undefined;
  private clusterReload: Debounced | undefined;
  /** Replaced as one object by a reload, so a request sees either the old scopes and API lists or the new. */
  configuration: RuntimeConfiguration = EMPTY_CONFIGURATION;
  service!: SecretsService;
  /** Change notifications: client subscriptions, and the runtime's own for rotating secretKeyRefs. */
  readonly notifications: NotificationHub;
  /** The runtime's subscriptions to secrets other components reference, by component/store/secret. */
  private readonly referenceWatches = new Map<string, () => void>();
  /** Rotations run one at a time, in the order their changes came. */
  private rotating: Promise<void> = Promise.resolve();

  /** One frozen copy for every store: none can change what another sees. */
  private readonly storeEnv: StoreEnv;

  constructor(readonly opts: RuntimeOptions) {
    this.storeEnv = Object.freeze({ ...opts.env });
    this.notifications = new NotificationHub({
      read: (entry, name, metadata, signal) => this.service.freshAnswer(entry, name, metadata, signal),
      allowed: (entry, name) => this.service.allowed(entry, name),
      log: opts.log,
      metrics: opts.metrics,
    });
  }

  async start(): Promise<void> {
    const { opts } = this;
    if (opts.fromCluster) await this.followCluster(opts.fromCluster);
    try {
      this.configuration = await this.readConfiguration();
      if (opts.metrics) opts.metrics.recordErrorCodes = this.configuration.recordErrorCodes;
    } catch (err) {
      this.cluster?.close();
      throw new StartupError(`configuration: ${(err as Error).message}`);
    }
    let resources;
    try {
      resources = await this.readResources();
    } catch (err) {
      this.cluster?.close();
      throw new StartupError((err as Error).message);
    }
    this.warnAll(resources.warnings);

    const components = [...resources.secretStores];
    if (
      opts.kubernetesMode &&
      !opts.disableBuiltinKubernetesStore &&
      !components.some((c) => c.name === KUBERNETES_BUILTIN)
    )
      components.unshift(kubernetesBuiltin());
    try {
      await this.initStores(components, undefined);
      this.warnAll(unmatchedScopeWarnings(this.configuration.scopes, [...this.stores.keys()]));
      this.others = resources.others;
      this.rebuildPolicies();
      const configuration = () => this.configuration;
      this.service = new SecretsService({
        stores: this.stores,
        get scopes() {
          return configuration().scopes;
        },
        policies: this.policies,
        metrics: opts.metrics,
        log: opts.log,
      });
      await this.watchReferences();
    } catch (err) {
      await this.close();
      throw err instanceof StartupError ? err : new StartupError((err as Error).message);
    }
  }

  /** Lists the API server's resources; each later change reloads, debounced, through `reload`. */
  private async followCluster(from: NonNullable<RuntimeOptions["fromCluster"]>): Promise<void> {
    const { opts } = this;
    const reload = debounced(
      () => this.reload(),
      (m) => opts.log.error(`hot reload: ${m}`),
    );
    const { ClusterResources } = await import("./cluster/cluster-resources.js");
    try {
      this.cluster = await ClusterResources.start({
        namespace: opts.namespace,
        configName: from.configName,
        kubeconfig: opts.kubeconfig,
        env: opts.env,
        log: opts.log,
        // daprd 1.18 reloads by default; a Configuration can turn it off with feature HotReload: false.
        onChange: () => {
          if (this.configuration.features.get("HotReload") !== false) reload.trigger();
        },
      });
    } catch (err) {
      throw new StartupError((err as Error).message);
    }
    this.clusterReload = reload;
  }

  private async readConfiguration(): Promise<RuntimeConfiguration> {
    if (this.cluster) return parseConfiguration(this.cluster.configurations(), this.opts.env);
    return loadConfiguration(this.opts.configFiles, this.opts.env);
  }

  private async readResources(): Promise<LoadedResources> {
    const where = { appId: this.opts.appId, namespace: this.opts.namespace };
    if (this.cluster) return parseResources(this.cluster.resources(), where);
    return loadResources(this.opts.resourcesPaths, where);
  }

  /** Start-up warnings: logged, or with --strict a start-up error listing them all. */
  private warnAll(warnings: readonly string[]): void {
    if (warnings.length === 0) return;
    if (this.opts.strict) throw new StartupError(`--strict: resource warnings are errors: ${warnings.join("; ")}`);
    for (const w of warnings) this.opts.log.warn(w);
  }

  private rebuildPolicies(): void {
    const next = buildPolicies(this.others, this.opts.appId, [...this.stores.keys()], this.opts.metrics);
    this.policies.clear();
    for (const [k, v] of next) this.policies.set(k, v);
  }

  /**
   * Starts `components` in dependency order. At start-up (`reload` undefined) a failure stops the sidecar
   * unless ignoreErrors is set. In a reload a failure is logged and whatever served that name keeps
   * serving; `reload.onlyIfRestarted` names components restarted only because a store they read
   * secretKeyRefs from changed, skipped when that store's new instance did not start.
   */
  private async initStores(
    components: ComponentManifest[],
    reload: { onlyIfRestarted: Map<string, string>; restarted: Set<string> } | undefined,
  ): Promise<void> {
    const { opts } = this;
    const defaultStore = opts.kubernetesMode ? KUBERNETES_BUILTIN : "";
    const { ordered, problems } = orderByReferences(components, defaultStore, new Set(this.stores.keys()));
    for (const c of ordered) {
      const fail = (reason: string, kind: "creation" | "init" = "init") => {
        opts.metrics?.componentFailed(c.type, kind, c.name);
        const msg = `process component ${c.name} error: [INIT_COMPONENT_FAILURE]: initialization error occurred for ${c.name} (${c.type}/${c.version || "v1"}): ${reason}`;
        if (reload) {
          const outcome = this.stores.has(c.name)
            ? "the previous instance keeps serving"
            : "the component stays unloaded until its file is fixed";
          opts.log.error({ component: c.name }, `${msg} (${c.file}:${c.line}); ${outcome}`);
          return;
        }
        if (!c.ignoreErrors) throw new StartupError(`${msg} (${c.file}:${c.line})`);
        opts.log.warn({ component: c.name }, `${msg}; ignoreErrors is set, so the sidecar goes on without it`);
      };
      const dependency = reload?.onlyIfRestarted.get(c.name);
      if (dependency !== undefined && !reload!.restarted.has(dependency)) continue;
      const problem = problems.get(c.name);
      if (problem !== undefined) {
        fail(problem);
        continue;
      }
      try {
        const loaded = await this.initStore(c, defaultStore);
        if (!loaded) {
          fail(`couldn't find secret store ${c.type}/${c.version || "v1"}`, "creation");
          continue;
        }
        if (this.closed) {
          await loaded.store.close().catch(() => undefined);
          return;
        }
        // Make-before-break: the new instance is in place before the old one stops.
        const old = this.stores.get(c.name);
        this.stores.set(c.name, loaded);
        this.manifests.set(c.name, c);
        opts.metrics?.componentInitialized(c.type);
        reload?.restarted.add(c.name);
        if (old) {
          opts.log.info({ component: c.name }, "component changed: the new instance serves now");
          this.notifications.componentChanged(c.name, loaded);
          void this.retire(old);
        }
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
    const findings = await checkComponent(c, def, resolved, this.opts.env, { storeChecks: false });
    if (findings.problems.length > 0) throw new Error(findings.problems.join("; "));
    // With --strict an unknown name fails the component like any other problem (on hot reload too).
    if (this.opts.strict && findings.warnings.length > 0) throw new Error(`--strict: ${findings.warnings.join("; ")}`);
    for (const w of findings.warnings) log.warn(w);
    // The cache's fields are the runtime's, never store configuration.
    const { options: cacheOptions, storeMetadata: metadata, pollIntervalMs } = splitCacheMetadata(resolved);
    const store = new TrackedStore(def.create());
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
      const metrics = this.opts.metrics;
      if (metrics) ctx.cacheRead = (hit) => metrics.cacheRead(c.name, hit);
      await Promise.race([store.init(metadata, ctx), timeout]);
    } catch (err) {
      await store.close().catch(() => undefined);
      throw err;
    } finally {
      clearTimeout(timer);
    }
    log.info({ component_type: c.type, version: c.version || "v1" }, "component loaded");
    const cache = cacheOptions
      ? new SecretCache<SecretAnswer | BulkAnswer>(cacheOptions, this.cacheCounters(c.name))
      : undefined;
    // A store that pushes changes (a watched file, the Kubernetes watch) drops the cached answers they make
    // stale, subscribed or not; the listener goes with the instance when it is closed.
    if (cache) store.watchChanges?.((name) => cache.invalidate(name));
    return {
      name: c.name,
      type: c.type.toLowerCase(),
      version: c.version || "v1",
      store,
      features: store.features(),
      pollIntervalMs,
      ...(cache ? { cache } : {}),
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

  /** Closes a replaced or removed instance once the calls it was serving are answered. */
  private async retire(old: LoadedStore): Promise<void> {
    this.retiring.add(old);
    if (old.store instanceof TrackedStore) await old.store.drained(DRAIN_MS);
    this.retiring.delete(old);
    await old.store
      .close()
      .catch((err: unknown) => this.opts.log.warn({ component: old.name }, `close failed: ${(err as Error).message}`));
  }

  /**
   * Hot reload (docs/compatibility.md §8.1), make-before-break: the Configuration files are read again and replace the
   * configuration whole; the resources folders are read again and applied by component name. A changed
   * or new component starts as a new instance while the old one (if any) keeps serving, and replaces it
   * only once its init succeeded. Only a component gone from a file that was read in full is removed.
   */
  async reload(): Promise<void> {
    if (this.closed) return;
    await this.cluster?.refresh();
    await this.reloadConfiguration();
    if (this.closed) return;
    await this.reloadComponents();
  }

  private async reloadConfiguration(): Promise<void> {
    if (this.opts.configFiles.length === 0 && this.opts.fromCluster?.configName === undefined) return;
    let next: RuntimeConfiguration;
    try {
      next = await this.readConfiguration();
    } catch (err) {
      this.opts.log.error(`hot reload: configuration: ${(err as Error).message}; the previous configuration stays`);
      return;
    }
    if (configurationKey(next) === configurationKey(this.configuration)) return;
    this.configuration = next;
    this.opts.log.info("configuration changed: secret scopes and API lists replaced");
  }

  private async reloadComponents(): Promise<void> {
    const { opts } = this;
    let resources;
    try {
      resources = await this.readResources();
    } catch (err) {
      opts.log.error(`hot reload: ${(err as Error).message}; the loaded components stay as they are`);
      return;
    }
    for (const w of resources.warnings) opts.log.warn(w);
    const next = new Map(resources.secretStores.map((c) => [c.name, c]));
    for (const [name, current] of this.manifests) {
      if (next.has(name)) continue;
      if ((current.line === 0 && name === KUBERNETES_BUILTIN) || resources.brokenFiles.has(current.file)) {
        // The built-in store is never unloaded; a file that did not read or parse in full removes nothing.
        next.set(name, current);
        continue;
      }
      const loaded = this.stores.get(name);
      this.stores.delete(name);
      this.manifests.delete(name);
      opts.log.info({ component: name }, "component removed");
      this.notifications.componentChanged(name, undefined);
      if (loaded) void this.retire(loaded);
    }
    const start = [...next.values()].filter((c) => {
      const current = this.manifests.get(c.name);
      return !current || specOf(current) !== specOf(c);
    });
    const onlyIfRestarted = this.dependentsOf(start);
    for (const name of onlyIfRestarted.keys()) start.push(this.manifests.get(name)!);
    await this.initStores(start, { onlyIfRestarted, restarted: new Set() });
    await this.watchReferences();
    this.others = resources.others;
    try {
      this.rebuildPolicies();
    } catch (err) {
      opts.log.error(`hot reload: resiliency: ${(err as Error).message}; previous policies kept`);
    }
  }

  /**
   * Unchanged components whose secretKeyRefs come from a store about to restart (directly or through
   * another such component), each with the store it waits on: their values may change with it.
   */
  private dependentsOf(starting: readonly ComponentManifest[]): Map<string, string> {
    const defaultStore = this.opts.kubernetesMode ? KUBERNETES_BUILTIN : "";
    const restarting = new Set(starting.map((c) => c.name));
    const out = new Map<string, string>();
    for (let grew = true; grew;) {
      grew = false;
      for (const [name, m] of this.manifests) {
        const dep = referencedStore(m, defaultStore);
        if (dep === undefined || restarting.has(name) || !restarting.has(dep)) continue;
        restarting.add(name);
        out.set(name, dep);
        grew = true;
      }
    }
    return out;
  }

  /**
   * Rotation: subscribes to every secret a loaded component's metadata reads through secretKeyRef, so a
   * change re-initialises that component (make-before-break); drops the subscriptions no longer needed.
   */
  private async watchReferences(): Promise<void> {
    const defaultStore = this.opts.kubernetesMode ? KUBERNETES_BUILTIN : "";
    const wanted = referenceWatches(this.manifests.values(), defaultStore);
    for (const [key, stop] of this.referenceWatches)
      if (!wanted.has(key)) {
        stop();
        this.referenceWatches.delete(key);
      }
    for (const [key, w] of wanted) {
      if (this.referenceWatches.has(key)) continue;
      const entry = this.stores.get(w.store);
      if (!entry) continue;
      let first = true;
      const subscriber = {
        push: () => {
          if (first) first = false;
          else this.rotate(w.component, w.store);
        },
        close: () => this.referenceWatches.delete(key),
      };
      try {
        const stop = await this.notifications.subscribe(
          { entry, name: w.secret, metadata: w.metadata, internal: true },
          subscriber,
        );
        this.referenceWatches.set(key, stop);
      } catch (err) {
        this.opts.log.debug(
          { component: w.component, store: w.store },
          `secretKeyRef changes are not followed: ${(err as Error).message}`,
        );
      }
    }
  }

  /** A secret the component references changed: re-initialise it (and its own dependents), keeping the old one on failure. */
  private rotate(component: string, store: string): void {
    this.rotating = this.rotating.then(async () => {
      const manifest = this.manifests.get(component);
      if (this.closed || !manifest) return;
      this.opts.log.info(
        { component, store },
        "a secret this component's metadata references changed: re-initialising it",
      );
      const onlyIfRestarted = this.dependentsOf([manifest]);
      const start = [manifest, ...[...onlyIfRestarted.keys()].map((n) => this.manifests.get(n)!)];
      try {
        await this.initStores(start, { onlyIfRestarted, restarted: new Set() });
        await this.watchReferences();
      } catch (err) {
        this.opts.log.error({ component }, `rotation failed: ${(err as Error).message}; the previous instance stays`);
      }
    });
  }

  /** Closes every store; errors are logged, never thrown, so shutdown always completes. */
  async close(): Promise<void> {
    this.closed = true;
    this.clusterReload?.close();
    this.cluster?.close();
    this.notifications.close();
    for (const stop of this.referenceWatches.values()) stop();
    this.referenceWatches.clear();
    const all = [...this.stores.values(), ...this.retiring];
    this.stores.clear();
    this.retiring.clear();
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

/** Equal for two configurations that behave the same (sets spelled as sorted lists). */
function configurationKey(c: RuntimeConfiguration): string {
  return JSON.stringify(
    {
      scopes: [...c.scopes.values()],
      apiAllowed: c.apiAllowed,
      apiDenied: c.apiDenied,
      features: [...c.features],
    },
    (_k, v: unknown) => (v instanceof Set ? [...(v as Set<string>)].sort() : v),
  );
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
