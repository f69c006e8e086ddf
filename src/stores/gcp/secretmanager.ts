/**
 * @module `secretstores.gcp.secretmanager`: Google Cloud Secret Manager through Google's official client
 * (loaded on first init), authenticated by a service-account key from the metadata or by Application
 * Default Credentials.
 */
import { createRequire } from "node:module";
import { digestVersion } from "../shared/digest.js";
import { nameMatching } from "../names.js";
import type { SecretManagerServiceClient } from "@google-cloud/secret-manager";
import type * as Grpc from "@grpc/grpc-js";
import {
  SecretStoreError,
  type BulkSecretData,
  type ComponentMetadata,
  type GetSecretRequest,
  type SecretData,
  type SecretStore,
  type SecretStoreDefinition,
  type StoreContext,
} from "../types.js";
import { validateByParsing } from "../declared-metadata.js";
import { mapLimit } from "../shared/concurrency.js";
import { redact } from "../shared/redact.js";
import { sleep, untilAborted } from "../shared/sleep.js";
import { parseConfig, type GcpConfig } from "./config.js";
import { isUnreadableVersion, toStoreError } from "./errors.js";
import { GCP_METADATA } from "./metadata-fields.js";
import { TokenExchange } from "./token-exchange.js";

const require = createRequire(import.meta.url);

type ClientOptions = NonNullable<ConstructorParameters<typeof SecretManagerServiceClient>[0]>;

const DEFAULT_HOST = "secretmanager.googleapis.com";
/** Per-attempt budget; a caller's AbortSignal cuts it shorter. */
const CALL_TIMEOUT_MS = 20_000;
/** Bulk reads versions this many at a time. */
const BULK_CONCURRENCY = 8;
const MAX_PAGES = 10_000;

/** The library's own retries are off (they hide the last status); `withRetries` does it instead. */
const CALL_OPTIONS = {
  timeout: CALL_TIMEOUT_MS,
  retry: {
    retryCodes: [] as number[],
    backoffSettings: {
      initialRetryDelayMillis: 0,
      retryDelayMultiplier: 1,
      maxRetryDelayMillis: 0,
      initialRpcTimeoutMillis: CALL_TIMEOUT_MS,
      rpcTimeoutMultiplier: 1,
      maxRpcTimeoutMillis: CALL_TIMEOUT_MS,
      totalTimeoutMillis: CALL_TIMEOUT_MS,
    },
  },
};

/** RESOURCE_EXHAUSTED, UNAVAILABLE and DEADLINE_EXCEEDED are retried after 0.25 s, 0.5 s and 1 s. */
const RETRY_CODES = new Set([8, 14, 4]);
const RETRY_DELAYS_MS = [250, 500, 1000];

async function withRetries<T>(attempt: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (e) {
      const delay = RETRY_DELAYS_MS[i];
      if (delay === undefined || !RETRY_CODES.has((e as { code?: number }).code ?? -1) || signal?.aborted) throw e;
      await sleep(delay, signal);
    }
  }
}

type Cancellable<T> = Promise<T> & { cancel?: () => void };

/** Runs a library call; when `signal` aborts, cancels it and fails at once with CANCELLED. */
function withSignal<T>(call: Cancellable<T>, signal?: AbortSignal): Promise<T> {
  return untilAborted(call, signal, () => {
    call.cancel?.();
    return Object.assign(new Error("cancelled by the caller"), { code: 1, details: "cancelled by the caller" });
  });
}

const SECRET_ID = /^[A-Za-z0-9_-]{1,255}$/;
const RESOURCE_NAME = /^projects\/[^/]+\/secrets\/([A-Za-z0-9_-]{1,255})$/;

export class GcpSecretManagerStore implements SecretStore {
  private client: SecretManagerServiceClient | undefined;
  private config: GcpConfig | undefined;
  private exchange: TokenExchange | undefined;
  private endpointText = `${DEFAULT_HOST}:443`;
  private log: StoreContext["log"] | undefined;

  async init(metadata: ComponentMetadata, ctx: StoreContext): Promise<void> {
    const config = parseConfig(metadata);
    this.log = ctx.log;
    const { SecretManagerServiceClient: Client } = await import("@google-cloud/secret-manager");
    const opts: ClientOptions = { projectId: config.projectId };
    if (config.endpoint) {
      opts.apiEndpoint = config.endpoint.host;
      opts.port = config.endpoint.port;
      this.endpointText = `${config.endpoint.host.includes(":") ? `[${config.endpoint.host}]` : config.endpoint.host}:${config.endpoint.port}`;
    }
    const sa = config.serviceAccount;
    if (sa && !config.selfSignedJwt) {
      // The GCP SDK stays outside the bundle and checks credentials with instanceof against the grpc-js
      // it loads from node_modules: they must come from that copy, not from the one bundled for the server.
      const grpc = require("@grpc/grpc-js") as typeof Grpc;
      const exchange = new TokenExchange(sa);
      const callCreds = grpc.credentials.createFromMetadataGenerator((_params, callback) => {
        exchange.token().then(
          (token) => {
            const md = new grpc.Metadata();
            md.set("authorization", `Bearer ${token}`);
            callback(null, md);
          },
          (err: Error) => callback(err),
        );
      });
      opts.sslCreds = grpc.credentials.combineChannelCredentials(grpc.credentials.createSsl(), callCreds);
      // With our own channel credentials the library must not look for ambient credentials at all.
      opts.universeDomain = "googleapis.com";
      this.exchange = exchange;
    } else if (sa) {
      // The library signs its own short-lived JWT with the key (what daprd's Go client does too).
      opts.credentials = { ...sa };
    }
    const client = new Client(opts);
    if (!sa) {
      // Like daprd, fail init when there are no Application Default Credentials at all.
      try {
        await untilAborted(client.auth.getClient(), ctx.signal, () => new Error("timed out"));
      } catch (e) {
        await client.close().catch(() => undefined);
        throw new SecretStoreError(
          "bad_credentials",
          `failed to setup secretmanager client: no Application Default Credentials: ${redact((e as Error).message)}`,
        );
      }
    }
    this.client = client;
    this.config = config;
    ctx.log.info("GCP Secret Manager store ready", {
      project: config.projectId,
      endpoint: this.endpointText,
      auth: sa
        ? config.selfSignedJwt
          ? "service account (self-signed JWT)"
          : "service account (token_uri exchange)"
        : "application default credentials",
      ...(sa ? { serviceAccount: sa.client_email } : {}),
    });
  }

  private ready(): { client: SecretManagerServiceClient; config: GcpConfig } {
    if (!this.client || !this.config) throw new SecretStoreError("internal", "client is not initialized");
    return { client: this.client, config: this.config };
  }

  private secretsToRedact(): string[] {
    const out = this.exchange ? [...this.exchange.seen] : [];
    if (this.config?.serviceAccount) out.push(this.config.serviceAccount.private_key);
    return out;
  }

  private async access(resource: string, signal?: AbortSignal): Promise<string> {
    const { client } = this.ready();
    type Access = Cancellable<[{ payload?: { data?: Uint8Array | string | null } | null }, unknown, unknown]>;
    const [response] = await withRetries(
      () => withSignal(client.accessSecretVersion({ name: resource }, CALL_OPTIONS) as Access, signal),
      signal,
    );
    const data = response.payload?.data;
    if (data === undefined || data === null) return "";
    return typeof data === "string" ? data : Buffer.from(data).toString("utf8");
  }

  /** Only a secret ID goes into the resource name: a '/' or '..' there would name another resource. */
  secretName(name: string): string {
    if (name === "") throw new SecretStoreError("invalid_request", "missing secret name in request");
    return nameMatching(name, SECRET_ID, "a Secret Manager secret ID is 1-255 ASCII letters, digits, '-' and '_'");
  }

  /** Bulk answers may carry full resource names (`projects/p/secrets/db`): scopes compare the secret ID. */
  scopeName(name: string): string {
    return RESOURCE_NAME.exec(name)?.[1] ?? name;
  }

  /** Change notifications poll a digest of the version `latest` resolves to (one access, as a read). */
  async versionOf(req: GetSecretRequest, signal?: AbortSignal): Promise<string> {
    return digestVersion(await this.getSecret(req, signal));
  }

  async getSecret(req: GetSecretRequest, signal?: AbortSignal): Promise<SecretData> {
    const { config } = this.ready();
    this.secretName(req.name);
    const version = req.metadata.version_id || "latest";
    if (!SECRET_ID.test(version))
      throw new SecretStoreError(
        "invalid_request",
        `version_id ${JSON.stringify(version)} is not a version number or alias`,
      );
    const resource = `projects/${config.projectId}/secrets/${req.name}/versions/${version}`;
    try {
      return { [req.name]: await this.access(resource, signal) };
    } catch (e) {
      const subject =
        version === "latest"
          ? JSON.stringify(req.name)
          : `${JSON.stringify(req.name)} version ${JSON.stringify(version)}`;
      throw toStoreError(e, "failed to access secret version of", subject, this.endpointText, this.secretsToRedact());
    }
  }

  async bulkGetSecret(_req: unknown, signal?: AbortSignal): Promise<BulkSecretData> {
    const { client, config } = this.ready();
    const parent = `projects/${config.projectId}`;
    const names: string[] = [];
    let pageToken = "";
    try {
      for (let page = 0; page < MAX_PAGES; page++) {
        const request = pageToken ? { parent, pageToken } : { parent };
        const call = () =>
          client.listSecrets(request, { ...CALL_OPTIONS, autoPaginate: false }) as Cancellable<
            [{ name?: string | null }[], unknown, { nextPageToken?: string | null } | null | undefined]
          >;
        const [secrets, , response] = await withRetries(() => withSignal(call(), signal), signal);
        for (const s of secrets) if (s.name) names.push(s.name);
        pageToken = response?.nextPageToken ?? "";
        if (!pageToken) break;
      }
    } catch (e) {
      throw toStoreError(
        e,
        "failed to list secrets in",
        JSON.stringify(parent),
        this.endpointText,
        this.secretsToRedact(),
      );
    }

    const values = await mapLimit(names, BULK_CONCURRENCY, async (name) => {
      try {
        return await this.access(`${name}/versions/latest`, signal);
      } catch (e) {
        // A secret without a readable latest version (none yet, disabled, destroyed) is not a value.
        if (isUnreadableVersion(e)) {
          this.log?.debug("bulk get skipped a secret without a readable latest version", { secret: name });
          return undefined;
        }
        throw toStoreError(
          e,
          "failed to access secret version of",
          JSON.stringify(name),
          this.endpointText,
          this.secretsToRedact(),
        );
      }
    });
    const out: BulkSecretData = {};
    names.forEach((name, i) => {
      const value = values[i];
      if (value === undefined) return;
      const key = config.shortBulkNames ? name.slice(name.lastIndexOf("/") + 1) : name;
      out[key] = { [key]: value };
    });
    return out;
  }

  features(): readonly [] {
    return [];
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) await client.close().catch(() => undefined);
  }
}

export const definition: SecretStoreDefinition = {
  type: "gcp.secretmanager",
  version: "v1",
  metadata: GCP_METADATA,
  validate: validateByParsing(parseConfig),
  create: () => new GcpSecretManagerStore(),
};
