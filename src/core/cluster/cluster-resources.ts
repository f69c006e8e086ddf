/**
 * @module Kubernetes mode without `--resources-path`, as daprd there: the pod namespace's `dapr.io`
 * Components and Resiliencies and the Configuration named by `--config`, listed and watched from the API
 * server (one list+watch per kind, relisting on 410 and reconnecting with backoff). Every change calls
 * `onChange`; the runtime then reloads from `resources()` and `configurations()` as it does from files.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../../log.js";
import { storeLogger } from "../../log.js";
import type { ResourceText } from "../../resources/load.js";
import { loadKubeconfig } from "../../stores/kubernetes/kubeconfig.js";
import { SecretWatchCache } from "../../stores/kubernetes/watch-cache.js";
import type { SecretData } from "../../stores/types.js";
import { serviceAccountDir } from "../kubernetes-mode.js";
import { DAPR_GROUP, DaprResourceSource, OBJECT_KEY } from "./resource-source.js";

export interface ClusterResourcesOptions {
  /** env NAMESPACE; "" reads the service account's namespace file. */
  namespace: string;
  /** `--config NAME`: the Configuration resource to follow. */
  configName: string | undefined;
  kubeconfig: string | undefined;
  env: NodeJS.ProcessEnv;
  log: Logger;
  onChange: () => void;
}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const REQUEST_TIMEOUT_MS = 30_000;

export class ClusterResources {
  private readonly caches = new Map<string, SecretWatchCache>();
  /** What each kind held when last synced: served while a relist is under way or refused. */
  private readonly last = new Map<string, ReadonlyMap<string, SecretData>>();
  private started = false;

  private constructor(
    private readonly opts: ClusterResourcesOptions,
    readonly namespace: string,
  ) {}

  /** Lists every kind once; rejects with a message naming verb, resource and namespace when one fails. */
  static async start(opts: ClusterResourcesOptions): Promise<ClusterResources> {
    const namespace = opts.namespace || podNamespace(opts.env);
    if (!NAME.test(namespace) || namespace.length > 63)
      throw new Error(
        namespace
          ? `invalid namespace ${JSON.stringify(namespace)} (env NAMESPACE)`
          : "Kubernetes mode without --resources-path reads resources from the pod's namespace: set env NAMESPACE (from the downward API, metadata.namespace)",
      );
    if (opts.configName !== undefined && (!NAME.test(opts.configName) || opts.configName.length > 253))
      throw new Error(
        `invalid --config ${JSON.stringify(opts.configName)}: in Kubernetes mode without --resources-path it names a Configuration resource`,
      );
    const self = new ClusterResources(opts, namespace);
    const k8s = await import("@kubernetes/client-node");
    const choice = loadKubeconfig(k8s, { kubeconfigFlag: opts.kubeconfig, env: opts.env });
    const log = storeLogger(opts.log.child({ source: "kubernetes" }));
    const plurals = ["components", "resiliencies", ...(opts.configName !== undefined ? ["configurations"] : [])];
    for (const plural of plurals) {
      const source = new DaprResourceSource(k8s, choice.config, plural, REQUEST_TIMEOUT_MS);
      const cache = new SecretWatchCache(source, log, {
        noun: `${plural}.${DAPR_GROUP}`,
        retryRefused: true,
        onChange: () => {
          if (self.started) opts.onChange();
        },
      });
      self.caches.set(plural, cache);
      cache.start(namespace);
    }
    opts.log.info(
      { config: choice.source, namespace, resources: plurals.map((p) => `${p}.${DAPR_GROUP}`).join(",") },
      "loading resources from the Kubernetes API server",
    );
    try {
      for (const [plural, cache] of self.caches) {
        const items = await cache.snapshot(namespace);
        if (!items)
          throw new Error(cache.failure(namespace) ?? `cannot list ${plural}.${DAPR_GROUP} in namespace ${namespace}`);
        self.last.set(plural, new Map(items));
      }
      if (opts.configName !== undefined) self.configurations();
    } catch (err) {
      self.close();
      throw err;
    }
    self.started = true;
    return self;
  }

  /** Components, then Resiliencies, each by name: the texts the resource loader reads. */
  resources(): ResourceText[] {
    return [...this.texts("components"), ...this.texts("resiliencies")];
  }

  /** The named Configuration; throws when it does not exist, so a reload keeps the previous one. */
  configurations(): ResourceText[] {
    const name = this.opts.configName;
    if (name === undefined) return [];
    const item = this.last.get("configurations")?.get(name);
    if (!item)
      throw new Error(`Configuration ${JSON.stringify(name)} (--config) not found in namespace ${this.namespace}`);
    return [{ file: `configurations.${DAPR_GROUP}/${name}`, text: item[OBJECT_KEY] ?? "" }];
  }

  /** Refreshes the copies from the caches; call before reading a reload's texts. */
  async refresh(): Promise<void> {
    for (const [plural, cache] of this.caches) {
      const items = await cache.snapshot(this.namespace);
      if (items) this.last.set(plural, new Map(items));
    }
  }

  close(): void {
    for (const c of this.caches.values()) c.close();
    this.caches.clear();
  }

  private texts(plural: string): ResourceText[] {
    const items = this.last.get(plural) ?? new Map<string, SecretData>();
    return [...items.keys()]
      .sort()
      .map((name) => ({ file: `${plural}.${DAPR_GROUP}/${name}`, text: items.get(name)?.[OBJECT_KEY] ?? "" }));
  }
}

function podNamespace(env: NodeJS.ProcessEnv): string {
  try {
    return readFileSync(join(serviceAccountDir(env), "namespace"), "utf8").trim();
  } catch {
    return "";
  }
}
