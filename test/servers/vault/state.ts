/**
 * In-memory state of the Vault test server: namespaces, each with its own secrets engines, auth methods,
 * policies and tokens. It survives a stop/restart of the listener, like Vault's storage backend.
 */
import { randomBytes, randomUUID } from "node:crypto";

export interface KvVersion {
  data: Record<string, unknown> | null;
  createdTime: string;
  deletionTime: string;
  destroyed: boolean;
}

export interface KvV2Secret {
  createdTime: string;
  updatedTime: string;
  currentVersion: number;
  oldestVersion: number;
  maxVersions: number;
  casRequired: boolean;
  customMetadata: Record<string, string> | null;
  versions: Map<number, KvVersion>;
}

export interface SecretsMount {
  path: string; // "secret/" (with trailing slash, as Vault lists it)
  type: string; // "kv", "cubbyhole", ...
  version: 1 | 2;
  description: string;
  accessor: string;
  uuid: string;
  maxVersions: number;
  v1: Map<string, Record<string, unknown>>;
  v2: Map<string, KvV2Secret>;
}

export interface AppRoleRole {
  name: string;
  roleId: string;
  bindSecretId: boolean;
  secretIdTtl: number; // seconds, 0 = never expires
  secretIdNumUses: number;
  tokenTtl: number;
  tokenMaxTtl: number;
  tokenPolicies: string[];
  tokenPeriod: number;
  secretIds: Map<
    string,
    { accessor: string; expireAt: number | null; usesLeft: number | null; metadata: Record<string, string> }
  >;
}

export interface KubernetesRole {
  name: string;
  boundNames: string[];
  boundNamespaces: string[];
  tokenTtl: number;
  tokenMaxTtl: number;
  tokenPolicies: string[];
  audience: string;
}

export interface AuthMount {
  path: string; // "approle/"
  type: string; // "token" | "approle" | "kubernetes"
  accessor: string;
  description: string;
  appRoles: Map<string, AppRoleRole>;
  kubeRoles: Map<string, KubernetesRole>;
  kubeConfig: Record<string, unknown>;
}

export interface PolicyRule {
  path: string;
  capabilities: string[];
}

export interface Token {
  id: string;
  accessor: string;
  namespace: string;
  policies: string[];
  path: string;
  displayName: string;
  meta: Record<string, string> | null;
  createdAt: number; // ms
  creationTtl: number; // seconds, 0 = no expiry
  expireAt: number | null; // ms
  maxExpireAt: number | null; // ms
  renewable: boolean;
  period: number; // seconds
  orphan: boolean;
  parent: string | null;
  numUses: number;
  entityId: string;
}

export interface Namespace {
  path: string; // "" for root, "team-a/" for children
  id: string;
  mounts: Map<string, SecretsMount>;
  auths: Map<string, AuthMount>;
  policies: Map<string, PolicyRule[]>;
}

/** Vault's default system max TTL: 768h. */
export const SYSTEM_MAX_TTL = 768 * 3600;

export function newId(prefix = "hvs."): string {
  return prefix + randomBytes(18).toString("base64url");
}

/** The rules Vault's built-in `default` policy grants every token (the parts that matter here). */
const DEFAULT_POLICY: PolicyRule[] = [
  { path: "auth/token/lookup-self", capabilities: ["read"] },
  { path: "auth/token/renew-self", capabilities: ["update"] },
  { path: "auth/token/revoke-self", capabilities: ["update"] },
  { path: "sys/capabilities-self", capabilities: ["update"] },
  { path: "sys/internal/ui/resultant-acl", capabilities: ["read"] },
  { path: "cubbyhole/*", capabilities: ["create", "read", "update", "delete", "list"] },
];

export class VaultState {
  readonly namespaces = new Map<string, Namespace>();
  readonly tokens = new Map<string, Token>();
  /** Every token id ever issued (tests check none leaks into logs or messages). */
  readonly issued: string[] = [];
  sealed = false;
  readonly unsealKey = randomBytes(16).toString("hex");
  readonly clusterName = "vault-cluster-keyward-test";
  readonly clusterId = randomUUID();
  /** HMAC key of the built-in Kubernetes TokenReview (see jwt.ts). */
  readonly kubernetesSigningKey = randomBytes(32);
  readonly rootToken: string;

  constructor(rootToken = newId()) {
    this.rootToken = rootToken;
    this.createNamespace("");
    this.mountSecrets("", "secret", "kv", 2);
    this.issued.push(rootToken);
    this.tokens.set(rootToken, {
      id: rootToken,
      accessor: newId(""),
      namespace: "",
      policies: ["root"],
      path: "auth/token/root",
      displayName: "root",
      meta: null,
      createdAt: Date.now(),
      creationTtl: 0,
      expireAt: null,
      maxExpireAt: null,
      renewable: false,
      period: 0,
      orphan: true,
      parent: null,
      numUses: 0,
      entityId: "",
    });
  }

  createNamespace(path: string): Namespace {
    const p = normalizeNamespace(path);
    const existing = this.namespaces.get(p);
    if (existing) return existing;
    const ns: Namespace = {
      path: p,
      id: p === "" ? "root" : randomBytes(3).toString("hex"),
      mounts: new Map(),
      auths: new Map(),
      policies: new Map(),
    };
    ns.policies.set("default", DEFAULT_POLICY);
    ns.auths.set("token/", newAuthMount("token/", "token"));
    ns.mounts.set("cubbyhole/", newSecretsMount("cubbyhole/", "cubbyhole", 1));
    ns.mounts.set("sys/", newSecretsMount("sys/", "system", 1));
    this.namespaces.set(p, ns);
    return ns;
  }

  namespace(path: string): Namespace | undefined {
    return this.namespaces.get(normalizeNamespace(path));
  }

  mountSecrets(namespace: string, path: string, type: string, version: 1 | 2): SecretsMount {
    const ns = this.mustNamespace(namespace);
    const p = mountPath(path);
    const m = newSecretsMount(p, type, version);
    ns.mounts.set(p, m);
    return m;
  }

  enableAuth(namespace: string, path: string, type: string): AuthMount {
    const ns = this.mustNamespace(namespace);
    const p = mountPath(path);
    const a = newAuthMount(p, type);
    ns.auths.set(p, a);
    return a;
  }

  mustNamespace(path: string): Namespace {
    const ns = this.namespace(path);
    if (!ns) throw new Error(`no namespace ${JSON.stringify(path)}`);
    return ns;
  }

  /** Creates a token the way Vault's token store does; TTLs in seconds (0 = no expiry for root-policy tokens). */
  issueToken(opts: {
    namespace?: string;
    policies: string[];
    ttl?: number;
    maxTtl?: number;
    renewable?: boolean;
    period?: number;
    path?: string;
    displayName?: string;
    meta?: Record<string, string> | null;
    parent?: string | null;
    orphan?: boolean;
    id?: string;
    noDefaultPolicy?: boolean;
  }): Token {
    const now = Date.now();
    const isRoot = opts.policies.includes("root");
    let creationTtl: number;
    let expireAt: number | null;
    let maxExpireAt: number | null;
    if (isRoot && !opts.ttl && !opts.period) {
      [creationTtl, expireAt, maxExpireAt] = [0, null, null];
    } else if (opts.period) {
      [creationTtl, expireAt, maxExpireAt] = [
        opts.period,
        now + opts.period * 1000,
        opts.maxTtl ? now + opts.maxTtl * 1000 : null,
      ];
    } else {
      const maxTtl = opts.maxTtl && opts.maxTtl > 0 ? Math.min(opts.maxTtl, SYSTEM_MAX_TTL) : SYSTEM_MAX_TTL;
      creationTtl = Math.min(opts.ttl && opts.ttl > 0 ? opts.ttl : SYSTEM_MAX_TTL, maxTtl);
      [expireAt, maxExpireAt] = [now + creationTtl * 1000, now + maxTtl * 1000];
    }
    const policies = [...new Set([...(opts.noDefaultPolicy || isRoot ? [] : ["default"]), ...opts.policies])].sort();
    const token: Token = {
      id: opts.id ?? newId(),
      accessor: newId(""),
      namespace: normalizeNamespace(opts.namespace ?? ""),
      policies,
      path: opts.path ?? "auth/token/create",
      displayName: opts.displayName ?? "token",
      meta: opts.meta ?? null,
      createdAt: now,
      creationTtl,
      expireAt,
      maxExpireAt,
      renewable: opts.renewable ?? !(isRoot && creationTtl === 0),
      period: opts.period ?? 0,
      orphan: opts.orphan ?? opts.parent == null,
      parent: opts.orphan ? null : (opts.parent ?? null),
      numUses: 0,
      entityId: "",
    };
    this.tokens.set(token.id, token);
    this.issued.push(token.id);
    return token;
  }

  /** The token if it exists and has not expired; expired tokens are revoked on sight, as Vault's expiration manager does. */
  liveToken(id: string | undefined): Token | undefined {
    if (!id) return undefined;
    const t = this.tokens.get(id);
    if (!t) return undefined;
    if (t.expireAt !== null && Date.now() >= t.expireAt) {
      this.revokeToken(t.id);
      return undefined;
    }
    return t;
  }

  /** Revokes a token and, unless they are orphans, its children. */
  revokeToken(id: string): void {
    if (!this.tokens.delete(id)) return;
    for (const child of [...this.tokens.values()]) if (child.parent === id) this.revokeToken(child.id);
  }
}

export function normalizeNamespace(path: string): string {
  const trimmed = path.replace(/^\/+|\/+$/g, "");
  return trimmed === "" || trimmed === "root" ? "" : `${trimmed}/`;
}

export function mountPath(path: string): string {
  return `${path.replace(/^\/+|\/+$/g, "")}/`;
}

function newSecretsMount(path: string, type: string, version: 1 | 2): SecretsMount {
  return {
    path,
    type,
    version,
    description: "",
    accessor: `${type}_${randomBytes(4).toString("hex")}`,
    uuid: randomUUID(),
    maxVersions: 0,
    v1: new Map(),
    v2: new Map(),
  };
}

function newAuthMount(path: string, type: string): AuthMount {
  return {
    path,
    type,
    accessor: `auth_${type}_${randomBytes(4).toString("hex")}`,
    description: "",
    appRoles: new Map(),
    kubeRoles: new Map(),
    kubeConfig: {},
  };
}
