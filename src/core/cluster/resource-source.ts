/**
 * @module One `dapr.io/v1alpha1` resource kind of a namespace (components, configurations, resiliencies) as
 * a list+watch source for the watch cache: each object is kept as its JSON text, which the resource loader
 * reads by the same rules as a file.
 */
import type { CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { safeMessage, statusOf } from "../../stores/kubernetes/errors.js";
import type {
  RunningWatch,
  SecretEvent,
  SecretList,
  SecretSource,
  WatchHandlers,
} from "../../stores/kubernetes/client.js";
import { untilAborted } from "../../stores/shared/sleep.js";
import { SecretStoreError, type SecretData } from "../../stores/types.js";

type K8s = typeof import("@kubernetes/client-node");

export const DAPR_GROUP = "dapr.io";
export const DAPR_VERSION = "v1alpha1";

/** The watch cache keeps string maps: an object is one entry under this key. */
export const OBJECT_KEY = "object";

const KINDS: Record<string, string> = {
  components: "Component",
  configurations: "Configuration",
  resiliencies: "Resiliency",
};

export class DaprResourceSource implements SecretSource {
  private readonly api: CustomObjectsApi;
  private readonly watcher: InstanceType<K8s["Watch"]>;
  private readonly server: string;

  constructor(
    k8s: K8s,
    kc: KubeConfig,
    readonly plural: string,
    private readonly requestTimeoutMs: number,
  ) {
    this.api = kc.makeApiClient(k8s.CustomObjectsApi);
    this.watcher = new k8s.Watch(kc);
    this.server = kc.getCurrentCluster()?.server ?? "(unknown server)";
  }

  async list(namespace: string, signal: AbortSignal): Promise<SecretList> {
    const timeout = AbortSignal.timeout(this.requestTimeoutMs);
    try {
      const list = (await untilAborted(
        this.api.listNamespacedCustomObject({
          group: DAPR_GROUP,
          version: DAPR_VERSION,
          namespace,
          plural: this.plural,
        }),
        AbortSignal.any([signal, timeout]),
        () => new Error(`timed out after ${this.requestTimeoutMs} ms`),
      )) as { items?: unknown[]; metadata?: { resourceVersion?: string } };
      const secrets = new Map<string, SecretData>();
      for (const item of list.items ?? []) {
        const entry = this.entry(item);
        if (entry) secrets.set(entry[0], entry[1]);
      }
      return { secrets, resourceVersion: list.metadata?.resourceVersion ?? "" };
    } catch (err) {
      throw this.describe(err, "list", namespace);
    }
  }

  async watch(
    namespace: string,
    resourceVersion: string,
    timeoutSeconds: number,
    handlers: WatchHandlers,
  ): Promise<RunningWatch> {
    let finished = false;
    const path = `/apis/${DAPR_GROUP}/${DAPR_VERSION}/namespaces/${encodeURIComponent(namespace)}/${this.plural}`;
    let controller: AbortController;
    try {
      controller = await this.watcher.watch(
        path,
        { resourceVersion, allowWatchBookmarks: true, timeoutSeconds },
        (phase: string, obj: unknown) => {
          if (finished) return;
          const e = this.event(phase, obj);
          if (e) handlers.event(e);
        },
        (err: unknown) => {
          if (finished) return;
          finished = true;
          handlers.done(err ? this.describe(err, "watch", namespace) : undefined);
        },
      );
    } catch (err) {
      throw this.describe(err, "watch", namespace);
    }
    return {
      stop: () => {
        finished = true;
        controller.abort();
      },
    };
  }

  /** The object's name and its JSON text (kind and apiVersion filled in, as list items may omit them). */
  private entry(obj: unknown): [string, SecretData] | undefined {
    const o = obj as { metadata?: { name?: unknown } } | null;
    const name = o?.metadata?.name;
    if (typeof name !== "string" || name === "") return undefined;
    const full = { apiVersion: `${DAPR_GROUP}/${DAPR_VERSION}`, kind: KINDS[this.plural], ...(o as object) };
    return [name, { [OBJECT_KEY]: JSON.stringify(full) }];
  }

  private event(phase: string, obj: unknown): SecretEvent | undefined {
    const rv = String((obj as { metadata?: { resourceVersion?: unknown } } | null)?.metadata?.resourceVersion ?? "");
    if (phase === "BOOKMARK") return { type: "BOOKMARK", resourceVersion: rv };
    if (phase === "ERROR") {
      const o = (obj ?? {}) as { code?: unknown; reason?: unknown; message?: unknown };
      return {
        type: "ERROR",
        status: {
          code: typeof o.code === "number" ? o.code : 500,
          reason: typeof o.reason === "string" ? o.reason : "",
          message: typeof o.message === "string" ? o.message : "",
        },
      };
    }
    const entry = this.entry(obj);
    if (!entry) return undefined;
    if (phase === "DELETED") return { type: "DELETED", name: entry[0], resourceVersion: rv };
    if (phase === "ADDED" || phase === "MODIFIED")
      return { type: phase, name: entry[0], data: entry[1], resourceVersion: rv };
    return undefined;
  }

  /** A message naming verb, resource and namespace; 410 keeps its Status so the cache relists. */
  private describe(err: unknown, verb: "list" | "watch", namespace: string): unknown {
    const st = statusOf(err);
    const what = `${verb} ${this.plural}.${DAPR_GROUP} in namespace ${namespace}`;
    if (st?.code === 410) return err;
    if (st?.code === 403)
      return new SecretStoreError(
        "permission_denied",
        `cannot ${what}: forbidden${st.message ? ` (${st.message})` : ""}; grant verb "${verb}" on ${this.plural} in apiGroup ${DAPR_GROUP} to this service account in namespace ${namespace} (deploy/app-namespace)`,
      );
    if (st?.code === 401)
      return new SecretStoreError(
        "bad_credentials",
        `cannot ${what}: the API server at ${this.server} rejected the credentials`,
      );
    if (st?.code === 404)
      return new SecretStoreError(
        "not_found",
        `cannot ${what}: not found; is the ${this.plural}.${DAPR_GROUP} CRD installed (kubectl apply -k deploy/crds)?`,
      );
    if (st)
      return new SecretStoreError(
        "unavailable",
        `cannot ${what}: ${st.code} ${st.reason}${st.message ? `: ${st.message}` : ""}`,
      );
    return new SecretStoreError("unavailable", `cannot ${what} at ${this.server}: ${safeMessage(err)}`);
  }
}
