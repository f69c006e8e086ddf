/**
 * A Key Vault secrets endpoint over HTTPS, following the Key Vault REST reference: get secret (latest or a version),
 * list secrets and versions (`maxresults` 1-25, `nextLink` paging with `$skiptoken`), set secret, update secret
 * attributes; the bearer challenge (401 + `WWW-Authenticate: Bearer authorization="...", resource="..."`), token
 * validation, access policies (403), disabled secrets (403 "Operation get is not allowed on a disabled secret."),
 * 404 SecretNotFound, 429 with Retry-After, and `{"error":{"code","message"}}` bodies throughout.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import { closeServer, listen, readBody, sendJson } from "./http.js";
import type { Directory, Principal } from "./directory.js";

export const API_VERSIONS = ["7.0", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6", "2025-07-01"];
const LATEST = "2025-07-01";
const NAME = /^[0-9a-zA-Z-]{1,127}$/;

export type Permission = "get" | "list" | "set";

interface SecretVersion {
  version: string;
  value: string;
  enabled: boolean;
  contentType?: string;
  tags?: Record<string, string>;
  created: number;
  updated: number;
  nbf?: number;
  exp?: number;
}

export interface KeyVaultServerOptions {
  directory: Directory;
  tls: { cert: string; key: string };
  /** The challenge's resource; Key Vault in the public cloud says https://vault.azure.net. */
  resource?: string;
  /** Name used in messages, as a real vault's name would be. */
  vaultName?: string;
}

export interface KeyVaultServer {
  url: string;
  resource: string;
  /** Seeds a new version (becomes the latest); returns its version id. */
  setSecret(
    name: string,
    value: string,
    opts?: { enabled?: boolean; contentType?: string; tags?: Record<string, string> },
  ): string;
  /** Enables or disables one version (the latest by default). */
  setEnabled(name: string, enabled: boolean, version?: string): void;
  deleteSecret(name: string): void;
  grant(principal: Principal | string, permissions: Permission[]): void;
  revoke(principal: Principal | string): void;
  /** The next `count` authenticated requests answer 429 with this Retry-After header value. */
  throttle(count: number, retryAfter?: string): void;
  /** Every request; `objectId` is the caller's when its token was valid. */
  requests: {
    method: string;
    path: string;
    query: Record<string, string>;
    status: number;
    authenticated: boolean;
    objectId?: string;
  }[];
  close(): Promise<void>;
}

function kvError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, { error: { code, message, ...extra } }, { "x-ms-request-id": randomUUID(), ...headers });
}

function epoch(ms: number): number {
  return Math.floor(ms / 1000);
}

export async function startKeyVaultServer(opts: KeyVaultServerOptions): Promise<KeyVaultServer> {
  const { directory } = opts;
  const resource = opts.resource ?? "https://vault.azure.net";
  const vaultName = opts.vaultName ?? "keyward-test";
  // Key Vault object names are case-insensitive; ids keep the name as first written.
  const store = new Map<string, { name: string; versions: SecretVersion[] }>();
  const secrets = {
    get: (name: string) => store.get(name.toLowerCase())?.versions,
    set: (name: string, versions: SecretVersion[]) =>
      store.set(name.toLowerCase(), { name: store.get(name.toLowerCase())?.name ?? name, versions }),
    keys: () => [...store.values()].map((e) => e.name),
    delete: (name: string) => store.delete(name.toLowerCase()),
    storedName: (name: string) => store.get(name.toLowerCase())?.name ?? name,
  };
  const policies = new Map<string, Set<Permission>>();
  const requests: KeyVaultServer["requests"] = [];
  let throttleLeft = 0;
  let throttleRetryAfter = "1";
  let clock = Date.now();
  const tick = () => (clock = Math.max(clock + 1, Date.now()));

  const challenge = `Bearer authorization="https://login.microsoftonline.com/${directory.tenantId}", resource="${resource}"`;

  const attributes = (v: SecretVersion) => ({
    enabled: v.enabled,
    ...(v.nbf !== undefined ? { nbf: v.nbf } : {}),
    ...(v.exp !== undefined ? { exp: v.exp } : {}),
    created: epoch(v.created),
    updated: epoch(v.updated),
    recoveryLevel: "Recoverable+Purgeable",
    recoverableDays: 90,
  });
  const latest = (name: string): SecretVersion | undefined => {
    const versions = secrets.get(name);
    return versions?.[versions.length - 1];
  };
  const bundle = (base: string, name: string, v: SecretVersion) => ({
    value: v.value,
    ...(v.contentType !== undefined ? { contentType: v.contentType } : {}),
    id: `${base}/secrets/${name}/${v.version}`,
    attributes: attributes(v),
    ...(v.tags ? { tags: v.tags } : {}),
  });
  const item = (id: string, v: SecretVersion) => ({
    id,
    attributes: attributes(v),
    ...(v.contentType !== undefined ? { contentType: v.contentType } : {}),
    ...(v.tags ? { tags: v.tags } : {}),
  });
  const notFound = (res: ServerResponse, id: string) =>
    kvError(
      res,
      404,
      "SecretNotFound",
      `A secret with (name/id) ${id} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
    );

  const setSecret: KeyVaultServer["setSecret"] = (name, value, o = {}) => {
    if (!NAME.test(name)) throw new Error(`invalid secret name ${name}`);
    const now = tick();
    const v: SecretVersion = {
      version: randomBytes(16).toString("hex"),
      value,
      enabled: o.enabled ?? true,
      created: now,
      updated: now,
      contentType: o.contentType,
      tags: o.tags,
    };
    secrets.set(name, [...(secrets.get(name) ?? []), v]);
    return v.version;
  };

  /** One page of `all`, with a nextLink when more remain. */
  const page = <T>(
    res: ServerResponse,
    base: string,
    path: string,
    all: T[],
    query: URLSearchParams,
    apiVersion: string,
  ): void => {
    const rawMax = query.get("maxresults");
    let max = 25;
    if (rawMax !== null) {
      max = Number(rawMax);
      if (!/^\d+$/.test(rawMax) || max < 1 || max > 25) {
        return kvError(res, 400, "BadParameter", "The value of parameter 'maxresults' should be between 1 and 25.");
      }
    }
    let offset = 0;
    const token = query.get("$skiptoken");
    if (token !== null) {
      try {
        offset = (JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { offset: number }).offset;
        if (!Number.isInteger(offset) || offset < 0) throw new Error("bad offset");
      } catch {
        return kvError(res, 400, "BadParameter", "The $skiptoken parameter is invalid.");
      }
    }
    const value = all.slice(offset, offset + max);
    const next = offset + max < all.length;
    const skip = Buffer.from(JSON.stringify({ offset: offset + max })).toString("base64url");
    sendJson(res, 200, {
      value,
      nextLink: next ? `${base}${path}?api-version=${apiVersion}&$skiptoken=${skip}&maxresults=${max}` : null,
    });
  };

  const allowed = (principal: Principal, perm: Permission): boolean => {
    const p = policies.get(principal.objectId);
    return Boolean(p?.has(perm));
  };

  const handle = async (
    req: IncomingMessage,
    res: ServerResponse,
    record: { authenticated: boolean; objectId?: string },
  ): Promise<void> => {
    const host = req.headers.host ?? "127.0.0.1";
    const base = `https://${host}`;
    const url = new URL(req.url ?? "/", base);
    const apiVersion = url.searchParams.get("api-version");
    const auth = req.headers.authorization;
    if (!auth) {
      return kvError(
        res,
        401,
        "Unauthorized",
        "AKV10000: Request is missing a Bearer or PoP token.",
        {},
        { "www-authenticate": challenge },
      );
    }
    const m = /^Bearer\s+(\S+)$/i.exec(auth);
    const validation = m ? directory.validateAccessToken(m[1] as string, resource) : undefined;
    if (!validation || !validation.ok) {
      const message =
        validation && !validation.ok ? validation.message : "AKV10000: Request is missing a Bearer or PoP token.";
      return kvError(res, 401, "Unauthorized", message, {}, { "www-authenticate": challenge });
    }
    record.authenticated = true;
    record.objectId = validation.principal.objectId;
    if (throttleLeft > 0) {
      throttleLeft--;
      return kvError(
        res,
        429,
        "Throttled",
        "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
        {},
        { "retry-after": throttleRetryAfter },
      );
    }
    if (apiVersion === null) return kvError(res, 400, "BadParameter", "The api-version query parameter is missing.");
    if (!API_VERSIONS.includes(apiVersion)) {
      return kvError(
        res,
        400,
        "BadParameter",
        `The specified version (${apiVersion}) is not recognized. Consider using the latest supported version (${LATEST}).`,
      );
    }
    const principal = validation.principal;
    const denied = (perm: Permission) =>
      kvError(
        res,
        403,
        "Forbidden",
        `The user, group or application 'appid=${principal.clientId};oid=${principal.objectId};iss=${directory.tokenIssuer}' does not have secrets ${perm} permission on key vault '${vaultName};location=westeurope'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`,
        { innererror: { code: "AccessDenied" } },
      );

    // "/secrets/name/" (empty version) is how the SDK asks for the latest version.
    const parts = url.pathname.replace(/^\/+/, "").split("/");
    if (parts[0] !== "secrets")
      return kvError(res, 404, "NotFound", `The requested resource ${url.pathname} was not found.`);

    if (parts.length === 1 || (parts.length === 2 && parts[1] === "")) {
      if (req.method !== "GET")
        return kvError(res, 405, "MethodNotAllowed", "The requested method is not allowed on this resource.");
      if (!allowed(principal, "list")) return denied("list");
      const names = secrets.keys().sort();
      const items = names.map((n) => item(`${base}/secrets/${n}`, latest(n) as SecretVersion));
      return page(res, base, "/secrets", items, url.searchParams, apiVersion);
    }
    const requested = decodeURIComponent(parts[1] ?? "");
    if (!NAME.test(requested))
      return kvError(res, 400, "BadParameter", `The request URI contains an invalid name: ${requested}`);
    const name = secrets.storedName(requested);
    const sub = parts.slice(2);

    if (sub.length === 1 && sub[0] === "versions") {
      if (req.method !== "GET")
        return kvError(res, 405, "MethodNotAllowed", "The requested method is not allowed on this resource.");
      if (!allowed(principal, "list")) return denied("list");
      const versions = secrets.get(name);
      if (!versions) return notFound(res, name);
      const items = [...versions]
        .sort((a, b) => a.version.localeCompare(b.version))
        .map((v) => item(`${base}/secrets/${name}/${v.version}`, v));
      return page(res, base, `/secrets/${name}/versions`, items, url.searchParams, apiVersion);
    }

    if (req.method === "PUT" && sub.length === 0) {
      if (!allowed(principal, "set")) return denied("set");
      let body: {
        value?: unknown;
        contentType?: string;
        tags?: Record<string, string>;
        attributes?: { enabled?: boolean };
      };
      try {
        body = JSON.parse(await readBody(req)) as typeof body;
      } catch {
        return kvError(res, 400, "BadParameter", "The request body is not valid JSON.");
      }
      if (typeof body.value !== "string") return kvError(res, 400, "BadParameter", "Property value is required.");
      const version = setSecret(name, body.value, {
        enabled: body.attributes?.enabled,
        contentType: body.contentType,
        tags: body.tags,
      });
      const v = latest(name) as SecretVersion;
      if (v.version !== version) throw new Error("lost write");
      return sendJson(res, 200, bundle(base, name, v));
    }

    if (sub.length > 1) return kvError(res, 404, "NotFound", `The requested resource ${url.pathname} was not found.`);
    const versionId = sub[0] ?? "";
    const versions = secrets.get(name);
    const target = versionId === "" ? latest(name) : versions?.find((v) => v.version === versionId);

    if (req.method === "PATCH") {
      if (!allowed(principal, "set")) return denied("set");
      if (!target) return notFound(res, versionId ? `${name}/${versionId}` : name);
      let body: { contentType?: string; tags?: Record<string, string>; attributes?: { enabled?: boolean } };
      try {
        body = JSON.parse((await readBody(req)) || "{}") as typeof body;
      } catch {
        return kvError(res, 400, "BadParameter", "The request body is not valid JSON.");
      }
      if (body.attributes?.enabled !== undefined) target.enabled = body.attributes.enabled;
      if (body.contentType !== undefined) target.contentType = body.contentType;
      if (body.tags !== undefined) target.tags = body.tags;
      target.updated = tick();
      const { value: _value, ...withoutValue } = bundle(base, name, target);
      return sendJson(res, 200, withoutValue);
    }
    if (req.method !== "GET")
      return kvError(res, 405, "MethodNotAllowed", "The requested method is not allowed on this resource.");
    if (!allowed(principal, "get")) return denied("get");
    if (!target) return notFound(res, versionId ? `${name}/${versionId}` : name);
    if (!target.enabled) {
      return kvError(res, 403, "Forbidden", "Operation get is not allowed on a disabled secret.", {
        innererror: { code: "SecretDisabled" },
      });
    }
    return sendJson(res, 200, bundle(base, name, target), { "x-ms-keyvault-service-version": "1.9.2767.1" });
  };

  const server: Server = createServer({ cert: opts.tls.cert, key: opts.tls.key }, (req, res) => {
    const record: { authenticated: boolean; objectId?: string } = { authenticated: false };
    res.on("finish", () => {
      const url = new URL(req.url ?? "/", "https://127.0.0.1");
      requests.push({
        method: req.method ?? "",
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        status: res.statusCode,
        authenticated: record.authenticated,
        objectId: record.objectId,
      });
    });
    handle(req, res, record).catch((err: unknown) => kvError(res, 500, "InternalServerError", String(err)));
  });
  const port = await listen(server);
  return {
    url: `https://127.0.0.1:${port}`,
    resource,
    setSecret,
    setEnabled(name, enabled, version) {
      const versions = secrets.get(name) ?? [];
      const v = version ? versions.find((x) => x.version === version) : versions[versions.length - 1];
      if (!v) throw new Error(`no secret ${name}`);
      v.enabled = enabled;
      v.updated = tick();
    },
    deleteSecret(name) {
      secrets.delete(name);
    },
    grant(principal, permissions) {
      const id = typeof principal === "string" ? principal : principal.objectId;
      policies.set(id, new Set([...(policies.get(id) ?? []), ...permissions]));
    },
    revoke(principal) {
      policies.delete(typeof principal === "string" ? principal : principal.objectId);
    },
    throttle(count, retryAfter = "1") {
      throttleLeft = count;
      throttleRetryAfter = retryAfter;
    },
    requests,
    close: () => closeServer(server),
  };
}
