/**
 * @module Composition root: resources → references → store init (dependencies first) → the secrets
 * service. Servers start only after this, so no request ever sees a half-loaded runtime (contract 4.3).
 */
import type { Logger } from "../log.js";
import { storeLogger } from "../log.js";
import type { SidecarMetrics } from "../metrics.js";
import type { ComponentManifest } from "../resources/component.js";
import {
  EMPTY_CONFIGURATION,
  loadConfiguration,
  unmatchedScopeWarnings,
  type RuntimeConfiguration,
} from "../resources/configuration.js";
import { loadResources, type RawResource } from "../resources/load.js";
import { findStoreDefinition } from "../stores/registry.js";
import { checkComponent } from "./component-check.js";
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
  log: Logger;
  metrics?: SidecarMetrics;
  /** `--strict`: every resource warning (skipped document, YAML error, unknown metadata name, secret scope
   * for no store) stops start-up instead. */
  strict?: boolean;
}

/** Start-up failed; the message says what to fix. */
export class StartupError extends Error {}

/** The built-in store daprd adds in Kubernetes mode (contract 10.2). */
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

  constructor(readonly opts: RuntimeOptions) {}

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
    this.warnAll(resources.warnings);

    const components = [...resources.secretStores];
    if (opts.kubernetesMode && !components.some((c) => c.name === KUBERNETES_BUILTIN))
      components.unshift(kubernetesBuiltin());
    try {
      await this.initStores(components, false);
      this.warnAll(unmatchedScopeWarnings(this.configuration.scopes, [...this.stores.keys()]));
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

  /** Start-up warnings: logged, or with --strict a start-up error listing them all. */
  private warnAll(warnings: readonly string[]): void {
    if (warnings.length === 0) return;
    if (this.opts.strict) throw new StartupError(`--strict: resource warnings are errors: ${warnings.join("; ")}`);
    for (const w of warnings) this.opts.log.warn(w);
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
    const metadata = await resolveMetadata(c, {
      appId: this.opts.appId,
      namespace: this.opts.namespace,
      env: this.opts.env,
      defaultStore,
      store: (name) => this.stores.get(name)?.store,
      warn: (m) => log.warn(m),
    });
    const findings = await checkComponent(c, def, metadata, this.opts.env, { storeChecks: false });
    if (findings.problems.length > 0) throw new Error(findings.problems.join("; "));
    // With --strict an unknown name fails the component like any other problem (on hot reload too).
    if (this.opts.strict && findings.warnings.length > 0) throw new Error(`--strict: ${findings.warnings.join("; ")}`);
    for (const w of findings.warnings) log.warn(w);
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
      await Promise.race([store.init(metadata, { name: c.name, signal, log: storeLogger(log) }), timeout]);
    } catch (err) {
      await store.close().catch(() => undefined);
      throw err;
    } finally {
      clearTimeout(timer);
    }
    log.info({ component_type: c.type, version: c.version || "v1" }, "component loaded");
    return { name: c.name, type: c.type.toLowerCase(), version: c.version || "v1", store, features: store.features() };
  }

  /**
   * Hot reload (contract 10.4): re-reads the resources folders and applies the difference by component
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
