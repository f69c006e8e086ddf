/**
 * @module `secretstores.kubernetes`: Secrets from the Kubernetes API, as daprd's (docs/compatibility.md §9.3), with
 * an optional watch-backed in-memory copy (`watch: "true"`) so reads stop hitting the API server.
 */
import { readDeclared } from "../declared-metadata.js";
import { invalidName } from "../names.js";
import {
  SecretStoreError,
  type BulkGetSecretRequest,
  type BulkSecretData,
  type ComponentMetadata,
  type GetSecretRequest,
  type MetadataField,
  type SecretData,
  type SecretStore,
  type SecretStoreDefinition,
  type SecretStoreFeature,
  type StoreContext,
} from "../types.js";
import { SecretsClient } from "./client.js";
import { loadKubeconfig } from "./kubeconfig.js";
import { digestVersion } from "../shared/digest.js";
import { SecretWatchCache, type WatchCacheOptions } from "./watch-cache.js";

/** daprd's exact text when no namespace can be found. */
export const NAMESPACE_MISSING =
  "namespace is missing on metadata and NAMESPACE env variable, and no default namespace is set";

const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A Secret's name is a DNS subdomain name: the API server stores no other, so no other spelling can select one. */
const SECRET_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export interface KubernetesStoreOptions {
  /** Tuning for the watch cache (tests use short backoffs). */
  watchCache?: WatchCacheOptions;
}

export class KubernetesSecretStore implements SecretStore {
  private client: SecretsClient | undefined;
  private cache: SecretWatchCache | undefined;
  private cacheRead: StoreContext["cacheRead"];
  private defaultNamespace = "";
  /** The app's namespace (env NAMESPACE), from the context. */
  private appNamespace = "";

  constructor(private readonly options: KubernetesStoreOptions = {}) {}

  async init(metadata: ComponentMetadata, ctx: StoreContext): Promise<void> {
    this.appNamespace = ctx.namespace;
    const md = readDeclared(metadata, METADATA);
    this.defaultNamespace = md.text("defaultNamespace")?.trim() ?? "";
    if (this.defaultNamespace) checkNamespace(this.defaultNamespace, "defaultNamespace");
    const watch = md.bool("watch");
    const requestTimeoutMs = md.duration("requestTimeout");

    const k8s = await import("@kubernetes/client-node");
    const choice = loadKubeconfig(k8s, {
      kubeconfigPath: md.text("kubeconfigPath")?.trim() || undefined,
      kubeconfigFlag: ctx.kubeconfig,
      env: ctx.env,
    });
    const client = new SecretsClient(k8s, choice.config, requestTimeoutMs);
    this.client = client;
    ctx.log.info("kubernetes secret store configured", { config: choice.source, server: client.server, watch });
    if (watch) {
      this.cache = new SecretWatchCache(client, ctx.log, this.options.watchCache);
      this.cacheRead = ctx.cacheRead;
      // Start the namespace most reads will use now; reads that come before its first list wait for it.
      const ns = this.appNamespace || this.defaultNamespace;
      if (ns && NAMESPACE_NAME.test(ns)) this.cache.start(ns);
    }
  }

  /**
   * Anything but a valid name is refused before it reaches the client, which would put it into the URL
   * path: `..` or `a/b` there is another resource, not a missing Secret.
   */
  secretName(name: string): string {
    if (name === "") throw new SecretStoreError("invalid_request", "secret name is empty");
    if (name.length > 253 || !SECRET_NAME.test(name))
      throw invalidName(
        name,
        "a Kubernetes Secret name is lower-case letters, digits, '-' and '.' (a DNS subdomain name, at most 253 characters)",
      );
    return name;
  }

  async getSecret(req: GetSecretRequest, signal?: AbortSignal): Promise<SecretData> {
    const client = this.ready();
    const namespace = this.namespaceFor(req.metadata);
    this.secretName(req.name);
    if (this.cache) {
      const secrets = await this.cache.snapshot(namespace, signal);
      this.cacheRead?.(secrets !== undefined);
      if (secrets) {
        const data = secrets.get(req.name);
        if (!data) {
          throw new SecretStoreError(
            "not_found",
            `secret "${req.name}" not found in namespace "${namespace}" (watch cache of the Kubernetes API server: NotFound: secrets "${req.name}" not found)`,
          );
        }
        return { ...data };
      }
    }
    return client.get(namespace, req.name, signal);
  }

  /** Change notifications pushed by the watch cache (`watch: "true"`); without it, Secrets are polled. */
  watchChanges(onChange: (name?: string) => void): (() => void) | undefined {
    return this.cache?.listen(onChange);
  }

  /** Without the watch cache: a digest of the Secret's data (one GET, as a read). */
  async versionOf(req: GetSecretRequest, signal?: AbortSignal): Promise<string> {
    return digestVersion(await this.getSecret(req, signal));
  }

  async bulkGetSecret(req: BulkGetSecretRequest, signal?: AbortSignal): Promise<BulkSecretData> {
    const client = this.ready();
    const namespace = this.namespaceFor(req.metadata);
    let secrets: ReadonlyMap<string, SecretData> | undefined;
    if (this.cache) {
      secrets = await this.cache.snapshot(namespace, signal);
      this.cacheRead?.(secrets !== undefined);
    }
    secrets ??= (await client.list(namespace, signal)).secrets;
    const out: BulkSecretData = {};
    for (const [name, data] of secrets) out[name] = { ...data };
    return out;
  }

  /** Like daprd: no capability is advertised, although a Secret holds several keys. */
  features(): readonly SecretStoreFeature[] {
    return [];
  }

  async close(): Promise<void> {
    this.cache?.close();
    this.cache = undefined;
    this.client?.close();
    this.client = undefined;
  }

  /** The watch cache's state per namespace, or undefined without `watch` (diagnostics and tests). */
  watchStatus(): ReturnType<SecretWatchCache["status"]> | undefined {
    return this.cache?.status();
  }

  private ready(): SecretsClient {
    if (!this.client)
      throw new SecretStoreError("unavailable", "kubernetes secret store is not initialized (or was closed)");
    return this.client;
  }

  /** Request metadata `namespace`, then env NAMESPACE, then `defaultNamespace` (daprd's order). */
  private namespaceFor(metadata: Readonly<Record<string, string>>): string {
    const fromRequest = metadata.namespace;
    const ns = fromRequest || this.appNamespace || this.defaultNamespace;
    if (!ns) throw new SecretStoreError("invalid_request", NAMESPACE_MISSING);
    checkNamespace(
      ns,
      fromRequest ? "request metadata namespace" : this.appNamespace ? "env NAMESPACE" : "defaultNamespace",
    );
    return ns;
  }
}

function checkNamespace(ns: string, source: string): void {
  if (ns.length > 63 || !NAMESPACE_NAME.test(ns)) {
    const kind = source === "defaultNamespace" ? "invalid_config" : "invalid_request";
    throw new SecretStoreError(
      kind,
      `${source} ${JSON.stringify(ns)} is not a valid Kubernetes namespace name (lower-case letters, digits and '-', at most 63 characters)`,
    );
  }
}

const METADATA: readonly MetadataField[] = [
  {
    name: "defaultNamespace",
    type: "string",
    description: "Namespace used when the request names none and `NAMESPACE` is unset. Must be a valid namespace name.",
  },
  { name: "kubeconfigPath", type: "file", description: "Path to a kubeconfig file. See the order above." },
  {
    name: "watch",
    type: "bool",
    default: "false",
    description:
      "**Keyward extension.** `true` keeps an in-memory copy of each namespace's Secrets with one list+watch, so reads do not call the API server (below).",
  },
  {
    name: "requestTimeout",
    type: "duration",
    default: "30s",
    description:
      "**Keyward extension.** Upper bound of one API call (get, one list chunk), as a Go duration (`500ms`, `10s`) or a number of seconds. The caller's own deadline (resiliency timeout, client cancel) applies too, whichever is first.",
  },
];

export const definition: SecretStoreDefinition = {
  type: "kubernetes",
  version: "v1",
  metadata: METADATA,
  async validate(metadata) {
    const ns = readDeclared(metadata, METADATA).text("defaultNamespace")?.trim() ?? "";
    try {
      if (ns) checkNamespace(ns, "defaultNamespace");
      return [];
    } catch (err) {
      return [{ field: "defaultNamespace", message: (err as Error).message }];
    }
  },
  create: () => new KubernetesSecretStore(),
};
