/**
 * A gRPC Secret Manager (google.cloud.secretmanager.v1) for tests, built from the client package's own
 * .proto files. It follows the API reference: resource names answered with the project number, `latest`
 * meaning the most recently created version, FAILED_PRECONDITION for disabled/destroyed versions,
 * ListSecrets paging with opaque tokens, PERMISSION_DENIED "(or it may not exist)" for unknown projects,
 * ErrorInfo details, bearer-token auth, optional TLS.
 */
import { randomBytes } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import type { TestIdentity } from "./identity.js";
import { SecretManagerService, statusDetailsBin } from "./protos.js";

export type State = "ENABLED" | "DISABLED" | "DESTROYED";
interface Version {
  number: number;
  state: State;
  data: Buffer;
  createTime: Date;
  destroyTime?: Date;
  checksummed: boolean;
  etag: string;
}
interface StoredSecret {
  id: string;
  createTime: Date;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  versions: Version[];
  etag: string;
}
interface Project {
  id: string;
  number: string;
  secrets: Map<string, StoredSecret>;
}

export interface GcpServerOptions {
  /** Checks `authorization` against this identity; without one every caller is anonymous and allowed. */
  identity?: TestIdentity;
  tls?: { cert: string; key: string };
  /** Page size when a ListSecrets request leaves page_size at 0 ("the server decides"). */
  defaultPageSize?: number;
}

export interface RecordedCall {
  method: string;
  principal: string;
  /** How the caller authenticated. */
  credential: "none" | "self-signed-jwt" | "access-token";
  request: unknown;
}

type Fault = { method: string; code: grpc.status; details: string; reason?: string; times: number };

const MAX_PAGE_SIZE = 25000;
const SECRET_ID = /^[A-Za-z0-9_-]{1,255}$/;

class RpcError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
    readonly info?: { reason: string; domain: string; metadata: Record<string, string> },
  ) {
    super(message);
  }
}

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

export function crc32c(data: Buffer): number {
  let c = 0xffffffff;
  for (const b of data) c = (CRC32C_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function timestamp(d: Date): { seconds: string; nanos: number } {
  return { seconds: String(Math.floor(d.getTime() / 1000)), nanos: (d.getTime() % 1000) * 1e6 };
}

function etag(): string {
  return `"${randomBytes(7).toString("hex")}"`;
}

function permissionDenied(permission: string, resource: string): RpcError {
  return new RpcError(
    grpc.status.PERMISSION_DENIED,
    `Permission '${permission}' denied for resource '${resource}' (or it may not exist).`,
    {
      reason: "IAM_PERMISSION_DENIED",
      domain: "iam.googleapis.com",
      metadata: { permission, resource },
    },
  );
}

export class GcpSecretManagerServer {
  private readonly server = new grpc.Server();
  private readonly projects = new Map<string, Project>();
  private readonly denials: { principal?: string; resource: string }[] = [];
  private readonly faults: Fault[] = [];
  readonly calls: RecordedCall[] = [];
  port = 0;

  constructor(private readonly opts: GcpServerOptions = {}) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const handlers: Record<string, (req: never, principal: string) => unknown> = {
      CreateSecret: (
        r: {
          parent: string;
          secretId: string;
          secret: { labels?: Record<string, string>; annotations?: Record<string, string> } | null;
        },
        who,
      ) => this.createSecret(r, who),
      AddSecretVersion: (r: { parent: string; payload: { data: Buffer; dataCrc32c?: string | null } | null }, who) =>
        this.addVersion(r, who),
      GetSecret: (r: { name: string }, who) => {
        const { project, secret } = this.secretAt(r.name, "secretmanager.secrets.get", who);
        return this.secretMessage(secret, project);
      },
      DeleteSecret: (r: { name: string }, who) => {
        const { project, secret } = this.secretAt(r.name, "secretmanager.secrets.delete", who);
        project.secrets.delete(secret.id);
        return {};
      },
      ListSecrets: (r: { parent: string; pageSize: number; pageToken: string; filter: string }, who) =>
        this.listSecrets(r, who),
      GetSecretVersion: (r: { name: string }, who) => {
        const { project, secret, version } = this.versionAt(r.name, "secretmanager.versions.get", who);
        return this.versionMessage(project, secret, version);
      },
      ListSecretVersions: (r: { parent: string; pageSize: number; pageToken: string }, who) => {
        const { project, secret } = this.secretAt(r.parent, "secretmanager.versions.list", who);
        const all = [...secret.versions].reverse();
        const { items, next } = this.page(all, r.parent, r.pageSize, r.pageToken);
        return {
          versions: items.map((v) => this.versionMessage(project, secret, v)),
          nextPageToken: next,
          totalSize: all.length,
        };
      },
      AccessSecretVersion: (r: { name: string }, who) => this.access(r.name, who),
      DisableSecretVersion: (r: { name: string }, who) =>
        this.setState(r.name, "DISABLED", "secretmanager.versions.disable", who),
      EnableSecretVersion: (r: { name: string }, who) =>
        this.setState(r.name, "ENABLED", "secretmanager.versions.enable", who),
      DestroySecretVersion: (r: { name: string }, who) =>
        this.setState(r.name, "DESTROYED", "secretmanager.versions.destroy", who),
    };
    const impl: grpc.UntypedServiceImplementation = {};
    for (const [method, handler] of Object.entries(handlers)) {
      const lower = method.charAt(0).toLowerCase() + method.slice(1);
      const unary: grpc.handleUnaryCall<never, unknown> = (call, callback) => {
        try {
          const { principal, credential } = this.authenticate(call.metadata);
          this.calls.push({ method, principal, credential, request: call.request });
          this.injectFault(method);
          callback(null, handler(call.request, principal));
        } catch (e) {
          if (!(e instanceof RpcError)) throw e;
          const metadata = new grpc.Metadata();
          if (e.info) metadata.set("grpc-status-details-bin", statusDetailsBin(e.code, e.message, e.info));
          callback({ code: e.code, details: e.message, metadata });
        }
      };
      impl[lower] = unary as grpc.UntypedHandleCall;
    }
    this.server.addService(SecretManagerService, impl);
    const creds = this.opts.tls
      ? grpc.ServerCredentials.createSsl(null, [
          { private_key: Buffer.from(this.opts.tls.key), cert_chain: Buffer.from(this.opts.tls.cert) },
        ])
      : grpc.ServerCredentials.createInsecure();
    this.port = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync("127.0.0.1:0", creds, (err, port) => (err ? reject(err) : resolve(port)));
    });
    return this;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 2000);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  // ---- seeding and test controls ----

  addProject(id: string, number: string): void {
    this.projects.set(id, { id, number, secrets: new Map() });
  }

  /** Creates the secret if needed and adds an enabled version; returns the version number. */
  seed(projectId: string, secretId: string, value: string | Buffer): number {
    const project = this.projects.get(projectId);
    if (!project) throw new Error(`no project ${projectId}`);
    let secret = project.secrets.get(secretId);
    if (!secret) {
      secret = { id: secretId, createTime: new Date(), labels: {}, annotations: {}, versions: [], etag: etag() };
      project.secrets.set(secretId, secret);
    }
    const number = secret.versions.length + 1;
    secret.versions.push({
      number,
      state: "ENABLED",
      data: Buffer.from(value),
      createTime: new Date(),
      checksummed: false,
      etag: etag(),
    });
    return number;
  }

  /** Every caller (or only `principal`) is refused every permission on resources under `resource` (project id form). */
  deny(resource: string, principal?: string): void {
    this.denials.push(principal === undefined ? { resource } : { resource, principal });
  }

  /** The next `times` calls of `method` ("*" for any) fail with `code`. */
  failNext(method: string, code: grpc.status, details: string, times = 1, reason?: string): void {
    this.faults.push(
      reason === undefined ? { method, code, details, times } : { method, code, details, times, reason },
    );
  }

  /** Drops every pending fault and denial. */
  reset(): void {
    this.faults.length = 0;
    this.denials.length = 0;
  }

  /** An operator's state change (disable, enable, destroy) on a version, bypassing auth. */
  setVersionState(projectId: string, secretId: string, version: number, state: State): void {
    this.setState(`projects/${projectId}/secrets/${secretId}/versions/${version}`, state, "test", "test");
  }

  /** The next `times` calls are refused for quota, as the API does under load. */
  throttleNext(times = 1, method = "*"): void {
    this.failNext(
      method,
      grpc.status.RESOURCE_EXHAUSTED,
      "Quota exceeded for quota metric 'Access requests' and limit 'Access requests per minute per project' of service 'secretmanager.googleapis.com'.",
      times,
      "RATE_LIMIT_EXCEEDED",
    );
  }

  // ---- internals ----

  private authenticate(md: grpc.Metadata): { principal: string; credential: RecordedCall["credential"] } {
    const identity = this.opts.identity;
    const header = md.get("authorization")[0];
    if (!identity) return { principal: "anonymous", credential: "none" };
    const result = identity.authenticate(typeof header === "string" ? header : undefined);
    if (result.ok) {
      const token = (header as string).replace(/^Bearer\s+/i, "");
      return {
        principal: result.principal,
        credential: token.split(".").length === 3 ? "self-signed-jwt" : "access-token",
      };
    }
    const info = {
      domain: "googleapis.com",
      metadata: {
        service: "secretmanager.googleapis.com",
        method: "google.cloud.secretmanager.v1.SecretManagerService",
      },
    };
    if (result.missing) {
      throw new RpcError(
        grpc.status.UNAUTHENTICATED,
        "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
        { ...info, reason: "CREDENTIALS_MISSING" },
      );
    }
    throw new RpcError(
      grpc.status.UNAUTHENTICATED,
      "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
      { ...info, reason: "ACCESS_TOKEN_TYPE_UNSUPPORTED" },
    );
  }

  private injectFault(method: string): void {
    const f = this.faults.find((x) => x.times > 0 && (x.method === "*" || x.method === method));
    if (!f) return;
    f.times--;
    throw new RpcError(
      f.code,
      f.details,
      f.reason
        ? { reason: f.reason, domain: "googleapis.com", metadata: { service: "secretmanager.googleapis.com" } }
        : undefined,
    );
  }

  private project(name: string, permission: string, resource: string): Project {
    const p = [...this.projects.values()].find((x) => x.id === name || x.number === name);
    if (!p) throw permissionDenied(permission, resource);
    return p;
  }

  private checkAllowed(principal: string, permission: string, project: Project, rest: string, asked: string): void {
    const canonical = `projects/${project.id}${rest}`;
    for (const d of this.denials) {
      if (
        (d.principal === undefined || d.principal === principal) &&
        (canonical === d.resource || canonical.startsWith(`${d.resource}/`))
      ) {
        throw permissionDenied(permission, asked);
      }
    }
  }

  private parseParent(parent: string, permission: string, who: string): Project {
    const m = /^projects\/([^/]+)$/.exec(parent);
    if (!m) throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid resource field value in the request.`);
    const project = this.project(m[1] as string, permission, parent);
    this.checkAllowed(who, permission, project, "", parent);
    return project;
  }

  private secretAt(name: string, permission: string, who: string): { project: Project; secret: StoredSecret } {
    const m = /^projects\/([^/]+)\/secrets\/([^/]+)$/.exec(name);
    if (!m) throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid resource field value in the request.`);
    const project = this.project(m[1] as string, permission, name);
    this.checkAllowed(who, permission, project, `/secrets/${m[2]}`, name);
    const secret = project.secrets.get(m[2] as string);
    if (!secret)
      throw new RpcError(grpc.status.NOT_FOUND, `Secret [projects/${project.number}/secrets/${m[2]}] not found.`);
    return { project, secret };
  }

  private versionAt(
    name: string,
    permission: string,
    who: string,
  ): { project: Project; secret: StoredSecret; version: Version } {
    const m = /^projects\/([^/]+)\/secrets\/([^/]+)\/versions\/([^/]+)$/.exec(name);
    if (!m) throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid resource field value in the request.`);
    const [, projectName, secretId, versionId] = m as unknown as [string, string, string, string];
    const project = this.project(projectName, permission, name);
    this.checkAllowed(who, permission, project, `/secrets/${secretId}`, name);
    if (versionId !== "latest" && !/^[1-9]\d*$/.test(versionId)) {
      throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid resource field value in the request.`);
    }
    const secret = project.secrets.get(secretId);
    const full = `projects/${project.number}/secrets/${secretId}`;
    if (versionId === "latest") {
      const last = secret?.versions.at(-1);
      if (!secret || !last) throw new RpcError(grpc.status.NOT_FOUND, `Secret [${full}] not found or has no versions.`);
      return { project, secret, version: last };
    }
    const version = secret?.versions.find((v) => v.number === Number(versionId));
    if (!secret || !version)
      throw new RpcError(grpc.status.NOT_FOUND, `Secret Version [${full}/versions/${versionId}] not found.`);
    return { project, secret, version };
  }

  private access(name: string, who: string): unknown {
    const { project, secret, version } = this.versionAt(name, "secretmanager.versions.access", who);
    const full = `projects/${project.number}/secrets/${secret.id}/versions/${version.number}`;
    if (version.state !== "ENABLED")
      throw new RpcError(grpc.status.FAILED_PRECONDITION, `Secret Version [${full}] is in ${version.state} state.`);
    return { name: full, payload: { data: version.data, dataCrc32c: String(crc32c(version.data)) } };
  }

  private setState(name: string, state: State, permission: string, who: string): unknown {
    const { project, secret, version } = this.versionAt(name, permission, who);
    const full = `projects/${project.number}/secrets/${secret.id}/versions/${version.number}`;
    if (version.state === "DESTROYED" && state !== "DESTROYED") {
      throw new RpcError(grpc.status.FAILED_PRECONDITION, `Secret Version [${full}] is in DESTROYED state.`);
    }
    version.state = state;
    version.etag = etag();
    if (state === "DESTROYED") {
      version.data = Buffer.alloc(0);
      version.destroyTime = new Date();
    }
    return this.versionMessage(project, secret, version);
  }

  private createSecret(
    r: {
      parent: string;
      secretId: string;
      secret: { labels?: Record<string, string>; annotations?: Record<string, string> } | null;
    },
    who: string,
  ): unknown {
    const project = this.parseParent(r.parent, "secretmanager.secrets.create", who);
    if (!SECRET_ID.test(r.secretId)) {
      throw new RpcError(
        grpc.status.INVALID_ARGUMENT,
        "Secret ID must be less than 255 characters and consist only of letters, numbers, hyphens and underscores.",
      );
    }
    if (project.secrets.has(r.secretId)) {
      throw new RpcError(
        grpc.status.ALREADY_EXISTS,
        `Secret [projects/${project.number}/secrets/${r.secretId}] already exists.`,
      );
    }
    const secret: StoredSecret = {
      id: r.secretId,
      createTime: new Date(),
      labels: { ...(r.secret?.labels ?? {}) },
      annotations: { ...(r.secret?.annotations ?? {}) },
      versions: [],
      etag: etag(),
    };
    project.secrets.set(r.secretId, secret);
    return this.secretMessage(secret, project);
  }

  private addVersion(
    r: { parent: string; payload: { data: Buffer; dataCrc32c?: string | null } | null },
    who: string,
  ): unknown {
    const { project, secret } = this.secretAt(r.parent, "secretmanager.versions.add", who);
    const data = Buffer.from(r.payload?.data ?? Buffer.alloc(0));
    if (data.length > 64 * 1024)
      throw new RpcError(grpc.status.INVALID_ARGUMENT, "Secret payload data must be 65536 bytes or smaller.");
    const given = r.payload?.dataCrc32c;
    if (given !== undefined && given !== null && Number(given) !== crc32c(data)) {
      throw new RpcError(grpc.status.INVALID_ARGUMENT, "Checksum mismatch.");
    }
    const version: Version = {
      number: secret.versions.length + 1,
      state: "ENABLED",
      data,
      createTime: new Date(),
      checksummed: given !== undefined && given !== null,
      etag: etag(),
    };
    secret.versions.push(version);
    return this.versionMessage(project, secret, version);
  }

  private listSecrets(
    r: { parent: string; pageSize: number; pageToken: string; filter: string },
    who: string,
  ): unknown {
    const project = this.parseParent(r.parent, "secretmanager.secrets.list", who);
    if (r.filter)
      throw new RpcError(grpc.status.INVALID_ARGUMENT, "List filters are not implemented by this test server.");
    const all = [...project.secrets.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const { items, next } = this.page(all, r.parent, r.pageSize, r.pageToken);
    return { secrets: items.map((s) => this.secretMessage(s, project)), nextPageToken: next, totalSize: all.length };
  }

  private page<T>(all: T[], parent: string, pageSize: number, pageToken: string): { items: T[]; next: string } {
    if (pageSize < 0) throw new RpcError(grpc.status.INVALID_ARGUMENT, "page_size must be non-negative.");
    const size = Math.min(pageSize || this.opts.defaultPageSize || MAX_PAGE_SIZE, MAX_PAGE_SIZE);
    let offset = 0;
    if (pageToken) {
      let decoded: { p?: string; o?: number } = {};
      try {
        decoded = JSON.parse(Buffer.from(pageToken, "base64url").toString("utf8")) as typeof decoded;
      } catch {
        /* reported below */
      }
      if (decoded.p !== parent || typeof decoded.o !== "number")
        throw new RpcError(grpc.status.INVALID_ARGUMENT, "Invalid page token.");
      offset = decoded.o;
    }
    const items = all.slice(offset, offset + size);
    const next =
      offset + size < all.length
        ? Buffer.from(JSON.stringify({ p: parent, o: offset + size })).toString("base64url")
        : "";
    return { items, next };
  }

  private secretMessage(s: StoredSecret, project: Project): unknown {
    return {
      name: `projects/${project.number}/secrets/${s.id}`,
      replication: { automatic: {} },
      createTime: timestamp(s.createTime),
      labels: s.labels,
      annotations: s.annotations,
      etag: s.etag,
    };
  }

  private versionMessage(project: Project, s: StoredSecret, v: Version): unknown {
    return {
      name: `projects/${project.number}/secrets/${s.id}/versions/${v.number}`,
      createTime: timestamp(v.createTime),
      destroyTime: v.destroyTime ? timestamp(v.destroyTime) : null,
      state: v.state,
      replicationStatus: { automatic: {} },
      etag: v.etag,
      clientSpecifiedPayloadChecksum: v.checksummed,
    };
  }
}

/** Starts a server on 127.0.0.1 with `projects` (id → number) already created. */
export async function startGcpSecretManager(
  opts: GcpServerOptions & { projects?: Record<string, string> } = {},
): Promise<GcpSecretManagerServer> {
  const server = new GcpSecretManagerServer(opts);
  for (const [id, number] of Object.entries(opts.projects ?? {})) server.addProject(id, number);
  return server.start();
}
