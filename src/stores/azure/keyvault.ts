/** @module `secretstores.azure.keyvault`: secrets from Azure Key Vault through @azure/keyvault-secrets, loaded lazily. */
import { readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";
import type { SecretClient } from "@azure/keyvault-secrets";
import {
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
  type StoreEnv,
  type StoreLogger,
} from "../types.js";
import { validateByParsing } from "../declared-metadata.js";
import { mapLimit } from "../shared/concurrency.js";
import { digestVersion } from "../shared/digest.js";
import { Redactor } from "../shared/redact.js";
import { SILENT_LOG } from "../shared/silent-log.js";
import { parseKeyVaultConfig, type KeyVaultConfig } from "./config.js";
import { buildCredential } from "./credentials.js";
import { toStoreError } from "./errors.js";
import { MAX_RETRIES, observeTriesPolicy, type CallTrace } from "./throttle.js";
import { KEYVAULT_METADATA } from "./metadata-fields.js";

/** Key Vault never returns more than 25 items per page. */
const MAX_PAGE_SIZE = 25;
/** Secrets fetched at once during a bulk get: fast on big vaults without tripping Key Vault's throttling. */
const BULK_CONCURRENCY = 4;
/** Longest time a call may take, whatever its caller's signal says. */
const DEFAULT_BUDGET_MS = 60_000;

const SECRET_NAME = /^[0-9A-Za-z-]{1,127}$/;
const VERSION_ID = /^[0-9A-Za-z]{1,64}$/;

/**
 * The CAs to trust: Node's roots plus NODE_EXTRA_CA_CERTS from the store's environment, read here because Node
 * reads its own only from the environment it started with. Undefined leaves Node's defaults.
 */
function trustedCas(env: StoreEnv, log: StoreLogger): string[] | undefined {
  const file = env.NODE_EXTRA_CA_CERTS;
  if (!file) return undefined;
  try {
    return [...rootCertificates, readFileSync(file, "utf8")];
  } catch (err) {
    // As Node does with this variable: warn and go on with the default roots.
    log.warn("azure.keyvault: cannot read NODE_EXTRA_CA_CERTS; using the default CAs", {
      file,
      reason: (err as NodeJS.ErrnoException).code ?? "unreadable",
    });
    return undefined;
  }
}

export class KeyVaultSecretStore implements SecretStore {
  private client: SecretClient | undefined;
  private config: KeyVaultConfig | undefined;
  private readonly redactor = new Redactor();
  /** What each call's tries met (last 429, last transport error), by the call's signal. */
  private readonly traces = new WeakMap<object, CallTrace>();
  private log: StoreLogger = SILENT_LOG;

  async init(metadata: ComponentMetadata, ctx: StoreContext): Promise<void> {
    this.log = ctx.log;
    const env = ctx.env;
    const tlsCa = trustedCas(env, this.log);
    const config = parseKeyVaultConfig(metadata, env);
    const [{ SecretClient }, identity] = await Promise.all([
      import("@azure/keyvault-secrets"),
      import("@azure/identity"),
    ]);
    const credential = buildCredential(identity, config.auth, {
      env,
      tlsCa,
      log: this.log,
      redactor: this.redactor,
    });
    this.client = new SecretClient(config.vaultUrl, credential, {
      // The SDK only trusts a challenge from a host under the resource's domain; a private endpoint or a
      // custom vaultUrl is not, and the user named that host explicitly.
      disableChallengeResourceVerification: config.customVaultHost,
      retryOptions: { maxRetries: MAX_RETRIES },
      additionalPolicies: [
        {
          policy: observeTriesPolicy({ vault: config.vaultLabel, log: this.log, traces: this.traces }),
          position: "perRetry",
        },
      ],
      ...(tlsCa ? { tlsOptions: { ca: tlsCa } } : {}),
      userAgentOptions: { userAgentPrefix: "keyward" },
    });
    this.config = config;
    this.log.info("azure.keyvault: ready", {
      vault: config.vaultUrl,
      cloud: config.cloud.name,
      authMethods: credential.methods,
      authorityHost: config.auth.authorityHost,
    });
  }

  /** Key Vault accepts only these characters, so nothing else (a '/version' suffix, NUL, non-ASCII) is sent. */
  secretName(name: string): string {
    if (!name) throw new SecretStoreError("invalid_request", "missing secret name in request");
    if (!SECRET_NAME.test(name)) {
      throw new SecretStoreError(
        "invalid_request",
        `secret name ${JSON.stringify(name)} is not a valid Azure Key Vault secret name (1-127 letters, digits and hyphens)`,
      );
    }
    return name;
  }

  /** Key Vault names ignore case: `DB-Password` is `db-password`, so scopes compare them folded. */
  scopeName(name: string): string {
    return name.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
  }

  async getSecret(req: GetSecretRequest, signal?: AbortSignal): Promise<SecretData> {
    return (await this.read(req, signal)).data;
  }

  /** Change notifications poll the secret's current version id (one GET, as a read). */
  async versionOf(req: GetSecretRequest, signal?: AbortSignal): Promise<string> {
    const { data, version } = await this.read(req, signal);
    return version ?? digestVersion(data);
  }

  private async read(req: GetSecretRequest, signal?: AbortSignal): Promise<{ data: SecretData; version?: string }> {
    const { client, config } = this.ready();
    const name = this.secretName(req.name);
    const version = req.metadata.version_id || undefined;
    // The version becomes a URL path segment: only a version identifier may go there.
    if (version !== undefined && !VERSION_ID.test(version))
      throw new SecretStoreError("invalid_request", `version_id ${JSON.stringify(version)} is not a Key Vault version`);
    const budget = this.budget(signal);
    try {
      const secret = await client.getSecret(name, { version, abortSignal: budget });
      return { data: { [name]: secret.value ?? "" }, version: secret.properties.version };
    } catch (err) {
      throw toStoreError(err, {
        vault: config.vaultLabel,
        action: `get secret ${name}`,
        name,
        version,
        redactor: this.redactor,
        signal: budget,
        trace: this.traces.get(budget),
      });
    }
  }

  async bulkGetSecret(req: BulkGetSecretRequest, signal?: AbortSignal): Promise<BulkSecretData> {
    const { client, config } = this.ready();
    const max = parseMaxResults(req.metadata.maxresults);
    const budget = this.budget(signal);
    const out: BulkSecretData = {};
    let count = 0;
    const ctx = { vault: config.vaultLabel, action: "list secrets", redactor: this.redactor, signal: budget };
    try {
      const pages = client
        .listPropertiesOfSecrets({ abortSignal: budget })
        .byPage({ maxPageSize: max ? Math.min(max, MAX_PAGE_SIZE) : MAX_PAGE_SIZE });
      for await (const page of pages) {
        // daprd skips disabled secrets (and ones whose state is unknown): reading them would fail.
        const names = page.filter((p) => p.enabled === true).map((p) => p.name);
        const wanted = max ? names.slice(0, max - count) : names;
        const values = await mapLimit(wanted, BULK_CONCURRENCY, (name) => this.fetchForBulk(client, name, budget));
        wanted.forEach((name, i) => {
          const value = values[i];
          if (value === undefined) return;
          out[name] = { [name]: value };
          count++;
        });
        if (max && count >= max) break;
      }
    } catch (err) {
      throw toStoreError(err, { ...ctx, trace: this.traces.get(budget) });
    }
    return out;
  }

  /** A secret's latest value, or undefined when it vanished or was disabled between listing and reading. */
  private async fetchForBulk(client: SecretClient, name: string, signal: AbortSignal): Promise<string | undefined> {
    try {
      const secret = await client.getSecret(name, { abortSignal: signal });
      return secret.value ?? "";
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      if (status === 404 || (status === 403 && /disabled/i.test((err as Error).message))) {
        this.log.debug("azure.keyvault: secret changed during bulk get, skipped", { name, status });
        return undefined;
      }
      throw toStoreError(err, {
        vault: this.config?.vaultLabel ?? "",
        action: `get secret ${name}`,
        name,
        redactor: this.redactor,
        signal,
        trace: this.traces.get(signal),
      });
    }
  }

  features(): readonly SecretStoreFeature[] {
    return [];
  }

  async close(): Promise<void> {
    this.client = undefined;
  }

  private ready(): { client: SecretClient; config: KeyVaultConfig } {
    if (!this.client || !this.config) throw new SecretStoreError("internal", "azure.keyvault store is not initialized");
    return { client: this.client, config: this.config };
  }

  /** The caller's signal (client gone, policy timeout, shutdown), bounded by the default budget all the same. */
  private budget(signal: AbortSignal | undefined): AbortSignal {
    const timeout = AbortSignal.timeout(DEFAULT_BUDGET_MS);
    return signal ? AbortSignal.any([signal, timeout]) : timeout;
  }
}

/** daprd's `maxresults`: an integer; absent, empty or ≤ 0 means no limit. */
function parseMaxResults(raw: string | undefined): number | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  if (!/^[+-]?\d+$/.test(raw.trim())) {
    throw new SecretStoreError("invalid_request", `metadata maxresults ${JSON.stringify(raw)} is not an integer`);
  }
  const n = Number(raw.trim());
  return n > 0 ? n : undefined;
}

export const definition: SecretStoreDefinition = {
  type: "azure.keyvault",
  version: "v1",
  metadata: KEYVAULT_METADATA,
  validate: validateByParsing(parseKeyVaultConfig),
  create: () => new KeyVaultSecretStore(),
};
