/** @module Vault's KV secrets engine, versions 1 and 2: which one a mount is, reads with versions, and recursive listing. */
import { mapLimit } from "../shared/concurrency.js";
import { SecretStoreError, type StoreLogger } from "../types.js";
import { encodePath } from "./auth.js";
import type { VaultConfig } from "./config.js";
import { responseError, type VaultHttp } from "./http.js";
import type { TokenLifecycle } from "./token-lifecycle.js";

/** daprd's text for a missing secret or version; Keyward adds which of the two it was. */
const DAPR_NOT_FOUND = "failed secret key or version not exist";
const LIST_CONCURRENCY = 8;

interface V2Metadata {
  version?: number;
  deletion_time?: string;
  destroyed?: boolean;
}

export class KvEngine {
  private detected: 1 | 2 | undefined;

  constructor(
    private readonly cfg: VaultConfig,
    private readonly http: VaultHttp,
    private readonly tokens: TokenLifecycle,
    private readonly log: StoreLogger,
  ) {}

  /** The mount's KV version: configured, or asked of Vault once (`sys/internal/ui/mounts/<path>`, as Vault's CLI does). */
  async version(signal?: AbortSignal, what?: string): Promise<1 | 2> {
    if (this.cfg.kvVersion !== "auto") return this.cfg.kvVersion;
    if (this.detected) return this.detected;
    const engine = this.cfg.enginePath;
    const asking = `${what ? `${what} (` : ""}asking which KV version mount ${engine}/ is${what ? ")" : ""}`;
    // Sent without the 403 recovery of ordinary requests: whatever goes wrong here, the read that follows
    // meets it again and reports it in its own words.
    const res = await this.http.request("GET", `sys/internal/ui/mounts/${encodePath(engine)}`, {
      token: await this.tokens.current(signal),
      signal,
      what: asking,
    });
    if (res.status === 200) {
      const d =
        (res.body as { data?: { type?: string; options?: { version?: string } | null; path?: string } }).data ?? {};
      this.detected = d.type === "kv" && String(d.options?.version ?? "1") === "2" ? 2 : 1;
      this.log.info("vault KV mount detected", {
        mount: d.path ?? `${engine}/`,
        type: d.type,
        kvVersion: this.detected,
      });
      if (d.type !== "kv" && d.type !== "generic")
        this.log.warn("vault mount is not a KV secrets engine", { mount: `${engine}/`, type: d.type });
      return this.detected;
    }
    if (res.status === 400 || res.status === 404 || res.status === 405) {
      // An old Vault, or a server without this endpoint: daprd's KV v2, for good.
      this.detected = 2;
      this.log.warn("vault did not say which KV version the mount is; assuming version 2", {
        mount: `${engine}/`,
        status: res.status,
      });
    }
    // 403 (no access to the mount's metadata, or a bad token), 503 (sealed) and others: KV v2 for now, ask again later.
    return 2;
  }

  private secretPath(name: string): string {
    return this.cfg.prefix ? `${this.cfg.prefix}/${name}` : name;
  }

  /** The secret's key/value data. `versionId` "0" or undefined means the latest version. */
  async read(name: string, versionId: string | undefined, signal?: AbortSignal): Promise<Record<string, unknown>> {
    const kv = await this.version(signal, `reading secret ${JSON.stringify(name)}`);
    const rel = this.secretPath(name);
    const engine = this.cfg.enginePath;
    const shown = kv === 2 ? `${engine}/data/${rel}` : `${engine}/${rel}`;
    const what = `reading secret ${JSON.stringify(name)} at ${shown}`;
    const latest = versionId === undefined || versionId === "0";
    if (kv === 1 && !latest) {
      throw new SecretStoreError(
        "invalid_request",
        `secret ${JSON.stringify(name)}: version_id ${versionId} asked of ${engine}/, a KV version 1 mount, which keeps no versions`,
      );
    }
    const query: Record<string, string> = kv === 2 && !latest ? { version: versionId as string } : {};
    const res = await this.tokens.send(
      "GET",
      kv === 2 ? `${encodePath(engine)}/data/${encodePath(rel)}` : `${encodePath(engine)}/${encodePath(rel)}`,
      { query, signal, what },
    );
    if (res.status === 200) {
      const data = (res.body as { data?: unknown }).data;
      const inner = kv === 2 ? (data as { data?: unknown } | null)?.data : data;
      if (inner && typeof inner === "object" && !Array.isArray(inner)) return inner as Record<string, unknown>;
      throw notFound(name, `secret ${name} has no data at ${shown}`);
    }
    if (res.status !== 404) throw responseError(this.http.address, res, what);
    if (kv === 1) throw notFound(name, `no secret ${name} at ${shown}`);

    const meta = ((res.body as { data?: { metadata?: V2Metadata } } | null)?.data?.metadata ?? undefined) as
      V2Metadata | undefined;
    if (meta && typeof meta === "object") {
      const which = latest
        ? `the latest version (${meta.version}) of secret ${name}`
        : `version ${meta.version ?? versionId} of secret ${name}`;
      if (meta.destroyed) throw notFound(name, `${which} was destroyed`);
      throw notFound(name, `${which} was deleted${meta.deletion_time ? ` at ${meta.deletion_time}` : ""}`);
    }
    if (latest) throw notFound(name, `no secret ${name} at ${shown}`);
    // A missing version and a missing secret look the same; the metadata tells them apart.
    const current = await this.currentVersion(rel, signal);
    if (current === undefined) throw notFound(name, `no secret ${name} at ${shown}`);
    if (current === "unknown") throw notFound(name, `version ${versionId} of secret ${name} not found at ${shown}`);
    throw notFound(name, `version ${versionId} of secret ${name} does not exist (current version is ${current})`);
  }

  private async currentVersion(rel: string, signal?: AbortSignal): Promise<number | undefined | "unknown"> {
    try {
      const res = await this.tokens.send("GET", `${encodePath(this.cfg.enginePath)}/metadata/${encodePath(rel)}`, {
        signal,
        what: "reading secret metadata",
      });
      if (res.status === 404) return undefined;
      const v = (res.body as { data?: { current_version?: unknown } }).data?.current_version;
      return res.status === 200 && typeof v === "number" ? v : "unknown";
    } catch {
      return "unknown";
    }
  }

  /**
   * KV v2: the secret's current version from its metadata (one GET), marked when that version is deleted
   * or destroyed; undefined for a KV v1 mount, which keeps no versions.
   */
  async currentVersionOf(name: string, signal?: AbortSignal): Promise<string | undefined> {
    if ((await this.version(signal, `reading the version of ${JSON.stringify(name)}`)) === 1) return undefined;
    const rel = this.secretPath(name);
    const shown = `${this.cfg.enginePath}/metadata/${rel}`;
    const what = `reading the metadata of secret ${JSON.stringify(name)} at ${shown}`;
    const res = await this.tokens.send("GET", `${encodePath(this.cfg.enginePath)}/metadata/${encodePath(rel)}`, {
      signal,
      what,
    });
    if (res.status === 404) throw notFound(name, `no secret ${name} at ${shown}`);
    if (res.status !== 200) throw responseError(this.http.address, res, what);
    const data = (res.body as { data?: { current_version?: unknown; versions?: Record<string, V2Metadata> } }).data;
    const current = data?.current_version;
    if (typeof current !== "number") throw notFound(name, `secret ${name} has no version at ${shown}`);
    const meta = data?.versions?.[String(current)];
    return meta?.destroyed || meta?.deletion_time ? `${current}-deleted` : String(current);
  }

  /** Every secret name below the prefix, folders included in the name (`folder/secret`), as daprd's recursive LIST. */
  async listNames(signal?: AbortSignal): Promise<string[]> {
    const kv = await this.version(signal, "listing secrets");
    const engine = this.cfg.enginePath;
    const base = this.cfg.prefix ? `${this.cfg.prefix}/` : "";
    const names: string[] = [];
    let pending: string[] = [""];
    const listOne = async (folder: string): Promise<string[]> => {
      const rel = `${base}${folder}`;
      const shown = kv === 2 ? `${engine}/metadata/${rel}` : `${engine}/${rel}`;
      const path =
        kv === 2 ? `${encodePath(engine)}/metadata/${encodePath(rel)}` : `${encodePath(engine)}/${encodePath(rel)}`;
      const res = await this.tokens.send("GET", path, {
        query: { list: "true" },
        signal,
        what: `listing secrets under ${shown}`,
      });
      if (res.status === 404) return [];
      if (res.status !== 200) throw responseError(this.http.address, res, `listing secrets under ${shown}`);
      const keys = (res.body as { data?: { keys?: unknown } }).data?.keys;
      const folders: string[] = [];
      for (const k of Array.isArray(keys) ? keys : []) {
        if (typeof k !== "string" || k === "") continue;
        if (k.endsWith("/")) folders.push(`${folder}${k}`);
        else names.push(`${folder}${k}`);
      }
      return folders;
    };
    // One folder level at a time: each level's listings run side by side, and name the next level's folders.
    while (pending.length > 0) pending = (await mapLimit(pending, LIST_CONCURRENCY, listOne)).flat();
    return names.sort();
  }
}

function notFound(name: string, detail: string): SecretStoreError {
  return new SecretStoreError("not_found", `getSecret ${name} ${DAPR_NOT_FOUND}: ${detail}`);
}
