/**
 * @module Composition root: resources → references → store init (dependencies first) → the secrets
 * service. Servers start only after this, so no request ever sees a half-loaded runtime (contract 4.3).
 */
import type { Logger } from "../log.js";
import { storeLogger } from "../log.js";
import type { SidecarMetrics } from "../metrics.js";
import type { ComponentManifest } from "../resources/component.js";
import { EMPTY_CONFIGURATION, loadConfiguration, type RuntimeConfiguration } from "../resources/configuration.js";
import { loadResources, type RawResource } from "../resources/load.js";
import { findStoreDefinition } from "../stores/registry.js";
import { orderByReferences, resolveMetadata } from "./references.js";
import { buildPolicies } from "./resiliency.js";
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
}

/** Start-up failed; the message says what to fix. */
export class StartupError extends Error {}

/** The built-in store daprd adds in Kubernetes mode (contract 10.2). */
const KUBERNETES_BUILTIN = "kubernetes";

export class Runtime {
  readonly stores = new Map<string, LoadedStore>();
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
    for (const w of resources.warnings) opts.log.warn(w);

    const components = [...resources.secretStores];
    if (opts.kubernetesMode && !components.some((c) => c.name === KUBERNETES_BUILTIN)) components.unshift(kubernetesBuiltin());
    try {
      await this.initStores(components);
      this.service = new SecretsService({
        stores: this.stores,
        scopes: this.configuration.scopes,
        policies: buildPolicies(resources.others as RawResource[], opts.appId, [...this.stores.keys()]),
        metrics: opts.metrics,
        log: opts.log,
      });
    } catch (err) {
      await this.close();
      throw err instanceof StartupError ? err : new StartupError((err as Error).message);
    }
  }

  private async initStores(components: ComponentManifest[]): Promise<void> {
    const { opts } = this;
    const defaultStore = opts.kubernetesMode ? KUBERNETES_BUILTIN : "";
    const { ordered, problems } = orderByReferences(components, defaultStore, new Set());
    for (const c of ordered) {
      const fail = (reason: string) => {
        const msg = `process component ${c.name} error: [INIT_COMPONENT_FAILURE]: initialization error occurred for ${c.name} (${c.type}/${c.version || "v1"}): ${reason}`;
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
        if (loaded) this.stores.set(c.name, loaded);
        else fail(`couldn't find secret store ${c.type}/${c.version || "v1"}`);
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
    const store = def.create();
    const signal = AbortSignal.timeout(c.initTimeoutMs);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_r, reject) => {
      timer = setTimeout(() => reject(new Error(`init timed out after ${c.initTimeoutMs} ms (spec.initTimeout)`)), c.initTimeoutMs);
    });
    try {
      await Promise.race([store.init(metadata, { name: c.name, signal, log: storeLogger(log) }), timeout]);
    } catch (err) {
      await store.close().catch(() => undefined);
      throw err;
    } finally {
      clearTimeout(timer);
    }
    log.info({ type: c.type, version: c.version || "v1" }, "component loaded");
    return { name: c.name, type: c.type.toLowerCase(), version: c.version || "v1", store, features: store.features() };
  }

  /** Closes every store; errors are logged, never thrown, so shutdown always completes. */
  async close(): Promise<void> {
    const all = [...this.stores.values()];
    this.stores.clear();
    await Promise.all(
      all.map((s) => s.store.close().catch((err: unknown) => this.opts.log.warn({ component: s.name }, `close failed: ${(err as Error).message}`))),
    );
  }
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
