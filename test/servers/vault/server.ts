/**
 * A HashiCorp Vault test server that follows Vault's HTTP API reference closely enough for real clients
 * (node-vault, Keyward's store): `/v1/...` routes, `X-Vault-Token` / `Authorization: Bearer`,
 * `X-Vault-Namespace`, `{"errors":[...]}` bodies, the `LIST` method and `?list=true`, KV v1/v2 with
 * versions, token TTLs that really expire, AppRole and Kubernetes login, sealing (503), HTTPS, and
 * stop/restart on the same port with its state kept.
 */
import http from "node:http";
import https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { allowed } from "./acl.js";
import { handleAppRole, handleKubernetes, handleTokenStore } from "./auth.js";
import { errors, parseBool, permissionDenied, type Op, type VaultRequest, type VaultResponse } from "./http.js";
import { signServiceAccountJwt } from "./jwt.js";
import { handleKv, kvV1Put, kvV2Put } from "./kv.js";
import { normalizeNamespace, VaultState, type Token } from "./state.js";
import { findMount, handleSys, handleUnauthenticatedSys } from "./sys.js";

export interface RecordedRequest {
  method: string;
  path: string;
  query: string;
  namespace: string | undefined;
  token: string | undefined;
  vaultRequestHeader: string | undefined;
  status: number;
}

export interface VaultServerOptions {
  /** Serve HTTPS with this certificate (e.g. from test/helpers/tls.ts). */
  tls?: { cert: string; key: string };
  rootToken?: string;
  port?: number;
}

export interface VaultTestServer {
  readonly url: string;
  readonly port: number;
  readonly state: VaultState;
  readonly rootToken: string;
  readonly requests: RecordedRequest[];
  /** Lets a test answer some requests itself (fault injection); return undefined to pass through. */
  intercept: ((req: VaultRequest) => VaultResponse | undefined) | undefined;
  /** Stops listening and drops open connections; state is kept. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
  seal(): void;
  unseal(): void;
  /** Seeds a KV secret directly (KV v2 returns the new version). */
  put(path: string, data: Record<string, unknown>, opts?: { mount?: string; namespace?: string }): number;
  /** Adds an ACL policy from HCL-shaped rules. */
  policy(name: string, rules: Record<string, string[]>, namespace?: string): void;
  token(opts: Parameters<VaultState["issueToken"]>[0]): Token;
  /** A service-account JWT the Kubernetes auth method accepts. */
  serviceAccountJwt(name: string, namespace: string, ttlSeconds?: number): string;
}

const SEALED_ALLOWED = new Set(["sys/health", "sys/seal-status", "sys/unseal", "sys/init", "sys/leader"]);

function methodOp(method: string, query: URLSearchParams): Op | undefined {
  switch (method) {
    case "GET":
    case "HEAD":
      return parseBool(query.get("list")) ? "list" : "read";
    case "LIST":
      return "list";
    case "POST":
    case "PUT":
      return "write";
    case "DELETE":
      return "delete";
    case "PATCH":
      return "patch";
    default:
      return undefined;
  }
}

function header(h: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

function route(
  state: VaultState,
  method: string,
  url: URL,
  headers: Record<string, string | string[] | undefined>,
  rawBody: string,
  intercept: VaultTestServer["intercept"],
): VaultResponse {
  if (!url.pathname.startsWith("/v1/")) return errors(404);
  const op = methodOp(method, url.searchParams);
  if (!op) return errors(405, "unsupported operation");
  let path: string;
  try {
    path = decodeURIComponent(url.pathname.slice("/v1/".length));
  } catch {
    return errors(400, "invalid URL escape");
  }
  if (op === "list" && !path.endsWith("/")) path = `${path}/`;
  let body: Record<string, unknown> = {};
  if (rawBody.trim() !== "") {
    try {
      const parsed = JSON.parse(rawBody) as unknown;
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
        return errors(400, "failed to parse JSON input: not an object");
      body = parsed as Record<string, unknown>;
    } catch (err) {
      return errors(400, `failed to parse JSON input: ${(err as Error).message}`);
    }
  }
  const nsHeader = header(headers, "x-vault-namespace");
  const ns = state.namespace(nsHeader ?? "");
  const bearer = /^Bearer\s+(.+)$/i.exec(header(headers, "authorization") ?? "")?.[1];
  const rawToken = header(headers, "x-vault-token") ?? bearer;
  const req: VaultRequest = {
    method,
    op,
    path,
    query: url.searchParams,
    body,
    headers,
    ns: ns ?? state.mustNamespace(""),
    rawToken,
    token: undefined,
    state,
  };
  const injected = intercept?.(req);
  if (injected) return injected;

  if (state.sealed && !SEALED_ALLOWED.has(path.replace(/\/$/, ""))) return errors(503, "Vault is sealed");
  const open = handleUnauthenticatedSys({ ...req, path: path.replace(/\/$/, "") });
  if (open) return open;
  if (!ns) return errors(403, "permission denied");

  // Login endpoints need no token.
  if (path.startsWith("auth/")) {
    const mount = findMount(ns.auths, path.slice("auth/".length));
    if (mount && mount.type !== "token") {
      const rest = path.slice("auth/".length + mount.path.length).replace(/\/$/, "");
      if (rest === "login")
        return mount.type === "approle"
          ? handleAppRole(req, mount, rest)
          : mount.type === "kubernetes"
            ? handleKubernetes(req, mount, rest)
            : errors(405, "unsupported path");
    }
  }

  const token = state.liveToken(rawToken);
  req.token = token;
  if (path.startsWith("sys/internal/ui/mounts")) return handleSys(req);
  if (!token) return permissionDenied();
  const aclPath = path;
  const aclOp = op === "patch" ? "patch" : op;
  const selfPath = /^auth\/token\/(lookup-self|renew-self|revoke-self)\/?$/.test(path);
  if (!selfPath && !allowed(state, token, req.ns, aclPath, aclOp)) return permissionDenied();
  if (selfPath && !allowed(state, token, req.ns, path.replace(/\/$/, ""), path.includes("lookup") ? "read" : "write"))
    return permissionDenied();

  if (path.startsWith("sys/")) return handleSys(req);
  if (path.startsWith("auth/")) {
    const sub = path.slice("auth/".length);
    const mount = findMount(req.ns.auths, sub);
    if (!mount) return errors(404, `no handler for route "${path}". route entry not found.`);
    const rest = sub.slice(mount.path.length).replace(/\/$/, "");
    switch (mount.type) {
      case "token":
        return handleTokenStore(req, rest);
      case "approle":
        return handleAppRole(req, mount, rest);
      case "kubernetes":
        return handleKubernetes(req, mount, rest);
      default:
        return errors(405, "unsupported path");
    }
  }
  const mount = findMount(req.ns.mounts, path);
  if (!mount) return errors(404, `no handler for route "${path}". route entry not found.`);
  return handleKv(req, mount, path.slice(mount.path.length));
}

function serialize(res: VaultResponse): { status: number; headers: Record<string, string>; body: string } {
  const headers: Record<string, string> = { "Cache-Control": "no-store", ...res.headers };
  if (res.status === 204 || res.body === undefined) return { status: res.status, headers, body: "" };
  headers["Content-Type"] = "application/json";
  return { status: res.status, headers, body: `${JSON.stringify(res.body)}\n` };
}

/** Node's HTTP parser has no `LIST` method: such requests arrive as parser errors and are answered here, closing the connection. */
function answerRawList(server: VaultServer, socket: Socket, raw: Buffer): boolean {
  const text = raw.toString("latin1");
  const end = text.indexOf("\r\n\r\n");
  const first = /^([A-Z]+) (\S+) HTTP\/1\.[01]\r\n/.exec(text);
  if (!first || first[1] !== "LIST" || end === -1) return false;
  const headers: Record<string, string> = {};
  for (const line of text.slice(first[0].length, end).split("\r\n")) {
    const i = line.indexOf(":");
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const url = new URL(first[2] as string, "http://vault.test");
  const out = serialize(server.handle("LIST", url, headers, ""));
  const head = [
    `HTTP/1.1 ${out.status} ${http.STATUS_CODES[out.status] ?? ""}`,
    ...Object.entries(out.headers).map(([k, v]) => `${k}: ${v}`),
    `Content-Length: ${Buffer.byteLength(out.body)}`,
    "Connection: close",
  ];
  socket.end(`${head.join("\r\n")}\r\n\r\n${out.body}`);
  return true;
}

class VaultServer implements VaultTestServer {
  readonly state: VaultState;
  readonly requests: RecordedRequest[] = [];
  intercept: VaultTestServer["intercept"];
  private server: http.Server | https.Server;
  private readonly sockets = new Set<Socket>();
  private readonly tls: boolean;
  port = 0;

  constructor(opts: VaultServerOptions) {
    this.state = new VaultState(opts.rootToken);
    this.tls = Boolean(opts.tls);
    this.port = opts.port ?? 0;
    this.server = this.createServer(opts);
  }

  get url(): string {
    return `${this.tls ? "https" : "http"}://127.0.0.1:${this.port}`;
  }

  get rootToken(): string {
    return this.state.rootToken;
  }

  private createServer(opts: VaultServerOptions): http.Server | https.Server {
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const url = new URL(req.url ?? "/", "http://vault.test");
        const out = serialize(
          this.handle(req.method ?? "GET", url, req.headers, Buffer.concat(chunks).toString("utf8")),
        );
        res.writeHead(out.status, out.headers);
        res.end(req.method === "HEAD" ? undefined : out.body);
      });
    };
    const server = opts.tls
      ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, onRequest)
      : http.createServer(onRequest);
    server.keepAliveTimeout = 5000;
    server.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    server.on("secureConnection", (s: Socket) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    server.on("clientError", (err: Error & { code?: string; rawPacket?: Buffer }, socket: Socket) => {
      if (err.code === "HPE_INVALID_METHOD" && err.rawPacket && answerRawList(this, socket, err.rawPacket)) return;
      if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
      else socket.destroy();
    });
    return server;
  }

  handle(
    method: string,
    url: URL,
    headers: Record<string, string | string[] | undefined>,
    body: string,
  ): VaultResponse {
    let res: VaultResponse;
    try {
      res = route(this.state, method, url, headers, body, this.intercept);
    } catch (err) {
      res = errors(500, `internal error: ${(err as Error).message}`);
    }
    this.requests.push({
      method,
      path: url.pathname,
      query: url.search,
      namespace: header(headers, "x-vault-namespace"),
      token: header(headers, "x-vault-token"),
      vaultRequestHeader: header(headers, "x-vault-request"),
      status: res.status,
    });
    return res;
  }

  async start(): Promise<void> {
    if (this.server.listening) return;
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.port, "127.0.0.1", () => {
        this.server.off("error", reject);
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  async stop(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await closed;
  }

  close(): Promise<void> {
    return this.stop();
  }

  seal(): void {
    this.state.sealed = true;
  }

  unseal(): void {
    this.state.sealed = false;
  }

  put(path: string, data: Record<string, unknown>, opts: { mount?: string; namespace?: string } = {}): number {
    const ns = this.state.mustNamespace(opts.namespace ?? "");
    const mount = ns.mounts.get(`${(opts.mount ?? "secret").replace(/\/+$/, "")}/`);
    if (!mount) throw new Error(`no mount ${opts.mount ?? "secret"}`);
    if (mount.version === 2) return kvV2Put(mount, path, data);
    kvV1Put(mount, path, data);
    return 0;
  }

  policy(name: string, rules: Record<string, string[]>, namespace = ""): void {
    this.state.mustNamespace(namespace).policies.set(
      name,
      Object.entries(rules).map(([path, capabilities]) => ({ path, capabilities })),
    );
  }

  token(opts: Parameters<VaultState["issueToken"]>[0]): Token {
    return this.state.issueToken(opts);
  }

  serviceAccountJwt(name: string, namespace: string, ttlSeconds?: number): string {
    return signServiceAccountJwt(this.state.kubernetesSigningKey, name, namespace, ttlSeconds);
  }
}

export async function startVaultServer(opts: VaultServerOptions = {}): Promise<VaultTestServer> {
  const server = new VaultServer(opts);
  await server.start();
  return server;
}

export { normalizeNamespace };
