/** KV secrets engine of the Vault test server, versions 1 and 2, as Vault's API reference describes them. */
import { errors, noContent, ok, rfc3339, type VaultRequest, type VaultResponse } from "./http.js";
import type { KvV2Secret, KvVersion, SecretsMount } from "./state.js";

const DEFAULT_MAX_VERSIONS = 10;
const V2_WRONG_PATH =
  "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv get' for this operation.";

/** Writes a new version (KV v2) and returns its number; used by the API and by tests to seed data. */
export function kvV2Put(mount: SecretsMount, path: string, data: Record<string, unknown>, cas?: number): number {
  const now = rfc3339(Date.now());
  let s = mount.v2.get(path);
  if (cas !== undefined && (s?.currentVersion ?? 0) !== cas) {
    throw new Error(`check-and-set parameter did not match the current version`);
  }
  if (!s) {
    s = {
      createdTime: now,
      updatedTime: now,
      currentVersion: 0,
      oldestVersion: 0,
      maxVersions: 0,
      casRequired: false,
      customMetadata: null,
      versions: new Map(),
    };
    mount.v2.set(path, s);
  }
  s.currentVersion += 1;
  s.updatedTime = now;
  s.versions.set(s.currentVersion, {
    data: structuredClone(data),
    createdTime: now,
    deletionTime: "",
    destroyed: false,
  });
  const max = s.maxVersions || mount.maxVersions || DEFAULT_MAX_VERSIONS;
  for (const v of [...s.versions.keys()].sort((a, b) => a - b)) {
    if (s.versions.size <= max) break;
    s.versions.delete(v);
  }
  s.oldestVersion = Math.min(...s.versions.keys());
  return s.currentVersion;
}

export function kvV1Put(mount: SecretsMount, path: string, data: Record<string, unknown>): void {
  mount.v1.set(path, structuredClone(data));
}

function versionMetadata(v: KvVersion, n: number, s: KvV2Secret): Record<string, unknown> {
  return {
    created_time: v.createdTime,
    custom_metadata: s.customMetadata,
    deletion_time: v.deletionTime,
    destroyed: v.destroyed,
    version: n,
  };
}

/** Lists the direct children of `prefix` among `keys`: leaves by name, folders with a trailing slash. */
function listChildren(keys: Iterable<string>, prefix: string): string[] {
  const out = new Set<string>();
  for (const k of keys) {
    if (!k.startsWith(prefix)) continue;
    const rest = k.slice(prefix.length);
    const slash = rest.indexOf("/");
    out.add(slash === -1 ? rest : rest.slice(0, slash + 1));
  }
  out.delete("");
  return [...out].sort();
}

function listResponse(keys: string[], mountType: string): VaultResponse {
  if (keys.length === 0) return errors(404);
  return ok({ keys }, { mountType });
}

function versionsArg(body: Record<string, unknown>): number[] | VaultResponse {
  const raw = body.versions;
  const list = Array.isArray(raw) ? raw : typeof raw === "string" ? raw.split(",") : raw === undefined ? [] : [raw];
  const nums = list.map((v) => Number(v));
  if (nums.length === 0 || nums.some((n) => !Number.isInteger(n))) return errors(400, "no version number provided");
  return nums;
}

export function handleKv(req: VaultRequest, mount: SecretsMount, rest: string): VaultResponse {
  return mount.version === 2 ? handleV2(req, mount, rest) : handleV1(req, mount, rest);
}

function handleV1(req: VaultRequest, mount: SecretsMount, rest: string): VaultResponse {
  if (req.op === "list") {
    const prefix = rest === "" || rest.endsWith("/") ? rest : `${rest}/`;
    return listResponse(listChildren(mount.v1.keys(), prefix), "kv");
  }
  if (rest === "") return errors(405, "unsupported operation");
  switch (req.op) {
    case "read": {
      const data = mount.v1.get(rest);
      if (!data) return errors(404);
      // KV v1 answers with a lease of the mount's default TTL (768h).
      return ok(structuredClone(data), { leaseDuration: 2_764_800, mountType: "kv" });
    }
    case "write":
      if (Object.keys(req.body).length === 0) return errors(400, "missing data fields");
      kvV1Put(mount, rest, req.body);
      return noContent();
    case "delete":
      mount.v1.delete(rest);
      return noContent();
    case "patch":
      return errors(405, "unsupported operation");
  }
}

function handleV2(req: VaultRequest, mount: SecretsMount, rest: string): VaultResponse {
  const slash = rest.indexOf("/");
  const area = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? "" : rest.slice(slash + 1);
  switch (area) {
    case "data":
      return v2Data(req, mount, path);
    case "metadata":
      return v2Metadata(req, mount, path);
    case "delete":
    case "undelete":
    case "destroy":
      return v2Versions(req, mount, area, path);
    case "config":
      if (req.op === "read")
        return ok(
          { cas_required: false, delete_version_after: "0s", max_versions: mount.maxVersions },
          { mountType: "kv" },
        );
      if (req.op === "write") {
        mount.maxVersions = Number(req.body.max_versions ?? mount.maxVersions);
        return noContent();
      }
      return errors(405, "unsupported operation");
    default:
      return { status: 404, body: { errors: [], warnings: [V2_WRONG_PATH] } };
  }
}

function v2Data(req: VaultRequest, mount: SecretsMount, path: string): VaultResponse {
  if (path === "") return errors(404);
  const s = mount.v2.get(path);
  switch (req.op) {
    case "read": {
      const raw = req.query.get("version");
      const wanted = raw === null || raw === "" ? 0 : Number(raw);
      if (!Number.isInteger(wanted))
        return errors(400, `error converting input ${raw} for field "version": cannot parse '' as int`);
      if (!s) return errors(404);
      const n = wanted === 0 ? s.currentVersion : wanted;
      const v = s.versions.get(n);
      if (!v) return errors(404);
      const metadata = versionMetadata(v, n, s);
      // A deleted or destroyed version still answers its metadata, with status 404 and null data.
      if (v.deletionTime !== "" || v.destroyed || v.data === null)
        return { status: 404, body: ok({ data: null, metadata }).body };
      return ok({ data: structuredClone(v.data), metadata }, { mountType: "kv" });
    }
    case "write":
    case "patch": {
      const data = req.body.data;
      if (typeof data !== "object" || data === null || Array.isArray(data)) return errors(400, "no data provided");
      const options = (req.body.options ?? {}) as { cas?: number };
      let next = data as Record<string, unknown>;
      if (req.op === "patch") {
        const cur = s?.versions.get(s.currentVersion);
        if (!s || !cur?.data) return errors(404);
        next = { ...cur.data, ...next };
        for (const [k, v] of Object.entries(next)) if (v === null) delete next[k];
      }
      if ((s?.casRequired ?? false) && options.cas === undefined)
        return errors(400, "check-and-set parameter required for this call");
      let version: number;
      try {
        version = kvV2Put(mount, path, next, options.cas);
      } catch (err) {
        return errors(400, (err as Error).message);
      }
      const written = mount.v2.get(path) as KvV2Secret;
      return ok(versionMetadata(written.versions.get(version) as KvVersion, version, written), { mountType: "kv" });
    }
    case "delete": {
      const cur = s?.versions.get(s.currentVersion);
      if (cur && cur.deletionTime === "") cur.deletionTime = rfc3339(Date.now());
      return noContent();
    }
    case "list":
      return errors(405, "unsupported operation");
  }
}

function v2Metadata(req: VaultRequest, mount: SecretsMount, path: string): VaultResponse {
  if (req.op === "list") {
    const prefix = path === "" || path.endsWith("/") ? path : `${path}/`;
    return listResponse(listChildren(mount.v2.keys(), prefix), "kv");
  }
  if (path === "") return errors(405, "unsupported operation");
  const s = mount.v2.get(path);
  switch (req.op) {
    case "read": {
      if (!s) return errors(404);
      const versions: Record<string, unknown> = {};
      for (const [n, v] of s.versions)
        versions[String(n)] = { created_time: v.createdTime, deletion_time: v.deletionTime, destroyed: v.destroyed };
      return ok(
        {
          cas_required: s.casRequired,
          created_time: s.createdTime,
          current_version: s.currentVersion,
          custom_metadata: s.customMetadata,
          delete_version_after: "0s",
          max_versions: s.maxVersions,
          oldest_version: s.oldestVersion,
          updated_time: s.updatedTime,
          versions,
        },
        { mountType: "kv" },
      );
    }
    case "write":
    case "patch": {
      const now = rfc3339(Date.now());
      const target = s ?? {
        createdTime: now,
        updatedTime: now,
        currentVersion: 0,
        oldestVersion: 0,
        maxVersions: 0,
        casRequired: false,
        customMetadata: null,
        versions: new Map(),
      };
      if (req.body.max_versions !== undefined) target.maxVersions = Number(req.body.max_versions);
      if (req.body.cas_required !== undefined) target.casRequired = Boolean(req.body.cas_required);
      if (req.body.custom_metadata !== undefined)
        target.customMetadata = req.body.custom_metadata as Record<string, string>;
      mount.v2.set(path, target);
      return noContent();
    }
    case "delete":
      mount.v2.delete(path);
      return noContent();
  }
}

function v2Versions(
  req: VaultRequest,
  mount: SecretsMount,
  action: "delete" | "undelete" | "destroy",
  path: string,
): VaultResponse {
  if (req.op !== "write") return errors(405, "unsupported operation");
  const nums = versionsArg(req.body);
  if (!Array.isArray(nums)) return nums;
  const s = mount.v2.get(path);
  if (!s) return noContent();
  for (const n of nums) {
    const v = s.versions.get(n);
    if (!v) continue;
    if (action === "delete" && v.deletionTime === "" && !v.destroyed) v.deletionTime = rfc3339(Date.now());
    if (action === "undelete" && !v.destroyed) v.deletionTime = "";
    if (action === "destroy") {
      v.destroyed = true;
      v.data = null;
    }
  }
  return noContent();
}
