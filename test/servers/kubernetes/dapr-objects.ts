/**
 * The test API server's `dapr.io/v1alpha1` custom resources (components, configurations, resiliencies),
 * stored beside the secrets on the same resourceVersion counter, with list, watch (from a resourceVersion,
 * with bookmarks and 410 Expired after a compaction), get, create, replace and delete, as kube-apiserver
 * serves CRDs.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ClusterState } from "./state.js";
import * as status from "./status.js";
import type { Status } from "./status.js";

export const DAPR_GROUP = "dapr.io";
export const DAPR_VERSION = "v1alpha1";
export const DAPR_PLURALS: Record<string, string> = {
  components: "Component",
  configurations: "Configuration",
  resiliencies: "Resiliency",
};

export interface DaprObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; uid: string; resourceVersion: string; [k: string]: unknown };
  [k: string]: unknown;
}

interface DaprEvent {
  type: "ADDED" | "MODIFIED" | "DELETED";
  plural: string;
  object: DaprObject;
  rv: number;
}

interface DaprWatcher {
  plural: string;
  namespace: string | undefined;
  send(e: DaprEvent): void;
  bookmark(): void;
}

export class DaprRequestError extends Error {
  constructor(readonly status: Status) {
    super(status.message);
  }
}

export class DaprObjects {
  private readonly objects = new Map<string, DaprObject>();
  private history: DaprEvent[] = [];
  readonly watchers = new Set<DaprWatcher>();

  constructor(private readonly state: ClusterState) {}

  /** Creates or replaces an object; `body` is the resource as `kubectl apply` would send it. */
  put(plural: string, namespace: string, body: Record<string, unknown>): DaprObject {
    const meta = (body.metadata ?? {}) as Record<string, unknown>;
    const name = String(meta.name ?? "");
    const key = `${plural}/${namespace}/${name}`;
    const old = this.objects.get(key);
    const rv = this.state.nextRevision();
    const object: DaprObject = {
      ...body,
      apiVersion: `${DAPR_GROUP}/${DAPR_VERSION}`,
      kind: DAPR_PLURALS[plural] as string,
      metadata: {
        ...meta,
        name,
        namespace,
        uid: old?.metadata.uid ?? randomUUID(),
        resourceVersion: String(rv),
        generation: Number(old?.metadata.generation ?? 0) + 1,
      },
    };
    this.objects.set(key, object);
    this.emit({ type: old ? "MODIFIED" : "ADDED", plural, object, rv });
    return object;
  }

  delete(plural: string, namespace: string, name: string): DaprObject | undefined {
    const key = `${plural}/${namespace}/${name}`;
    const old = this.objects.get(key);
    if (!old) return undefined;
    this.objects.delete(key);
    const rv = this.state.nextRevision();
    const gone = { ...old, metadata: { ...old.metadata, resourceVersion: String(rv) } };
    this.emit({ type: "DELETED", plural, object: gone, rv });
    return gone;
  }

  list(plural: string, namespace: string | undefined): DaprObject[] {
    return [...this.objects.entries()]
      .filter(([k, o]) => k.startsWith(`${plural}/`) && (namespace === undefined || o.metadata.namespace === namespace))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, o]) => o);
  }

  compact(): void {
    this.history = [];
  }

  bookmark(): void {
    for (const w of this.watchers) w.bookmark();
  }

  /** Serves one request under /apis/dapr.io/v1alpha1 once authorization passed. */
  async serve(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    verb: string,
    target: { plural: string; namespace: string | undefined; name: string | undefined },
    openWatches: Set<ServerResponse>,
    readBody: () => Promise<Record<string, unknown>>,
  ): Promise<void> {
    const { plural, namespace, name } = target;
    const kind = DAPR_PLURALS[plural] as string;
    const rv = String(this.state.resourceVersion);
    switch (verb) {
      case "get": {
        const o = this.objects.get(`${plural}/${namespace}/${name}`);
        if (!o) throw new DaprRequestError(status.notFound(`${plural}.${DAPR_GROUP}`, name ?? ""));
        return send(res, 200, o);
      }
      case "list":
        return send(res, 200, {
          apiVersion: `${DAPR_GROUP}/${DAPR_VERSION}`,
          kind: `${kind}List`,
          metadata: { resourceVersion: rv },
          items: this.list(plural, namespace),
        });
      case "watch":
        return this.watch(req, res, url, plural, namespace, openWatches);
      case "create":
      case "update": {
        const body = await readBody();
        const bodyName = (body.metadata as { name?: unknown } | undefined)?.name;
        if (typeof bodyName !== "string" || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(bodyName))
          throw new DaprRequestError(status.invalid(kind, String(bodyName ?? ""), "metadata.name", "Required value"));
        const exists = this.objects.has(`${plural}/${namespace}/${bodyName}`);
        if (verb === "create" && exists)
          throw new DaprRequestError(status.alreadyExists(`${plural}.${DAPR_GROUP}`, bodyName));
        if (verb === "update" && !exists)
          throw new DaprRequestError(status.notFound(`${plural}.${DAPR_GROUP}`, bodyName));
        return send(res, verb === "create" ? 201 : 200, this.put(plural, namespace as string, body));
      }
      case "delete": {
        const gone = this.delete(plural, namespace as string, name as string);
        if (!gone) throw new DaprRequestError(status.notFound(`${plural}.${DAPR_GROUP}`, name ?? ""));
        return send(res, 200, status.success(`${plural}.${DAPR_GROUP}`, name as string, gone.metadata.uid));
      }
      default:
        throw new DaprRequestError(status.methodNotAllowed());
    }
  }

  private watch(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    plural: string,
    namespace: string | undefined,
    openWatches: Set<ServerResponse>,
  ): void {
    const q = url.searchParams;
    const from = q.get("resourceVersion") ?? "";
    if (from !== "" && !/^\d+$/.test(from))
      throw new DaprRequestError(
        status.badRequest(`resourceVersion: Invalid value: "${from}": must be a decimal integer`),
      );
    res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" });
    res.flushHeaders();
    const write = (type: string, object: unknown): void => void res.write(JSON.stringify({ type, object }) + "\n");
    const mine = (e: DaprEvent) =>
      e.plural === plural && (namespace === undefined || e.object.metadata.namespace === namespace);
    if (from === "" || from === "0") {
      for (const o of this.list(plural, namespace)) write("ADDED", o);
    } else if (Number(from) < this.state.compactedRevision) {
      write("ERROR", status.expired(`too old resource version: ${from} (${this.state.compactedRevision})`));
      res.end();
      return;
    } else {
      for (const e of this.history) if (e.rv > Number(from) && mine(e)) write(e.type, e.object);
    }
    const bookmarks = ["1", "true", "True", "t"].includes(q.get("allowWatchBookmarks") ?? "");
    const watcher: DaprWatcher = {
      plural,
      namespace,
      send: (e) => {
        if (mine(e)) write(e.type, e.object);
      },
      bookmark: () => {
        if (bookmarks)
          write("BOOKMARK", {
            apiVersion: `${DAPR_GROUP}/${DAPR_VERSION}`,
            kind: DAPR_PLURALS[plural],
            metadata: { resourceVersion: String(this.state.resourceVersion) },
          });
      },
    };
    this.watchers.add(watcher);
    openWatches.add(res);
    const seconds = Number(q.get("timeoutSeconds") ?? "0");
    const timer = seconds > 0 ? setTimeout(() => res.end(), seconds * 1000) : undefined;
    const cleanup = (): void => {
      if (timer) clearTimeout(timer);
      this.watchers.delete(watcher);
      openWatches.delete(res);
    };
    res.on("close", cleanup);
    req.on("close", cleanup);
  }

  private emit(e: DaprEvent): void {
    this.history.push(e);
    for (const w of this.watchers) w.send(e);
  }
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) }).end(text);
}
