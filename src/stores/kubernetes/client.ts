/**
 * @module The three Secrets calls the store makes (get, list in chunks, watch) through
 * `@kubernetes/client-node`, with per-request cancellation, base64 decoding and error mapping.
 */
import { createHash } from "node:crypto";
import { Agent as HttpsAgent, type AgentOptions } from "node:https";
import type { ConfigurationOptions, CoreV1Api, KubeConfig, V1Secret } from "@kubernetes/client-node";
import type { SecretData } from "../types.js";
import { statusOf, toStoreError, type ApiStatus, type Operation } from "./errors.js";

type K8s = typeof import("@kubernetes/client-node");

/** Events a watch delivers, already decoded. */
export type SecretEvent =
  | { type: "ADDED" | "MODIFIED"; name: string; data: SecretData; resourceVersion: string }
  | { type: "DELETED"; name: string; resourceVersion: string }
  | { type: "BOOKMARK"; resourceVersion: string }
  | { type: "ERROR"; status: ApiStatus };

export interface SecretList {
  secrets: Map<string, SecretData>;
  resourceVersion: string;
}

export interface WatchHandlers {
  event(e: SecretEvent): void;
  /** Called once when the stream ends: `err` undefined for a clean close by the server. */
  done(err: unknown): void;
}

export interface RunningWatch {
  stop(): void;
}

/** What the watch-backed cache needs from the API (an interface so the cache can be tested on its own). */
export interface SecretSource {
  list(namespace: string, signal: AbortSignal): Promise<SecretList>;
  watch(
    namespace: string,
    resourceVersion: string,
    timeoutSeconds: number,
    handlers: WatchHandlers,
  ): Promise<RunningWatch>;
}

const LIST_CHUNK = 500;

/** Decodes a Secret's `data` (base64) to strings, as daprd's `string(v)` does. */
export function decodeData(data: Record<string, string> | undefined | null): SecretData {
  const out: SecretData = {};
  for (const [k, v] of Object.entries(data ?? {})) out[k] = Buffer.from(v ?? "", "base64").toString("utf8");
  return out;
}

export class SecretsClient implements SecretSource {
  private readonly api: CoreV1Api;
  private readonly watcher: InstanceType<K8s["Watch"]>;
  private readonly agents = new KeepAliveAgents();
  readonly server: string;

  constructor(
    k8s: K8s,
    kc: KubeConfig,
    private readonly requestTimeoutMs: number,
  ) {
    this.api = kc.makeApiClient(k8s.CoreV1Api);
    this.watcher = new k8s.Watch(kc);
    this.server = kc.getCurrentCluster()?.server ?? "(unknown server)";
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.agents.destroy();
  }

  async get(namespace: string, name: string, signal?: AbortSignal): Promise<SecretData> {
    const op: Operation = { verb: "get", namespace, name, server: this.server };
    try {
      const secret: V1Secret = await this.api.readNamespacedSecret({ name, namespace }, this.options(signal));
      return decodeData(secret.data);
    } catch (err) {
      throw toStoreError(err, op);
    }
  }

  /** Lists every Secret of a namespace in chunks; restarts once if the continue token expires mid-way. */
  async list(namespace: string, signal?: AbortSignal): Promise<SecretList> {
    const op: Operation = { verb: "list", namespace, server: this.server };
    for (let attempt = 0; ; attempt++) {
      const secrets = new Map<string, SecretData>();
      let cont: string | undefined;
      let resourceVersion = "";
      try {
        do {
          const page = await this.api.listNamespacedSecret(
            { namespace, limit: LIST_CHUNK, _continue: cont },
            this.options(signal),
          );
          for (const s of page.items ?? []) if (s.metadata?.name) secrets.set(s.metadata.name, decodeData(s.data));
          resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
          cont = page.metadata?._continue || undefined;
        } while (cont);
        return { secrets, resourceVersion };
      } catch (err) {
        if (attempt === 0 && cont !== undefined && statusOf(err)?.code === 410) continue;
        throw toStoreError(err, op);
      }
    }
  }

  async watch(
    namespace: string,
    resourceVersion: string,
    timeoutSeconds: number,
    handlers: WatchHandlers,
  ): Promise<RunningWatch> {
    let stopped = false;
    let finished = false;
    const finish = (err: unknown): void => {
      if (finished || stopped) return;
      finished = true;
      handlers.done(err ?? undefined);
    };
    const controller = await this.watcher.watch(
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`,
      { resourceVersion, allowWatchBookmarks: true, timeoutSeconds },
      (phase: string, obj: unknown) => {
        if (stopped || finished) return;
        const e = toEvent(phase, obj);
        if (e) handlers.event(e);
      },
      finish,
    );
    return {
      stop: () => {
        stopped = true;
        controller.abort();
      },
    };
  }

  /** Cancels the request when the caller's signal fires or the request timeout passes. */
  private options(signal: AbortSignal | undefined): ConfigurationOptions {
    const timeout = AbortSignal.timeout(this.requestTimeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    // The object-parameter API runs observable middleware; the bundled Observable only needs `toPromise`.
    const options = {
      middleware: [
        {
          pre: (ctx: RequestLike) => ({
            toPromise: async () => {
              ctx.setSignal(combined);
              const fresh = ctx.getAgent();
              if (fresh) ctx.setAgent(this.agents.reuse(fresh));
              return ctx;
            },
          }),
          post: <T>(r: T) => ({ toPromise: async () => r }),
        },
      ],
      middlewareMergeStrategy: "append",
    };
    return options as unknown as ConfigurationOptions;
  }
}

interface RequestLike {
  setSignal(signal: AbortSignal): void;
  getAgent(): unknown;
  setAgent(agent: unknown): void;
}

const TLS_KEYS = ["ca", "cert", "key", "pfx", "passphrase", "rejectUnauthorized", "servername"] as const;

/**
 * The client builds a new https.Agent for every request, so each read would pay a TLS handshake. This keeps
 * one keep-alive agent per distinct TLS configuration (re-read per request, so rotated certificates still
 * take effect) and leaves proxy agents untouched.
 */
class KeepAliveAgents {
  private readonly byConfig = new Map<string, HttpsAgent>();

  reuse<T>(fresh: T): T | HttpsAgent {
    if (!(fresh instanceof HttpsAgent) || fresh.constructor !== HttpsAgent) return fresh;
    const options = (fresh as HttpsAgent & { options: AgentOptions }).options;
    const hash = createHash("sha256");
    for (const k of TLS_KEYS)
      hash
        .update(`${k}=`)
        .update(String(options[k] ?? ""))
        .update("\0");
    const key = hash.digest("hex");
    let agent = this.byConfig.get(key);
    if (!agent) {
      const copy: AgentOptions = { keepAlive: true, maxSockets: 32 };
      for (const k of TLS_KEYS) if (options[k] !== undefined) (copy as Record<string, unknown>)[k] = options[k];
      agent = new HttpsAgent(copy);
      // Old configurations (before a rotation) are dropped with their idle sockets.
      for (const old of this.byConfig.values()) old.destroy();
      this.byConfig.clear();
      this.byConfig.set(key, agent);
    }
    return agent;
  }

  destroy(): void {
    for (const a of this.byConfig.values()) a.destroy();
    this.byConfig.clear();
  }
}

function toEvent(phase: string, obj: unknown): SecretEvent | undefined {
  const o = (obj ?? {}) as {
    metadata?: { name?: string; resourceVersion?: string };
    data?: Record<string, string>;
    code?: number;
    reason?: string;
    message?: string;
  };
  const rv = o.metadata?.resourceVersion ?? "";
  switch (phase) {
    case "ADDED":
    case "MODIFIED":
      return { type: phase, name: o.metadata?.name ?? "", data: decodeData(o.data), resourceVersion: rv };
    case "DELETED":
      return { type: "DELETED", name: o.metadata?.name ?? "", resourceVersion: rv };
    case "BOOKMARK":
      return { type: "BOOKMARK", resourceVersion: rv };
    case "ERROR":
      return {
        type: "ERROR",
        status: { code: typeof o.code === "number" ? o.code : 500, reason: o.reason ?? "", message: o.message ?? "" },
      };
    default:
      return undefined;
  }
}
