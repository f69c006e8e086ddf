/** `sys/*` endpoints of the Vault test server: health, seal, mounts, auth methods, policies, namespaces. */
import { anyAccessBelow, formatPolicy, parsePolicy } from "./acl.js";
import { errors, noContent, ok, permissionDenied, type VaultRequest, type VaultResponse } from "./http.js";
import type { AuthMount, SecretsMount, VaultState } from "./state.js";

export const VAULT_VERSION = "1.17.2";

function sealStatus(state: VaultState): Record<string, unknown> {
  return {
    type: "shamir",
    initialized: true,
    sealed: state.sealed,
    t: 1,
    n: 1,
    progress: 0,
    nonce: "",
    version: VAULT_VERSION,
    build_date: "2024-07-05T15:19:12Z",
    migration: false,
    cluster_name: state.clusterName,
    cluster_id: state.clusterId,
    recovery_seal: false,
    storage_type: "inmem",
  };
}

/** Endpoints that answer without a token and while sealed. */
export function handleUnauthenticatedSys(req: VaultRequest): VaultResponse | undefined {
  const { state, path } = req;
  if (path === "sys/health") {
    const body = {
      initialized: true,
      sealed: state.sealed,
      standby: false,
      performance_standby: false,
      replication_performance_mode: "disabled",
      replication_dr_mode: "disabled",
      server_time_utc: Math.floor(Date.now() / 1000),
      version: VAULT_VERSION,
      cluster_name: state.clusterName,
      cluster_id: state.clusterId,
    };
    const code = state.sealed ? Number(req.query.get("sealedcode") ?? 503) : Number(req.query.get("activecode") ?? 200);
    return { status: code, body };
  }
  if (path === "sys/seal-status") return { status: 200, body: sealStatus(state) };
  if (path === "sys/unseal") {
    if (req.body.reset) return { status: 200, body: sealStatus(state) };
    if (req.body.key !== state.unsealKey) return errors(400, "Error unsealing: invalid key");
    state.sealed = false;
    return { status: 200, body: sealStatus(state) };
  }
  return undefined;
}

export function mountInfo(m: SecretsMount): Record<string, unknown> {
  return {
    accessor: m.accessor,
    config: { default_lease_ttl: 0, force_no_cache: false, max_lease_ttl: 0 },
    description: m.description,
    external_entropy_access: false,
    local: false,
    options: m.type === "kv" ? { version: String(m.version) } : null,
    plugin_version: "",
    running_plugin_version: `v0.18.0+builtin`,
    running_sha256: "",
    seal_wrap: false,
    type: m.type,
    uuid: m.uuid,
  };
}

function authInfo(a: AuthMount): Record<string, unknown> {
  return {
    accessor: a.accessor,
    config: { default_lease_ttl: 0, force_no_cache: false, max_lease_ttl: 0, token_type: "default-service" },
    description: a.description,
    external_entropy_access: false,
    local: false,
    options: null,
    plugin_version: "",
    running_plugin_version: "v1.17.2+builtin.vault",
    seal_wrap: false,
    type: a.type,
    uuid: a.accessor,
  };
}

/** Listings like `sys/mounts` carry their data both at the top level (legacy) and under `data`. */
function legacyListing(data: Record<string, unknown>): VaultResponse {
  const base = ok(data).body as Record<string, unknown>;
  return { status: 200, body: { ...data, ...base } };
}

function isRootish(req: VaultRequest): boolean {
  return req.token?.policies.includes("root") ?? false;
}

export function handleSys(req: VaultRequest): VaultResponse {
  const { state, ns } = req;
  const rest = req.path.slice("sys/".length);

  if (rest === "seal") {
    if (!isRootish(req)) return permissionDenied();
    state.sealed = true;
    return noContent();
  }

  if (rest === "internal/ui/mounts" || rest.startsWith("internal/ui/mounts/")) {
    const target = rest.slice("internal/ui/mounts".length).replace(/^\//, "");
    if (target === "") {
      const secret: Record<string, unknown> = {};
      const auth: Record<string, unknown> = {};
      for (const [p, m] of ns.mounts)
        if (req.token && anyAccessBelow(state, req.token, ns, p)) secret[p] = mountInfo(m);
      for (const [p, a] of ns.auths) auth[p] = authInfo(a);
      return ok({ secret, auth });
    }
    const mount = findMount(ns.mounts, target);
    const denied = errors(
      403,
      `preflight capability check returned 403, please ensure client's policies grant access to path "${target.endsWith("/") ? target : `${target}/`}"`,
    );
    if (!mount || !req.token || !anyAccessBelow(state, req.token, ns, mount.path)) return denied;
    return ok({ ...mountInfo(mount), path: mount.path });
  }

  if (rest === "mounts" && req.op === "read") {
    const data: Record<string, unknown> = {};
    for (const [p, m] of ns.mounts) data[p] = mountInfo(m);
    return legacyListing(data);
  }
  if (rest.startsWith("mounts/")) {
    const p = `${rest.slice("mounts/".length).replace(/\/+$/, "")}/`;
    if (req.op === "read") {
      const m = ns.mounts.get(p);
      return m ? ok(mountInfo(m)) : errors(400, `No secret engine mount at ${p}`);
    }
    if (req.op === "delete") {
      ns.mounts.delete(p);
      return noContent();
    }
    if (req.op !== "write") return errors(405, "unsupported operation");
    if (ns.mounts.has(p)) return errors(400, `path is already in use at ${p}`);
    const type = String(req.body.type ?? "");
    const options = (req.body.options ?? {}) as { version?: string | number };
    if (type === "kv-v2") state.mountSecrets(ns.path, p, "kv", 2);
    else if (type === "kv" || type === "generic")
      state.mountSecrets(ns.path, p, "kv", String(options.version ?? "1") === "2" ? 2 : 1);
    else return errors(400, `plugin not found in the catalog: ${type}`);
    return noContent();
  }

  if (rest === "auth" && req.op === "read") {
    const data: Record<string, unknown> = {};
    for (const [p, a] of ns.auths) data[p] = authInfo(a);
    return legacyListing(data);
  }
  if (rest.startsWith("auth/")) {
    const p = `${rest.slice("auth/".length).replace(/\/+$/, "")}/`;
    if (req.op === "delete") {
      ns.auths.delete(p);
      return noContent();
    }
    if (req.op !== "write") return errors(405, "unsupported operation");
    if (ns.auths.has(p)) return errors(400, `path is already in use at ${p}`);
    const type = String(req.body.type ?? "");
    if (!["approle", "kubernetes", "userpass"].includes(type))
      return errors(400, `plugin not found in the catalog: ${type}`);
    state.enableAuth(ns.path, p, type);
    return noContent();
  }

  const policy = /^(?:policy|policies\/acl)(?:\/(.+))?$/.exec(rest);
  if (policy) {
    const name = policy[1];
    if (name === undefined) {
      const keys = [...ns.policies.keys(), "root"].sort();
      return req.op === "read" || req.op === "list"
        ? legacyListing({ keys, policies: keys })
        : errors(405, "unsupported operation");
    }
    if (req.op === "read") {
      const rules = ns.policies.get(name);
      if (!rules) return errors(404);
      return legacyListing({ name, rules: formatPolicy(rules), policy: formatPolicy(rules) });
    }
    if (req.op === "delete") {
      ns.policies.delete(name);
      return noContent();
    }
    const text = String(req.body.policy ?? req.body.rules ?? "");
    try {
      ns.policies.set(name, parsePolicy(text));
    } catch (err) {
      return errors(400, (err as Error).message);
    }
    return noContent();
  }

  if (rest === "namespaces" && req.op === "list") {
    const keys = [...state.namespaces.keys()].filter(
      (p) => p !== ns.path && p.startsWith(ns.path) && !p.slice(ns.path.length, -1).includes("/"),
    );
    return keys.length ? ok({ keys: keys.map((k) => k.slice(ns.path.length)) }) : errors(404);
  }
  if (rest.startsWith("namespaces/")) {
    const full = `${ns.path}${rest.slice("namespaces/".length).replace(/\/+$/, "")}/`;
    if (req.op === "delete") {
      state.namespaces.delete(full);
      return noContent();
    }
    const existing = state.namespace(full);
    if (req.op === "read")
      return existing ? ok({ id: existing.id, path: existing.path, custom_metadata: {} }) : errors(404);
    const created = state.createNamespace(full);
    return ok({ id: created.id, path: created.path, custom_metadata: {} });
  }

  return errors(404, `no handler for route "${req.path}". route entry not found.`);
}

/** The mount that holds `path` (longest matching mount path). */
export function findMount<T extends { path: string }>(mounts: Map<string, T>, path: string): T | undefined {
  const p = path.endsWith("/") ? path : `${path}/`;
  let best: T | undefined;
  for (const [mp, m] of mounts) if (p.startsWith(mp) && (!best || mp.length > best.path.length)) best = m;
  return best;
}
