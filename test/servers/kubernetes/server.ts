/**
 * A Kubernetes API test server for the core/v1 Secrets and Namespaces resources, following the API
 * conventions kube-apiserver implements: HTTPS only, bearer-token authentication, RBAC denials as 403
 * `Status` objects naming user, verb, resource and namespace, discovery, chunked lists (`limit`/`continue`),
 * `resourceVersion` semantics, `?watch=1` streaming JSON events with 410 Expired for compacted history,
 * server-side printing for kubectl, JSON/YAML bodies (protobuf is answered 415). Tests can forbid verbs,
 * compact history, throttle, hold lists, and stop/restart it on the same port.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { makeTestTls, type TestTls } from "../../helpers/tls.js";
import {
  API_GROUP_LIST,
  apiVersions,
  DAPR_API_GROUP,
  DAPR_V1ALPHA1_RESOURCES,
  CORE_V1_RESOURCES,
  namespaceTable,
  secretTable,
  SERVER_VERSION,
  wantsTable,
} from "./discovery.js";
import { DAPR_GROUP, DAPR_PLURALS, DAPR_VERSION, DaprObjects, DaprRequestError } from "./dapr-objects.js";
import { ClusterState, type SecretObject, type WatchEvent } from "./state.js";
import * as status from "./status.js";
import type { Status } from "./status.js";

export interface KubeApiServerOptions {
  /** Bearer token → user name. Default: one random token for `system:serviceaccount:default:keyward`. */
  tokens?: Record<string, string>;
  namespaces?: string[];
  port?: number;
  tls?: TestTls;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** The RBAC verb kube-apiserver would authorize: get, list, watch, create, update, delete, or "" for non-resource paths. */
  verb: string;
  namespace?: string;
  name?: string;
  /** For dapr.io requests, the plural (components, configurations, resiliencies); unset for secrets. */
  resource?: string;
  user: string;
  status: number;
}

export const DEFAULT_USER = "system:serviceaccount:default:keyward";

/** An RBAC PolicyRule, as in a Role's `rules`. */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
const TRUTHY = new Set(["1", "t", "true", "True", "TRUE"]);
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DATA_KEY = /^[-._a-zA-Z0-9]+$/;
const PUBLIC_PATHS = new Set(["/version", "/healthz", "/livez", "/readyz"]);

class HttpError extends Error {
  constructor(readonly status: Status) {
    super(status.message);
  }
}

export class KubeApiTestServer {
  readonly state: ClusterState;
  /** The dapr.io custom resources (components, configurations, resiliencies). */
  readonly dapr: DaprObjects;
  readonly tls: TestTls;
  readonly tokens: Record<string, string>;
  /** The first token: what `writeKubeconfig` uses unless told otherwise. */
  readonly token: string;
  readonly requests: RecordedRequest[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly openWatches = new Set<ServerResponse>();
  private readonly denied = new Set<string>();
  /** namespace → Role rules; once any Role is set, secrets requests need a rule that allows them. */
  private readonly roles = new Map<string, PolicyRule[]>();
  private throttled = 0;
  /** TLS connections accepted since start (keep-alive clients open few). */
  connections = 0;
  private listGate: Promise<void> | undefined;
  port = 0;

  private constructor(opts: KubeApiServerOptions) {
    this.tls = opts.tls ?? makeTestTls(["127.0.0.1", "localhost"]);
    const token = `kw-test-${randomUUID()}`;
    this.tokens = opts.tokens ?? { [token]: DEFAULT_USER };
    this.token = Object.keys(this.tokens)[0] ?? token;
    this.state = new ClusterState(opts.namespaces ?? ["default", "kube-system", "kube-public"]);
    this.dapr = new DaprObjects(this.state);
    this.port = opts.port ?? 0;
  }

  static async start(opts: KubeApiServerOptions = {}): Promise<KubeApiTestServer> {
    const s = new KubeApiTestServer(opts);
    await s.listen();
    return s;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  get caPath(): string {
    return this.tls.caPath;
  }

  // ---- test controls -------------------------------------------------------------------------------

  /** Stores a secret; `data` holds plain values, encoded as the API stores them (base64). */
  putSecret(
    namespace: string,
    name: string,
    data: Record<string, string>,
    opts: { type?: string; labels?: Record<string, string> } = {},
  ): SecretObject {
    this.state.addNamespace(namespace);
    const encoded: Record<string, string> = {};
    for (const [k, v] of Object.entries(data)) encoded[k] = Buffer.from(v, "utf8").toString("base64");
    const metadata: { name: string; namespace: string; labels?: Record<string, string> } = { name, namespace };
    if (opts.labels) metadata.labels = opts.labels;
    return this.state.putSecret({
      kind: "Secret",
      apiVersion: "v1",
      metadata,
      data: encoded,
      type: opts.type ?? "Opaque",
    });
  }

  deleteSecret(namespace: string, name: string): void {
    this.state.deleteSecret(namespace, name);
  }

  /**
   * RBAC: refuse `verb` on `resource` in `namespace` ("*" for every namespace) for every user; `resource`
   * is "secrets" or a dapr.io plural such as "components".
   */
  forbid(verb: string, namespace: string, resource = "secrets"): void {
    this.denied.add(`${verb}/${namespace}${resource === "secrets" ? "" : `/${resource}`}`);
  }

  allow(verb: string, namespace: string, resource = "secrets"): void {
    this.denied.delete(`${verb}/${namespace}${resource === "secrets" ? "" : `/${resource}`}`);
  }

  /** Creates or replaces a dapr.io resource (`plural`: components, configurations, resiliencies). */
  putDapr(plural: string, namespace: string, body: Record<string, unknown>): void {
    this.state.addNamespace(namespace);
    this.dapr.put(plural, namespace, body);
  }

  deleteDapr(plural: string, namespace: string, name: string): void {
    this.dapr.delete(plural, namespace, name);
  }

  /**
   * Enforces a Role's rules in `namespace` (RBAC is additive: nothing else is allowed on secrets once any
   * Role is set). As in Kubernetes, resourceNames restrict get/update/delete of named objects; a list or
   * watch of the whole collection is not covered by a rule with resourceNames.
   */
  setRole(namespace: string, rules: PolicyRule[]): void {
    this.roles.set(namespace, rules);
  }

  clearRoles(): void {
    this.roles.clear();
  }

  private roleAllows(
    verb: string,
    namespace: string | undefined,
    name: string | undefined,
    group = "",
    resource = "secrets",
  ): boolean {
    if (this.roles.size === 0) return true;
    if (namespace === undefined) return false;
    return (this.roles.get(namespace) ?? []).some(
      (r) =>
        (r.apiGroups.includes(group) || r.apiGroups.includes("*")) &&
        (r.resources.includes(resource) || r.resources.includes("*")) &&
        (r.verbs.includes(verb) || r.verbs.includes("*")) &&
        (r.resourceNames === undefined ||
          r.resourceNames.length === 0 ||
          (name !== undefined && r.resourceNames.includes(name))),
    );
  }

  /** The next `n` resource requests are answered 429 TooManyRequests with Retry-After. */
  throttle(n: number): void {
    this.throttled = n;
  }

  /** Forgets the event history: watches from an earlier resourceVersion get 410 Expired. */
  compact(): void {
    this.state.compact();
    this.dapr.compact();
  }

  /** Sends a BOOKMARK with the current resourceVersion to watches that allow bookmarks. */
  bookmark(): void {
    for (const w of this.state.watchers) (w as unknown as { bookmark?: () => void }).bookmark?.();
    this.dapr.bookmark();
  }

  /** Holds every list answer (not watches) until the returned function is called. */
  holdLists(): () => void {
    let release!: () => void;
    this.listGate = new Promise<void>((r) => (release = r));
    return () => {
      this.listGate = undefined;
      release();
    };
  }

  /** Ends every open watch stream, as an API server rollout does. */
  dropWatches(): void {
    for (const res of this.openWatches) res.destroy();
    this.openWatches.clear();
  }

  count(filter: Partial<Pick<RecordedRequest, "verb" | "namespace" | "name" | "method" | "resource">>): number {
    return this.requests.filter((r) => Object.entries(filter).every(([k, v]) => r[k as keyof RecordedRequest] === v))
      .length;
  }

  /** A kubeconfig for this server (token auth, CA file) as YAML text. */
  kubeconfig(opts: { token?: string; namespace?: string; server?: string } = {}): string {
    const ns = opts.namespace ? `\n    namespace: ${opts.namespace}` : "";
    return [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: keyward-test",
      "  cluster:",
      `    server: ${opts.server ?? this.url}`,
      `    certificate-authority: ${this.tls.caPath}`,
      "users:",
      "- name: keyward-test-user",
      "  user:",
      `    token: ${opts.token ?? this.token}`,
      "contexts:",
      "- name: keyward-test",
      "  context:",
      "    cluster: keyward-test",
      `    user: keyward-test-user${ns}`,
      "current-context: keyward-test",
      "",
    ].join("\n");
  }

  /** Writes `kubeconfig(opts)` to a fresh temp file and returns its path. */
  writeKubeconfig(opts: { token?: string; namespace?: string; server?: string } = {}): string {
    const dir = mkdtempSync(join(tmpdir(), "keyward-kubeconfig-"));
    const path = join(dir, "config");
    writeFileSync(path, this.kubeconfig(opts), { mode: 0o600 });
    return path;
  }

  /** Stops listening and drops every connection; state is kept for `restart`. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.dropWatches();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Listens again on the same port with the same state. */
  async restart(): Promise<void> {
    await this.stop();
    await this.listen();
  }

  async close(): Promise<void> {
    this.listGate = undefined;
    await this.stop();
  }

  // ---- HTTP ----------------------------------------------------------------------------------------

  private async listen(): Promise<void> {
    const server = createServer({ key: this.tls.key, cert: this.tls.cert }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) this.sendStatus(res, status.badRequest(String(err)));
        else res.destroy();
      });
    });
    server.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    server.on("secureConnection", () => this.connections++);
    server.on("tlsClientError", () => {});
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    const addr = server.address();
    if (addr && typeof addr === "object") this.port = addr.port;
    this.server = server;
  }

  private authenticate(req: IncomingMessage): string | undefined {
    const header = req.headers.authorization;
    if (header === undefined) return "system:anonymous";
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) return undefined;
    return this.tokens[m[1] as string];
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://127.0.0.1");
    const path = url.pathname.replace(/\/+$/, "") || "/";
    const record: RecordedRequest = { method: req.method ?? "GET", path, verb: "", user: "", status: 0 };
    this.requests.push(record);
    res.on("finish", () => (record.status = res.statusCode));
    const user = this.authenticate(req);
    if (user === undefined) return this.sendStatus(res, status.unauthorized());
    record.user = user;
    try {
      await this.route(req, res, url, path, record);
    } catch (err) {
      if (err instanceof HttpError) return this.sendStatus(res, err.status);
      throw err;
    }
  }

  private async route(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    path: string,
    record: RecordedRequest,
  ): Promise<void> {
    const method = req.method ?? "GET";
    if (PUBLIC_PATHS.has(path)) {
      if (method !== "GET") throw new HttpError(status.methodNotAllowed());
      if (path === "/version") return this.sendJson(res, 200, SERVER_VERSION);
      res
        .writeHead(200, { "Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff" })
        .end("ok");
      return;
    }
    const anonymous = record.user === "system:anonymous";
    if (path === "/api" || path === "/api/v1" || path === "/apis") {
      if (anonymous) throw new HttpError(nonResourceForbidden(record.user, path));
      if (method !== "GET") throw new HttpError(status.methodNotAllowed());
      if (path === "/api") return this.sendJson(res, 200, apiVersions(`127.0.0.1:${this.port}`));
      if (path === "/api/v1") return this.sendJson(res, 200, CORE_V1_RESOURCES);
      return this.sendJson(res, 200, API_GROUP_LIST);
    }

    const parts = path.split("/").slice(1).map(decodeURIComponent);
    if (
      parts[0] === "apis" &&
      parts[1] === DAPR_GROUP &&
      (parts.length === 2 || (parts.length === 3 && parts[2] === DAPR_VERSION))
    ) {
      if (anonymous) throw new HttpError(nonResourceForbidden(record.user, path));
      return this.sendJson(res, 200, parts.length === 2 ? DAPR_API_GROUP : DAPR_V1ALPHA1_RESOURCES);
    }
    if (parts[0] === "apis" && parts[1] === DAPR_GROUP) return this.routeDapr(req, res, url, parts.slice(2), record);
    if (parts[0] !== "api" || parts[1] !== "v1")
      throw new HttpError(anonymous ? nonResourceForbidden(record.user, path) : status.pathNotFound());
    const rest = parts.slice(2);
    // /api/v1/secrets  |  /api/v1/namespaces[/ns[/secrets[/name]]]
    let namespace: string | undefined;
    let resource: string;
    let name: string | undefined;
    if (rest[0] === "secrets" && rest.length === 1) resource = "secrets";
    else if (rest[0] === "namespaces" && rest.length <= 2) {
      resource = "namespaces";
      name = rest[1];
    } else if (rest[0] === "namespaces" && rest[2] === "secrets" && rest.length <= 4) {
      resource = "secrets";
      namespace = rest[1];
      name = rest[3];
    } else throw new HttpError(status.pathNotFound());

    const watch = TRUTHY.has(url.searchParams.get("watch") ?? "");
    const verb = verbFor(method, name !== undefined, watch);
    if (!verb) throw new HttpError(status.methodNotAllowed());
    record.verb = verb;
    if (namespace !== undefined) record.namespace = namespace;
    if (name !== undefined) record.name = name;

    if (
      resource === "secrets" &&
      (this.denied.has(`${verb}/${namespace ?? ""}`) ||
        this.denied.has(`${verb}/*`) ||
        anonymous ||
        !this.roleAllows(verb, namespace, name))
    ) {
      throw new HttpError(status.forbidden(record.user, verb, "secrets", name ?? "", namespace));
    }
    if (anonymous) throw new HttpError(status.forbidden(record.user, verb, resource, name ?? "", namespace));
    if (this.throttled > 0) {
      this.throttled--;
      res.setHeader("Retry-After", "1");
      throw new HttpError(status.tooManyRequests(1));
    }

    if (resource === "namespaces") return this.namespaces(req, res, verb, name);
    switch (verb) {
      case "get":
        return this.getSecret(req, res, namespace as string, name as string);
      case "list":
        return this.listSecrets(req, res, url, namespace);
      case "watch":
        return this.watchSecrets(req, res, url, namespace);
      case "create":
        return this.createSecret(req, res, namespace as string);
      case "update":
        return this.updateSecret(req, res, namespace as string, name as string);
      case "delete":
        return this.deleteSecretRequest(res, namespace as string, name as string);
      default:
        throw new HttpError(status.methodNotAllowed());
    }
  }

  /** /apis/dapr.io/v1alpha1/[namespaces/NS/]PLURAL[/NAME], authorized as RBAC does for custom resources. */
  private async routeDapr(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    rest: string[],
    record: RecordedRequest,
  ): Promise<void> {
    if (rest[0] !== DAPR_VERSION) throw new HttpError(status.pathNotFound());
    let namespace: string | undefined;
    let plural: string | undefined;
    let name: string | undefined;
    if (rest.length === 2) plural = rest[1];
    else if (rest[1] === "namespaces" && rest.length >= 4 && rest.length <= 5) {
      namespace = rest[2];
      plural = rest[3];
      name = rest[4];
    }
    if (plural === undefined || !(plural in DAPR_PLURALS)) throw new HttpError(status.pathNotFound());
    const watch = TRUTHY.has(url.searchParams.get("watch") ?? "");
    const verb = verbFor(req.method ?? "GET", name !== undefined, watch);
    if (!verb || (namespace === undefined && verb !== "list" && verb !== "watch"))
      throw new HttpError(status.methodNotAllowed());
    record.verb = verb;
    if (namespace !== undefined) record.namespace = namespace;
    if (name !== undefined) record.name = name;
    record.resource = plural;
    if (
      record.user === "system:anonymous" ||
      this.denied.has(`${verb}/${namespace ?? ""}/${plural}`) ||
      this.denied.has(`${verb}/*/${plural}`) ||
      !this.roleAllows(verb, namespace, name, DAPR_GROUP, plural)
    )
      throw new HttpError(status.forbidden(record.user, verb, plural, name ?? "", namespace, DAPR_GROUP));
    if (this.listGate && verb === "list") await this.listGate;
    try {
      await this.dapr.serve(req, res, url, verb, { plural, namespace, name }, this.openWatches, () => readObject(req));
    } catch (err) {
      throw err instanceof DaprRequestError ? new HttpError(err.status) : err;
    }
  }

  private async namespaces(
    req: IncomingMessage,
    res: ServerResponse,
    verb: string,
    name: string | undefined,
  ): Promise<void> {
    const rv = String(this.state.resourceVersion);
    if (verb === "get") {
      const ns = this.state.namespaces.get(name as string);
      if (!ns) throw new HttpError(status.notFound("namespaces", name as string));
      return this.sendJson(res, 200, ns);
    }
    if (verb === "list") {
      const items = [...this.state.namespaces.values()].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
      if (wantsTable(req.headers.accept)) return this.sendJson(res, 200, namespaceTable(items, rv));
      return this.sendJson(res, 200, {
        kind: "NamespaceList",
        apiVersion: "v1",
        metadata: { resourceVersion: rv },
        items: items.map(stripTypeMeta),
      });
    }
    if (verb === "create") {
      const body = await readObject(req);
      const nsName = (body.metadata as { name?: string } | undefined)?.name ?? "";
      if (!DNS1123_LABEL.test(nsName) || nsName.length > 63)
        throw new HttpError(
          status.invalid(
            "Namespace",
            nsName,
            "metadata.name",
            `Invalid value: "${nsName}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'`,
          ),
        );
      if (this.state.namespaces.has(nsName)) throw new HttpError(status.alreadyExists("namespaces", nsName));
      return this.sendJson(res, 201, this.state.addNamespace(nsName));
    }
    throw new HttpError(status.methodNotAllowed());
  }

  private getSecret(req: IncomingMessage, res: ServerResponse, namespace: string, name: string): void {
    const secret = this.state.getSecret(namespace, name);
    if (!secret) throw new HttpError(status.notFound("secrets", name));
    if (wantsTable(req.headers.accept))
      return this.sendJson(res, 200, secretTable([secret], secret.metadata.resourceVersion));
    this.sendJson(res, 200, secret);
  }

  private async listSecrets(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    namespace: string | undefined,
  ): Promise<void> {
    if (this.listGate) await this.listGate;
    const q = url.searchParams;
    let rv = this.state.resourceVersion;
    let startAfter: string | undefined;
    const cont = q.get("continue");
    if (cont) {
      const token = decodeContinue(cont);
      if (token.rv < this.state.compactedRevision) {
        throw new HttpError(
          status.expired(
            "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
          ),
        );
      }
      rv = token.rv;
      startAfter = token.start;
    } else {
      const want = q.get("resourceVersion");
      if (
        want &&
        want !== "0" &&
        q.get("resourceVersionMatch") === "Exact" &&
        Number(want) < this.state.compactedRevision
      ) {
        throw new HttpError(status.expired(`too old resource version: ${want} (${this.state.compactedRevision})`));
      }
    }
    let items = this.state.listSecrets(namespace).filter(selector(q));
    if (startAfter !== undefined) items = items.filter((s) => itemKey(s, namespace) > startAfter);
    const limit = Number(q.get("limit") ?? "0");
    let next: string | undefined;
    let remaining: number | undefined;
    if (limit > 0 && items.length > limit) {
      remaining = items.length - limit;
      items = items.slice(0, limit);
      next = encodeContinue(rv, itemKey(items[items.length - 1] as SecretObject, namespace));
    }
    if (wantsTable(req.headers.accept)) return this.sendJson(res, 200, secretTable(items, String(rv), next));
    const metadata: Record<string, unknown> = { resourceVersion: String(rv) };
    if (next) {
      metadata.continue = next;
      metadata.remainingItemCount = remaining;
    }
    this.sendJson(res, 200, { kind: "SecretList", apiVersion: "v1", metadata, items: items.map(stripTypeMeta) });
  }

  private watchSecrets(req: IncomingMessage, res: ServerResponse, url: URL, namespace: string | undefined): void {
    const q = url.searchParams;
    const rvParam = q.get("resourceVersion") ?? "";
    if (rvParam !== "" && !/^\d+$/.test(rvParam))
      throw new HttpError(status.badRequest(`resourceVersion: Invalid value: "${rvParam}": must be a decimal integer`));
    const filter = selector(q);
    const table = wantsTable(req.headers.accept);
    const bookmarks = TRUTHY.has(q.get("allowWatchBookmarks") ?? "");
    res.writeHead(200, { ...commonHeaders(), "Content-Type": "application/json", "Transfer-Encoding": "chunked" });
    res.flushHeaders();
    const write = (type: string, object: unknown): void => {
      res.write(JSON.stringify({ type, object }) + "\n");
    };
    const render = (o: SecretObject): unknown => (table ? secretTable([o], o.metadata.resourceVersion) : o);

    let initial: WatchEvent[] | undefined;
    if (rvParam === "" || rvParam === "0") {
      initial = this.state
        .listSecrets(namespace)
        .map((o) => ({ type: "ADDED" as const, object: o, rv: Number(o.metadata.resourceVersion) }));
    } else {
      initial = this.state.eventsSince(Number(rvParam), namespace);
      if (!initial) {
        write("ERROR", status.expired(`too old resource version: ${rvParam} (${this.state.compactedRevision})`));
        res.end();
        return;
      }
    }
    for (const e of initial) if (filter(e.object)) write(e.type, render(e.object));

    const watcher = {
      namespace,
      send: (e: WatchEvent) => {
        if (filter(e.object)) write(e.type, render(e.object));
      },
      bookmark: () => {
        if (bookmarks)
          write("BOOKMARK", {
            kind: "Secret",
            apiVersion: "v1",
            metadata: { resourceVersion: String(this.state.resourceVersion) },
          });
      },
    };
    this.state.watchers.add(watcher);
    this.openWatches.add(res);
    const timeoutSeconds = Number(q.get("timeoutSeconds") ?? "0");
    const timer = timeoutSeconds > 0 ? setTimeout(() => res.end(), timeoutSeconds * 1000) : undefined;
    const cleanup = (): void => {
      if (timer) clearTimeout(timer);
      this.state.watchers.delete(watcher);
      this.openWatches.delete(res);
    };
    res.on("close", cleanup);
    req.on("close", cleanup);
  }

  private async createSecret(req: IncomingMessage, res: ServerResponse, namespace: string): Promise<void> {
    const body = await readObject(req);
    const secret = toSecret(body, namespace);
    if (!this.state.namespaces.has(namespace)) throw new HttpError(status.notFound("namespaces", namespace));
    if (this.state.getSecret(namespace, secret.metadata.name))
      throw new HttpError(status.alreadyExists("secrets", secret.metadata.name));
    this.sendJson(res, 201, this.state.putSecret(secret));
  }

  private async updateSecret(
    req: IncomingMessage,
    res: ServerResponse,
    namespace: string,
    name: string,
  ): Promise<void> {
    const body = await readObject(req);
    const secret = toSecret(body, namespace);
    if (secret.metadata.name !== name)
      throw new HttpError(
        status.badRequest(
          "the name of the object (" + secret.metadata.name + ") does not match the name on the URL (" + name + ")",
        ),
      );
    const old = this.state.getSecret(namespace, name);
    if (!old) throw new HttpError(status.notFound("secrets", name));
    const wantRv = (body.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
    if (wantRv && wantRv !== old.metadata.resourceVersion) throw new HttpError(status.conflict("secrets", name));
    if (old.immutable && JSON.stringify(old.data ?? {}) !== JSON.stringify(secret.data ?? {})) {
      throw new HttpError(
        status.invalid("Secret", name, "data", "Forbidden: field is immutable when `immutable` is set"),
      );
    }
    this.sendJson(res, 200, this.state.putSecret(secret));
  }

  private deleteSecretRequest(res: ServerResponse, namespace: string, name: string): void {
    const gone = this.state.deleteSecret(namespace, name);
    if (!gone) throw new HttpError(status.notFound("secrets", name));
    this.sendJson(res, 200, status.success("secrets", name, gone.metadata.uid));
  }

  private sendJson(res: ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res
      .writeHead(code, {
        ...commonHeaders(),
        "Content-Type": "application/json",
        "Content-Length": Buffer.byteLength(text),
      })
      .end(text);
  }

  private sendStatus(res: ServerResponse, s: Status): void {
    this.sendJson(res, s.code, s);
  }
}

function commonHeaders(): Record<string, string> {
  return {
    "Audit-Id": randomUUID(),
    "Cache-Control": "no-cache, private",
    "X-Kubernetes-Pf-Flowschema-Uid": "keyward-test",
    "X-Kubernetes-Pf-Prioritylevel-Uid": "keyward-test",
  };
}

function nonResourceForbidden(user: string, path: string): Status {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: `forbidden: User "${user}" cannot get path "${path}"`,
    reason: "Forbidden",
    details: {},
    code: 403,
  };
}

function verbFor(method: string, named: boolean, watch: boolean): string | undefined {
  switch (method) {
    case "GET":
      return named ? "get" : watch ? "watch" : "list";
    case "POST":
      return named ? undefined : "create";
    case "PUT":
      return named ? "update" : undefined;
    case "DELETE":
      return named ? "delete" : "deletecollection";
    case "PATCH":
      return named ? "patch" : undefined;
    default:
      return undefined;
  }
}

function stripTypeMeta<T extends { kind: string; apiVersion: string }>(o: T): Omit<T, "kind" | "apiVersion"> {
  const { kind: _k, apiVersion: _a, ...rest } = o;
  return rest;
}

function itemKey(s: SecretObject, namespace: string | undefined): string {
  return namespace === undefined ? `${s.metadata.namespace ?? ""}/${s.metadata.name}` : s.metadata.name;
}

function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: "meta.k8s.io/v1", rv, start: start + "\u0000" })).toString("base64url");
}

function decodeContinue(token: string): { rv: number; start: string } {
  try {
    const t = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as {
      v?: string;
      rv?: number;
      start?: string;
    };
    if (t.v !== "meta.k8s.io/v1" || typeof t.rv !== "number" || typeof t.start !== "string")
      throw new Error("bad token");
    return { rv: t.rv, start: t.start.endsWith("\u0000") ? t.start.slice(0, -1) : t.start };
  } catch {
    throw new HttpError(
      status.badRequest("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"),
    );
  }
}

/** `labelSelector` (k=v, k==v, k!=v, k, !k) and `fieldSelector` (metadata.name, metadata.namespace, type). */
function selector(q: URLSearchParams): (s: SecretObject) => boolean {
  const tests: ((s: SecretObject) => boolean)[] = [];
  for (const term of (q.get("labelSelector") ?? "")
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean)) {
    const m = /^(!?)([^!=]+?)\s*(?:(==|=|!=)\s*(.*))?$/.exec(term);
    if (!m) throw new HttpError(status.badRequest(`unable to parse requirement: ${term}`));
    const [, not, key, op, value] = m as unknown as [string, string, string, string | undefined, string | undefined];
    tests.push((s) => {
      const v = s.metadata.labels?.[key];
      if (!op) return not ? v === undefined : v !== undefined;
      return op === "!=" ? v !== value : v === value;
    });
  }
  for (const term of (q.get("fieldSelector") ?? "")
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean)) {
    const m = /^(metadata\.name|metadata\.namespace|type)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m)
      throw new HttpError(
        status.badRequest(
          `"${term.split(/[!=]/)[0]}" is not a known field selector: only "metadata.name", "metadata.namespace", "type"`,
        ),
      );
    const [, field, op, value] = m as unknown as [string, string, string, string];
    const get = (s: SecretObject): string =>
      field === "type" ? s.type : field === "metadata.name" ? s.metadata.name : (s.metadata.namespace ?? "");
    tests.push((s) => (op === "!=" ? get(s) !== value : get(s) === value));
  }
  return (s) => tests.every((t) => t(s));
}

async function readObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim() ?? "";
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  let doc: unknown;
  if (type === "application/json") {
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new HttpError(
        status.badRequest(`couldn't get version/kind; json parse error: ${(err as Error).message.split("\n")[0]}`),
      );
    }
  } else if (type === "application/yaml") {
    try {
      doc = parseYaml(text);
    } catch {
      throw new HttpError(status.badRequest("couldn't get version/kind; yaml parse error"));
    }
  } else {
    throw new HttpError(status.unsupportedMediaType(type));
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc))
    throw new HttpError(status.badRequest("Object 'Kind' is missing in request body"));
  return doc as Record<string, unknown>;
}

/** Validates a Secret body the way the API server's decoding and validation do, and folds stringData into data. */
function toSecret(
  body: Record<string, unknown>,
  namespace: string,
): SecretObject & { metadata: { namespace: string } } {
  if (body.kind !== undefined && body.kind !== "Secret")
    throw new HttpError(
      status.badRequest(
        `the API version in the data (${String(body.apiVersion)}) does not match the expected API version (v1)`,
      ),
    );
  const meta = (body.metadata ?? {}) as Record<string, unknown>;
  let name = typeof meta.name === "string" ? meta.name : "";
  if (!name && typeof meta.generateName === "string" && meta.generateName)
    name = meta.generateName + randomUUID().slice(0, 5);
  if (!name)
    throw new HttpError(
      status.invalid("Secret", "", "metadata.name", "Required value: name or generateName is required"),
    );
  if (!DNS1123_SUBDOMAIN.test(name) || name.length > 253) {
    throw new HttpError(
      status.invalid(
        "Secret",
        name,
        "metadata.name",
        `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
      ),
    );
  }
  if (typeof meta.namespace === "string" && meta.namespace !== "" && meta.namespace !== namespace) {
    throw new HttpError(
      status.badRequest("the namespace of the provided object does not match the namespace sent on the request"),
    );
  }
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries((body.data ?? {}) as Record<string, unknown>)) {
    if (typeof v !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) {
      throw new HttpError(
        status.badRequest(`Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 0`),
      );
    }
    data[k] = v;
  }
  for (const [k, v] of Object.entries((body.stringData ?? {}) as Record<string, unknown>))
    data[k] = Buffer.from(String(v), "utf8").toString("base64");
  for (const k of Object.keys(data)) {
    if (!DATA_KEY.test(k))
      throw new HttpError(
        status.invalid(
          "Secret",
          name,
          `data[${k}]`,
          `Invalid value: "${k}": a valid config key must consist of alphanumeric characters, '-', '_' or '.'`,
        ),
      );
  }
  const metadata: SecretObject["metadata"] & { namespace: string } = {
    name,
    namespace,
    uid: "",
    resourceVersion: "",
    creationTimestamp: "",
  };
  if (meta.labels && typeof meta.labels === "object") metadata.labels = meta.labels as Record<string, string>;
  if (meta.annotations && typeof meta.annotations === "object")
    metadata.annotations = meta.annotations as Record<string, string>;
  const out: SecretObject & { metadata: { namespace: string } } = {
    kind: "Secret",
    apiVersion: "v1",
    metadata,
    data,
    type: typeof body.type === "string" && body.type ? body.type : "Opaque",
  };
  if (typeof body.immutable === "boolean") out.immutable = body.immutable;
  return out;
}
