/** Auth methods of the Vault test server: the token store, AppRole and Kubernetes, per Vault's API reference. */
import { randomUUID } from "node:crypto";
import {
  durationSeconds,
  errors,
  noContent,
  ok,
  permissionDenied,
  rfc3339,
  stringList,
  type VaultRequest,
  type VaultResponse,
} from "./http.js";
import { reviewServiceAccountJwt } from "./jwt.js";
import { type AppRoleRole, type AuthMount, type Token, type VaultState } from "./state.js";

/** Remaining TTL in whole seconds, as Vault reports it (truncated). */
export function remainingTtl(t: Token): number {
  return t.expireAt === null ? 0 : Math.max(0, Math.floor((t.expireAt - Date.now()) / 1000));
}

export function tokenLookupData(t: Token): Record<string, unknown> {
  return {
    accessor: t.accessor,
    creation_time: Math.floor(t.createdAt / 1000),
    creation_ttl: t.creationTtl,
    display_name: t.displayName,
    entity_id: t.entityId,
    expire_time: t.expireAt === null ? null : rfc3339(t.expireAt),
    explicit_max_ttl: 0,
    id: t.id,
    issue_time: rfc3339(t.createdAt),
    meta: t.meta,
    num_uses: t.numUses,
    orphan: t.orphan,
    path: t.path,
    period: t.period || undefined,
    policies: t.policies,
    renewable: t.renewable,
    ttl: remainingTtl(t),
    type: "service",
  };
}

/** The `auth` block of login and renew answers; `lease_duration` is the TTL granted. */
export function authBlock(t: Token, granted = remainingTtl(t)): Record<string, unknown> {
  return {
    client_token: t.id,
    accessor: t.accessor,
    policies: t.policies,
    token_policies: t.policies,
    metadata: t.meta,
    lease_duration: granted,
    renewable: t.renewable,
    entity_id: t.entityId,
    token_type: "service",
    orphan: t.orphan,
    mfa_requirement: null,
    num_uses: 0,
  };
}

function authResponse(t: Token, warnings: string[] = [], granted = t.creationTtl): VaultResponse {
  return { status: 200, body: { ...(ok(null, { warnings }).body as object), auth: authBlock(t, granted) } };
}

/** Renews a token as Vault does: by `increment` (or its original TTL), capped by its max TTL. */
export function renewToken(t: Token, increment: number): VaultResponse {
  if (!t.renewable) return errors(400, "lease is not renewable");
  const now = Date.now();
  let ttl = t.period || increment || t.creationTtl;
  const warnings: string[] = [];
  if (t.maxExpireAt !== null) {
    const maxLeft = Math.max(0, Math.floor((t.maxExpireAt - now) / 1000));
    if (ttl > maxLeft) {
      warnings.push(
        `TTL of "${ttl}s" exceeded the effective max_ttl of "${maxLeft}s"; TTL value is capped accordingly`,
      );
      ttl = maxLeft;
    }
  }
  t.expireAt = now + ttl * 1000;
  return authResponse(t, warnings, ttl);
}

/** `auth/token/*`. */
export function handleTokenStore(req: VaultRequest, rest: string): VaultResponse {
  const { state } = req;
  const self = req.token as Token;
  const bodyToken = () => state.liveToken(typeof req.body.token === "string" ? req.body.token : undefined);
  switch (rest) {
    case "create":
    case "create-orphan": {
      if (req.op !== "write") return errors(405, "unsupported operation");
      const b = req.body;
      let policies = stringList(b.policies);
      if (policies.length === 0) policies = self.policies.filter((p) => p !== "default");
      if (!self.policies.includes("root") && policies.some((p) => !self.policies.includes(p))) {
        return errors(400, "child policies must be subset of parent");
      }
      const t = state.issueToken({
        namespace: req.ns.path,
        policies,
        ttl: durationSeconds(b.ttl, "ttl") || undefined,
        maxTtl: durationSeconds(b.explicit_max_ttl, "explicit_max_ttl"),
        renewable: b.renewable === undefined ? true : Boolean(b.renewable),
        period: durationSeconds(b.period, "period"),
        displayName: `token${b.display_name ? `-${String(b.display_name)}` : ""}`,
        meta: (b.meta as Record<string, string> | undefined) ?? null,
        parent: rest === "create-orphan" || b.no_parent ? null : self.id,
        orphan: rest === "create-orphan" || Boolean(b.no_parent),
        noDefaultPolicy: Boolean(b.no_default_policy),
        id: typeof b.id === "string" && b.id !== "" ? b.id : undefined,
        path: rest === "create" ? "auth/token/create" : "auth/token/create-orphan",
      });
      return authResponse(t);
    }
    case "lookup-self":
      return ok(tokenLookupData(self));
    case "lookup": {
      const t = bodyToken() ?? state.liveToken(req.query.get("token") ?? undefined);
      return t ? ok(tokenLookupData(t)) : errors(403, "bad token");
    }
    case "renew-self":
      return renewToken(self, durationSeconds(req.body.increment, "increment"));
    case "renew": {
      const t = bodyToken();
      return t ? renewToken(t, durationSeconds(req.body.increment, "increment")) : errors(400, "invalid token");
    }
    case "revoke-self":
      state.revokeToken(self.id);
      return noContent();
    case "revoke": {
      const t = bodyToken();
      if (t) state.revokeToken(t.id);
      return noContent();
    }
    default:
      return errors(405, "unsupported path");
  }
}

function loginToken(
  state: VaultState,
  req: VaultRequest,
  mount: AuthMount,
  role: { tokenTtl: number; tokenMaxTtl: number; tokenPolicies: string[] },
  meta: Record<string, string>,
  period = 0,
): Token {
  return state.issueToken({
    namespace: req.ns.path,
    policies: role.tokenPolicies,
    ttl: role.tokenTtl || undefined,
    maxTtl: role.tokenMaxTtl || undefined,
    period: period || undefined,
    renewable: true,
    path: `auth/${mount.path}login`,
    displayName: `${mount.type}${meta.role_name ? `-${meta.role_name}` : ""}`,
    meta,
    orphan: true,
  });
}

/** `auth/<approle mount>/*`. */
export function handleAppRole(req: VaultRequest, mount: AuthMount, rest: string): VaultResponse {
  const { state } = req;
  if (rest === "login") {
    if (req.op !== "write") return errors(405, "unsupported operation");
    const roleId = typeof req.body.role_id === "string" ? req.body.role_id : "";
    const secretId = typeof req.body.secret_id === "string" ? req.body.secret_id : "";
    if (roleId === "") return errors(400, "missing role_id");
    const role = [...mount.appRoles.values()].find((r) => r.roleId === roleId);
    if (!role) return errors(400, "invalid role or secret ID");
    if (role.bindSecretId) {
      if (secretId === "") return errors(400, "missing secret_id");
      const sid = role.secretIds.get(secretId);
      if (!sid || (sid.expireAt !== null && sid.expireAt <= Date.now()))
        return errors(400, "invalid role or secret ID");
      if (sid.usesLeft !== null) {
        sid.usesLeft -= 1;
        if (sid.usesLeft <= 0) role.secretIds.delete(secretId);
      }
    }
    return authResponse(loginToken(state, req, mount, role, { role_name: role.name }, role.tokenPeriod));
  }
  if (req.token === undefined) return permissionDenied();
  if (rest === "role" && req.op === "list") {
    return mount.appRoles.size ? ok({ keys: [...mount.appRoles.keys()].sort() }) : errors(404);
  }
  const m = /^role\/([^/]+)(?:\/(role-id|secret-id|custom-secret-id))?$/.exec(rest);
  if (!m) return errors(405, "unsupported path");
  const name = m[1] as string;
  const sub = m[2];
  let role = mount.appRoles.get(name);
  if (sub === undefined) {
    if (req.op === "read") return role ? ok(appRoleData(role)) : errors(404);
    if (req.op === "delete") {
      mount.appRoles.delete(name);
      return noContent();
    }
    if (req.op !== "write") return errors(405, "unsupported operation");
    const b = req.body;
    role ??= {
      name,
      roleId: randomUUID(),
      bindSecretId: true,
      secretIdTtl: 0,
      secretIdNumUses: 0,
      tokenTtl: 0,
      tokenMaxTtl: 0,
      tokenPolicies: [],
      tokenPeriod: 0,
      secretIds: new Map(),
    };
    if (b.bind_secret_id !== undefined) role.bindSecretId = b.bind_secret_id === true || b.bind_secret_id === "true";
    if (b.secret_id_ttl !== undefined) role.secretIdTtl = durationSeconds(b.secret_id_ttl, "secret_id_ttl");
    if (b.secret_id_num_uses !== undefined) role.secretIdNumUses = Number(b.secret_id_num_uses);
    if (b.token_ttl !== undefined) role.tokenTtl = durationSeconds(b.token_ttl, "token_ttl");
    if (b.token_max_ttl !== undefined) role.tokenMaxTtl = durationSeconds(b.token_max_ttl, "token_max_ttl");
    if (b.token_period !== undefined || b.period !== undefined)
      role.tokenPeriod = durationSeconds(b.token_period ?? b.period, "token_period");
    if (b.token_policies !== undefined || b.policies !== undefined)
      role.tokenPolicies = stringList(b.token_policies ?? b.policies);
    mount.appRoles.set(name, role);
    return noContent();
  }
  if (!role) return errors(400, `role "${name}" does not exist`);
  if (sub === "role-id") {
    if (req.op === "read") return ok({ role_id: role.roleId });
    if (req.op === "write" && typeof req.body.role_id === "string") {
      role.roleId = req.body.role_id;
      return noContent();
    }
    return errors(400, "missing role_id");
  }
  if (req.op === "list" && sub === "secret-id") {
    const keys = [...role.secretIds.values()].map((s) => s.accessor);
    return keys.length ? ok({ keys }) : errors(404);
  }
  if (req.op !== "write") return errors(405, "unsupported operation");
  const secretId = sub === "custom-secret-id" ? String(req.body.secret_id ?? "") : randomUUID();
  if (secretId === "") return errors(400, "missing secret_id");
  const ttl = role.secretIdTtl;
  const accessor = randomUUID();
  role.secretIds.set(secretId, {
    accessor,
    expireAt: ttl ? Date.now() + ttl * 1000 : null,
    usesLeft: role.secretIdNumUses || null,
    metadata:
      typeof req.body.metadata === "string" && req.body.metadata
        ? (JSON.parse(req.body.metadata) as Record<string, string>)
        : {},
  });
  return ok({
    secret_id: secretId,
    secret_id_accessor: accessor,
    secret_id_ttl: ttl,
    secret_id_num_uses: role.secretIdNumUses,
  });
}

function appRoleData(r: AppRoleRole): Record<string, unknown> {
  return {
    bind_secret_id: r.bindSecretId,
    secret_id_num_uses: r.secretIdNumUses,
    secret_id_ttl: r.secretIdTtl,
    token_ttl: r.tokenTtl,
    token_max_ttl: r.tokenMaxTtl,
    token_policies: r.tokenPolicies,
    policies: r.tokenPolicies,
    token_period: r.tokenPeriod,
    period: r.tokenPeriod,
    token_type: "default",
  };
}

/** `auth/<kubernetes mount>/*`. */
export function handleKubernetes(req: VaultRequest, mount: AuthMount, rest: string): VaultResponse {
  const { state } = req;
  if (rest === "login") {
    if (req.op !== "write") return errors(405, "unsupported operation");
    const roleName = typeof req.body.role === "string" ? req.body.role : "";
    const jwt = typeof req.body.jwt === "string" ? req.body.jwt : "";
    if (roleName === "") return errors(400, "missing role");
    if (jwt === "") return errors(400, "missing jwt");
    const role = mount.kubeRoles.get(roleName);
    if (!role) return errors(400, `invalid role name "${roleName}"`);
    const sa = reviewServiceAccountJwt(state.kubernetesSigningKey, jwt);
    if (!sa) return permissionDenied();
    if (!role.boundNames.includes("*") && !role.boundNames.includes(sa.name))
      return errors(403, "service account name not authorized");
    if (!role.boundNamespaces.includes("*") && !role.boundNamespaces.includes(sa.namespace))
      return errors(403, "namespace not authorized");
    return authResponse(
      loginToken(state, req, mount, role, {
        role: roleName,
        service_account_name: sa.name,
        service_account_namespace: sa.namespace,
        service_account_uid: sa.uid,
        service_account_secret_name: "",
      }),
    );
  }
  if (req.token === undefined) return permissionDenied();
  if (rest === "config") {
    if (req.op === "read") return ok(mount.kubeConfig);
    if (req.op !== "write") return errors(405, "unsupported operation");
    mount.kubeConfig = { ...req.body };
    delete mount.kubeConfig.token_reviewer_jwt;
    return noContent();
  }
  if (rest === "role" && req.op === "list")
    return mount.kubeRoles.size ? ok({ keys: [...mount.kubeRoles.keys()].sort() }) : errors(404);
  const m = /^role\/([^/]+)$/.exec(rest);
  if (!m) return errors(405, "unsupported path");
  const name = m[1] as string;
  const role = mount.kubeRoles.get(name);
  if (req.op === "read") {
    if (!role) return errors(404);
    return ok({
      bound_service_account_names: role.boundNames,
      bound_service_account_namespaces: role.boundNamespaces,
      token_ttl: role.tokenTtl,
      token_max_ttl: role.tokenMaxTtl,
      token_policies: role.tokenPolicies,
      policies: role.tokenPolicies,
      audience: role.audience,
    });
  }
  if (req.op === "delete") {
    mount.kubeRoles.delete(name);
    return noContent();
  }
  if (req.op !== "write") return errors(405, "unsupported operation");
  const b = req.body;
  const boundNames = stringList(b.bound_service_account_names);
  const boundNamespaces = stringList(b.bound_service_account_namespaces);
  if (!role && (boundNames.length === 0 || boundNamespaces.length === 0)) {
    return errors(400, '"bound_service_account_names" can not be empty');
  }
  mount.kubeRoles.set(name, {
    name,
    boundNames: boundNames.length ? boundNames : (role?.boundNames ?? []),
    boundNamespaces: boundNamespaces.length ? boundNamespaces : (role?.boundNamespaces ?? []),
    tokenTtl:
      b.token_ttl !== undefined || b.ttl !== undefined
        ? durationSeconds(b.token_ttl ?? b.ttl, "token_ttl")
        : (role?.tokenTtl ?? 0),
    tokenMaxTtl:
      b.token_max_ttl !== undefined || b.max_ttl !== undefined
        ? durationSeconds(b.token_max_ttl ?? b.max_ttl, "token_max_ttl")
        : (role?.tokenMaxTtl ?? 0),
    tokenPolicies:
      b.token_policies !== undefined || b.policies !== undefined
        ? stringList(b.token_policies ?? b.policies)
        : (role?.tokenPolicies ?? []),
    audience: typeof b.audience === "string" ? b.audience : (role?.audience ?? ""),
  });
  return noContent();
}
