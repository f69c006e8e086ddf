/**
 * @module `secretstores.hashicorp.vault`: daprd's Vault store over Vault's HTTP API (KV v2 and v1, versions,
 * recursive bulk listing), plus namespaces, AppRole/Kubernetes login and token renewal.
 */
import { CONTROL_CHARACTER, invalidName } from "../names.js";
import {
  MULTIPLE_KEY_VALUES_PER_SECRET,
  SecretStoreError,
  type BulkGetSecretRequest,
  type BulkSecretData,
  type ComponentMetadata,
  type GetSecretRequest,
  type SecretData,
  type SecretStore,
  type SecretStoreDefinition,
  type SecretStoreFeature,
  type StoreContext,
  type StoreLogger,
} from "../types.js";
import { mapLimit } from "../shared/concurrency.js";
import { digestVersion } from "../shared/digest.js";
import { goJson, stringValues } from "../shared/go-json.js";
import { SILENT_LOG } from "../shared/silent-log.js";
import { describeAuth } from "./auth.js";
import { validateByParsing } from "../declared-metadata.js";
import { parseVaultConfig, type VaultConfig } from "./config.js";
import { isSealed, VaultHttp, vaultErrors } from "./http.js";
import { KvEngine } from "./kv.js";
import { VAULT_METADATA } from "./metadata-fields.js";
import { tlsConnectionOptions } from "./tls.js";
import { TokenLifecycle } from "./token-lifecycle.js";

const VERSION_ID = "version_id";
const BULK_CONCURRENCY = 8;

export class VaultSecretStore implements SecretStore {
  private cfg: VaultConfig | undefined;
  private http: VaultHttp | undefined;
  private tokens: TokenLifecycle | undefined;
  private kv: KvEngine | undefined;
  private log: StoreLogger = SILENT_LOG;

  async init(metadata: ComponentMetadata, ctx: StoreContext): Promise<void> {
    this.log = ctx.log;
    const cfg = parseVaultConfig(metadata);
    const tls = await tlsConnectionOptions(cfg.tls);
    if (cfg.tls.skipVerify)
      this.log.info("hashicorp vault: you are using 'skipVerify' to skip server config verify which is unsafe!");
    this.cfg = cfg;
    this.http = new VaultHttp(cfg.address, tls, cfg.namespace, cfg.requestTimeoutMs);
    this.tokens = new TokenLifecycle(this.http, cfg.auth, ctx.log, cfg.tokenFileCheckMs, cfg.authNamespace);
    this.kv = new KvEngine(cfg, this.http, this.tokens, ctx.log);
    try {
      await this.tokens.init(ctx.signal);
    } catch (err) {
      await this.close();
      throw this.scrub(err);
    }
    if (cfg.kvVersion === "auto" && this.tokens.hasToken()) {
      // Best effort: an unreachable Vault does not fail init (as in daprd); the version is asked again on first use.
      try {
        await this.kv.version(AbortSignal.any([ctx.signal, AbortSignal.timeout(3000)]));
      } catch (err) {
        this.log.warn("vault KV version not known yet; will ask on first use", { reason: this.scrub(err).message });
      }
    }
    this.log.info("vault secret store ready", {
      address: cfg.address,
      enginePath: cfg.enginePath,
      prefix: cfg.prefix,
      namespace: cfg.namespace ?? "",
      authNamespace: cfg.authNamespace === undefined ? (cfg.namespace ?? "") : (cfg.authNamespace ?? ""),
      auth: describeAuth(cfg.auth),
      valueType: cfg.valueType,
    });
  }

  async getSecret(req: GetSecretRequest, signal?: AbortSignal): Promise<SecretData> {
    const { cfg, kv } = this.ready();
    this.secretName(req.name);
    const version = versionId(req.metadata);
    try {
      const data = await kv.read(req.name, version, signal);
      return cfg.valueType === "text" ? { [req.name]: goJson(data) } : stringValues(data);
    } catch (err) {
      throw this.scrub(err);
    }
  }

  /** Change notifications: KV v2's current version from the secret's metadata; a digest of the value on KV v1. */
  async versionOf(req: GetSecretRequest, signal?: AbortSignal): Promise<string> {
    const { kv } = this.ready();
    this.secretName(req.name);
    try {
      const version = await kv.currentVersionOf(req.name, signal);
      return version ?? digestVersion(await this.getSecret(req, signal));
    } catch (err) {
      throw this.scrub(err);
    }
  }

  async bulkGetSecret(req: BulkGetSecretRequest, signal?: AbortSignal): Promise<BulkSecretData> {
    const { cfg, kv } = this.ready();
    const version = versionId(req.metadata);
    try {
      const names = await kv.listNames(signal);
      const out: BulkSecretData = {};
      await mapLimit(names, BULK_CONCURRENCY, async (name) => {
        try {
          const data = await kv.read(name, version, signal);
          out[name] = cfg.valueType === "text" ? { [name]: goJson(data) } : stringValues(data);
        } catch (err) {
          // As daprd: a secret whose (asked) version is missing or deleted is left out.
          if (err instanceof SecretStoreError && err.kind === "not_found") return;
          throw err;
        }
      });
      return Object.fromEntries(
        Object.keys(out)
          .sort()
          .map((k) => [k, out[k] as SecretData]),
      );
    } catch (err) {
      throw this.scrub(err);
    }
  }

  /** Vault names are case-sensitive paths read byte for byte; only forms that would name another path are refused. */
  secretName(name: string): string {
    checkName(name);
    return name;
  }

  features(): readonly SecretStoreFeature[] {
    return this.cfg?.valueType === "text" ? [] : [MULTIPLE_KEY_VALUES_PER_SECRET];
  }

  /** Vault's `sys/health`: fails when Vault is sealed, unreachable or uninitialised. */
  async ping(signal?: AbortSignal): Promise<void> {
    const { http } = this.ready();
    try {
      const res = await http.request("GET", "sys/health", {
        query: { standbyok: "true", perfstandbyok: "true" },
        signal,
        what: "checking health",
      });
      if (res.status === 200 || res.status === 429 || res.status === 472 || res.status === 473) return;
      if (isSealed(res) || (res.body as { sealed?: unknown } | null)?.sealed === true) {
        throw new SecretStoreError("unavailable", `Vault at ${http.address} is sealed (${res.status})`);
      }
      const detail = vaultErrors(res.body);
      throw new SecretStoreError(
        "unavailable",
        `Vault at ${http.address} is not healthy (${res.status})${detail ? `: ${detail}` : ""}`,
      );
    } catch (err) {
      throw this.scrub(err);
    }
  }

  close(): Promise<void> {
    this.tokens?.close();
    this.http?.close();
    return Promise.resolve();
  }

  private ready(): { cfg: VaultConfig; http: VaultHttp; kv: KvEngine } {
    if (!this.cfg || !this.http || !this.kv)
      throw new SecretStoreError("internal", "the Vault secret store is not initialised");
    return { cfg: this.cfg, http: this.http, kv: this.kv };
  }

  /** Last line of defence: no token this store has held survives into a message. */
  private scrub(err: unknown): SecretStoreError {
    const e =
      err instanceof SecretStoreError
        ? err
        : new SecretStoreError("internal", err instanceof Error ? err.message : String(err));
    const clean = this.tokens ? this.tokens.redact(e.message) : e.message;
    return clean === e.message ? e : new SecretStoreError(e.kind, clean);
  }
}

/** Names become Vault path segments: `a/b` is folder `a`, secret `b`; empty, `.` and `..` segments could escape the prefix. */
function checkName(name: string): void {
  if (name === "") throw new SecretStoreError("invalid_request", "secret name is empty");
  for (const seg of name.split("/")) {
    if (seg === "" || seg === "." || seg === "..") {
      throw new SecretStoreError(
        "invalid_request",
        `secret name ${JSON.stringify(name)} is not a valid Vault path: empty, "." and ".." segments are not allowed`,
      );
    }
  }
  if (CONTROL_CHARACTER.test(name)) throw invalidName(name, "control characters are not allowed in a Vault path");
}

function versionId(metadata: Readonly<Record<string, string>>): string | undefined {
  const v = metadata[VERSION_ID];
  if (v === undefined || v.trim() === "") return undefined;
  if (!/^\d+$/.test(v.trim()))
    throw new SecretStoreError("invalid_request", `version_id ${JSON.stringify(v)} is not a version number`);
  return String(Number(v.trim()));
}

export const definition: SecretStoreDefinition = {
  type: "hashicorp.vault",
  version: "v1",
  metadata: VAULT_METADATA,
  validate: validateByParsing(parseVaultConfig),
  create: () => new VaultSecretStore(),
};
