/**
 * @module Microsoft Entra credentials for Key Vault, tried in daprd's `azureAuthMethods` order: client secret,
 * certificate (PEM or PFX, file or inline), workload identity, managed identity, Azure CLI.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";
import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/core-auth";
import { fileReadReason, readRegularFileSync } from "../shared/files.js";
import { SecretStoreError, type StoreEnv, type StoreLogger } from "../types.js";
import type { AuthMethod, AuthSettings } from "./config.js";
import { isTlsProblem, networkCode } from "../shared/network-errors.js";
import type { Redactor } from "../shared/redact.js";
import { looksLikePkcs12, MAC_MISMATCH, readPkcs12 } from "./pkcs12.js";

type Identity = typeof import("@azure/identity");

export interface CredentialOptions {
  env: StoreEnv;
  /** Trusted CAs for the token endpoints when NODE_EXTRA_CA_CERTS adds some; else Node's own. */
  tlsCa?: string[] | undefined;
  log: StoreLogger;
  redactor: Redactor;
}

interface Link {
  method: AuthMethod;
  credential: TokenCredential;
  /** Give up on this link (as unavailable) after this long, like daprd does for IMDS probing. */
  timeoutMs?: number;
}

const TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;

const METHOD_LABEL: Record<AuthMethod, string> = {
  clientcredentials: "client secret",
  clientcertificate: "client certificate",
  workloadidentity: "workload identity",
  managedidentity: "managed identity",
  cli: "Azure CLI",
};

function invalid(message: string): SecretStoreError {
  return new SecretStoreError("invalid_config", message);
}

/** Identity errors that mean "this method cannot be used here", so the next method is tried. */
function isUnavailable(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name;
  return name === "CredentialUnavailableError";
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 400 ? `${line.slice(0, 400)}…` : line;
}

/** The AADSTS code and first sentence of an Entra error, without trace ids and timestamps. */
function entraReason(err: unknown): string {
  const e = err as { errorResponse?: { error?: string; errorDescription?: string }; message?: string };
  // @azure/identity wraps MSAL's "invalid_client: Error(s): 7000215 - Timestamp: … - Description: AADSTS7000215: …".
  // Managed identity errors read "…Authentication failed. Message : Error(s): Not Available - … - Description: … - Correlation ID: …".
  const described = /Description: ([\s\S]*?)(?:\s+-\s+Correlation ID:|\s*Trace ID:|\s+-\s*$|$)/.exec(e.message ?? "");
  if (described?.[1]) {
    const code = /^(\w+): Error\(s\):/.exec(e.message ?? "")?.[1];
    return oneLine(code ? `${code}: ${described[1]}` : described[1]);
  }
  const desc = e.errorResponse?.errorDescription ?? e.message ?? String(err);
  const first = desc.split(/\r?\n|Trace ID:/)[0] ?? desc;
  const code = e.errorResponse?.error;
  return oneLine(code && !first.includes(code) ? `${code}: ${first}` : first);
}

/**
 * Tries each method in order until one yields a token, then sticks to it (as daprd's chain does). A method
 * that is unavailable passes to the next; a method that is refused (wrong secret, unknown client) stops the chain,
 * so a broken configuration is reported instead of silently falling through to another identity.
 */
export class AuthChain implements TokenCredential {
  private chosen: Link | undefined;
  /** Last token per scope and tenant: reused until 5 minutes before expiry, and kept while a refresh fails. */
  private readonly tokens = new Map<string, AccessToken>();

  constructor(
    private readonly links: Link[],
    private readonly authorityHost: string,
    private readonly redactor: Redactor,
    private readonly log: StoreLogger,
  ) {}

  get methods(): AuthMethod[] {
    return this.links.map((l) => l.method);
  }

  /**
   * The Key Vault SDK refreshes tokens in the background in their last two minutes and nobody awaits that
   * refresh; a failure there would surface as an unhandled rejection. So a token that is still valid when a
   * refresh fails is handed back (with a warning) instead of an error, and an outage of the authority or identity
   * endpoint shorter than the token's remaining life goes unnoticed by requests.
   */
  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
    const key = `${([] as string[]).concat(scopes).join(" ")}|${options?.tenantId ?? ""}`;
    const calledAt = Date.now();
    const cached = options?.claims ? undefined : this.tokens.get(key);
    if (cached && cached.expiresOnTimestamp - TOKEN_REFRESH_MARGIN_MS > calledAt) return cached;
    try {
      const token = await this.fetch(scopes, options);
      this.tokens.set(key, token);
      return token;
    } catch (err) {
      if (cached && cached.expiresOnTimestamp > calledAt) {
        this.log.warn("azure.keyvault: token refresh failed; using the current token until it expires", {
          expiresInSeconds: Math.round((cached.expiresOnTimestamp - calledAt) / 1000),
          error: err instanceof SecretStoreError ? err.message : this.redactor.redact(entraReason(err)),
        });
        return cached;
      }
      throw err;
    }
  }

  private async fetch(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
    const chosen = this.chosen;
    if (chosen) {
      try {
        return await this.attempt(chosen, scopes, options);
      } catch (err) {
        if (options?.abortSignal?.aborted) throw err;
        throw this.failure(chosen, err);
      }
    }
    const reasons: string[] = [];
    for (const link of this.links) {
      try {
        const token = await this.attempt(link, scopes, options);
        this.chosen = link;
        this.log.info("azure.keyvault: authenticated", { method: link.method });
        return token;
      } catch (err) {
        if (options?.abortSignal?.aborted && !this.authorityUnreachable(link, err)) throw err;
        if (err instanceof SecretStoreError || !isUnavailable(err) || this.authorityUnreachable(link, err))
          throw this.failure(link, err);
        reasons.push(`${METHOD_LABEL[link.method]}: ${this.redactor.redact(entraReason(err))}`);
      }
    }
    throw new SecretStoreError(
      "bad_credentials",
      `bad credentials: no Azure credential could get a token for Key Vault (${reasons.join("; ")})`,
    );
  }

  private async attempt(link: Link, scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
    if (!link.timeoutMs) {
      const token = await link.credential.getToken(scopes, options);
      if (!token) throw Object.assign(new Error("no token returned"), { name: "CredentialUnavailableError" });
      return token;
    }
    const timer = new AbortController();
    const outer = options?.abortSignal;
    const forward = () => timer.abort();
    if (outer?.aborted) timer.abort();
    else outer?.addEventListener("abort", forward, { once: true });
    const signal = timer.signal;
    const handle = setTimeout(() => timer.abort(), link.timeoutMs);
    try {
      const token = await link.credential.getToken(scopes, { ...options, abortSignal: signal });
      if (!token) throw Object.assign(new Error("no token returned"), { name: "CredentialUnavailableError" });
      link.timeoutMs = undefined; // it answered once: it exists, so later calls get the full budget
      return token;
    } catch (err) {
      if (timer.signal.aborted && !options?.abortSignal?.aborted) {
        throw Object.assign(
          new Error(`no ${METHOD_LABEL[link.method]} endpoint answered within ${link.timeoutMs} ms`),
          {
            name: "CredentialUnavailableError",
          },
        );
      }
      throw err;
    } finally {
      clearTimeout(handle);
      outer?.removeEventListener("abort", forward);
    }
  }

  /** MSAL reports a dead authority as "unavailable"; that is an outage to report, not a method to skip. */
  private authorityUnreachable(link: Link, err: unknown): boolean {
    if (link.method === "managedidentity" || link.method === "cli") return false;
    return (
      networkCode(err) !== undefined ||
      /endpoints_resolution_error|network_error|openid_config_error/.test(String((err as Error).message))
    );
  }

  private failure(link: Link, err: unknown): SecretStoreError {
    if (err instanceof SecretStoreError) return err;
    const label = METHOD_LABEL[link.method];
    const code =
      networkCode(err) ?? (this.authorityUnreachable(link, err) ? "cannot fetch its OpenID configuration" : undefined);
    const usesAuthority = link.method !== "managedidentity" && link.method !== "cli";
    if (code) {
      const where = usesAuthority ? `the Microsoft Entra authority ${this.authorityHost}` : `the ${label} endpoint`;
      const tls = isTlsProblem(code) ? ": TLS verification failed" : "";
      return new SecretStoreError(
        "unavailable",
        `unreachable: ${where}${tls} (${code}) while getting a token with ${label}`,
        { cause: err },
      );
    }
    const status = (err as { statusCode?: number }).statusCode;
    const reason = this.redactor.redact(entraReason(err));
    if (status === 429)
      return new SecretStoreError(
        "throttled",
        `throttled: Microsoft Entra ID throttled the ${label} token request (${reason})`,
        { cause: err },
      );
    if (status !== undefined && status >= 500) {
      return new SecretStoreError(
        "unavailable",
        `the ${label} token endpoint is unavailable (HTTP ${status}: ${reason})`,
        { cause: err },
      );
    }
    return new SecretStoreError("bad_credentials", `bad credentials: ${label} authentication failed (${reason})`, {
      cause: err,
    });
  }
}

/** A certificate and key ready for ClientCertificateCredential: leaf first, then any chain, then the key. */
export function certificatePem(data: Buffer, password: string | undefined, source: string): string {
  let text = data.toString("utf8");
  // PEM pasted into one YAML line or an env var often arrives with literal "\n" sequences.
  if (text.includes("-----BEGIN") && !text.includes("\n") && text.includes("\\n")) text = text.replace(/\\n/g, "\n");
  let certs: X509Certificate[];
  let key: KeyObject;
  if (text.includes("-----BEGIN")) {
    const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0) throw invalid(`${source} holds no PEM certificate`);
    const keyBlock =
      /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.exec(
        text,
      )?.[0];
    if (!keyBlock) throw invalid(`${source} holds no PEM private key (it needs the certificate and its key)`);
    try {
      certs = blocks.map((b) => new X509Certificate(b));
      key = createPrivateKey({ key: keyBlock, format: "pem", passphrase: password ?? "" });
    } catch (err) {
      const encrypted = /ENCRYPTED|Proc-Type: 4,ENCRYPTED/.test(keyBlock);
      if (encrypted)
        throw invalid(`${source}: cannot decrypt the private key; azureCertificatePassword is missing or wrong`);
      throw invalid(`${source} is not a valid PEM certificate and key (${(err as Error).message})`);
    }
  } else {
    const pfx = looksLikePkcs12(data) ? data : Buffer.from(text.replace(/\s+/g, ""), "base64");
    if (!looksLikePkcs12(pfx))
      throw invalid(`${source} is neither PEM nor a PKCS#12 (PFX) bundle (inline PFX must be base64)`);
    try {
      const parsed = readPkcs12(pfx, password ?? "");
      certs = parsed.certificates.map((der) => new X509Certificate(der));
      key = parsed.privateKey;
    } catch (err) {
      const msg = (err as Error).message;
      if (msg === MAC_MISMATCH) {
        throw invalid(
          `${source}: cannot open the PKCS#12 bundle; azureCertificatePassword is missing or wrong, or the file is damaged or was altered (its integrity check failed)`,
        );
      }
      if (/bad decrypt|decrypt|unsupported/i.test(msg) && !/unsupported PKCS#12|unsupported PBES2/.test(msg)) {
        throw invalid(`${source}: cannot open the PKCS#12 bundle; azureCertificatePassword is missing or wrong`);
      }
      throw invalid(`${source}: cannot read the PKCS#12 bundle (${msg})`);
    }
  }
  if (key.asymmetricKeyType !== "rsa" && key.asymmetricKeyType !== "rsa-pss") {
    throw invalid(
      `${source}: the private key is ${key.asymmetricKeyType}; Microsoft Entra ID client certificates need an RSA key`,
    );
  }
  const leaf = certs.find((c) => c.checkPrivateKey(key));
  if (!leaf) throw invalid(`${source}: no certificate in it matches its private key`);
  const ordered = [leaf, ...certs.filter((c) => c !== leaf)];
  return `${ordered.map((c) => c.toString().trim()).join("\n")}\n${key.export({ format: "pem", type: "pkcs8" }).toString()}`;
}

/** True on Azure hosts that run a managed identity endpoint (App Service, Functions, Container Apps, Arc, Cloud Shell, Service Fabric). */
function cloudManagedIdentity(env: StoreEnv): boolean {
  return Boolean(env.IDENTITY_ENDPOINT || env.MSI_ENDPOINT || env.IMDS_ENDPOINT || env.IDENTITY_SERVER_THUMBPRINT);
}

/**
 * Builds the chain from the methods in order. A configured certificate that cannot be read is an init error
 * (daprd would silently skip it and authenticate as someone else, or not at all).
 */
export function buildCredential(identity: Identity, auth: AuthSettings, opts: CredentialOptions): AuthChain {
  const { env } = opts;
  const common = {
    authorityHost: auth.authorityHost,
    disableInstanceDiscovery: auth.disableInstanceDiscovery,
    ...(opts.tlsCa ? { tlsOptions: { ca: opts.tlsCa } } : {}),
  };
  opts.redactor.add(auth.clientSecret);
  opts.redactor.add(auth.certificatePassword);
  opts.redactor.add(env.IDENTITY_HEADER);
  opts.redactor.add(env.MSI_SECRET);

  const links: Link[] = [];
  const skipped: string[] = [];
  // As in daprd, a method whose settings are absent is skipped even when listed, so one component can say
  // "WorkloadIdentity,ManagedIdentity" and work on AKS and on a VM alike; only an empty chain is an error.
  const missing = (method: AuthMethod, what: string): void => {
    skipped.push(`${METHOD_LABEL[method]}: ${what}`);
  };

  for (const method of auth.methods) {
    switch (method) {
      case "clientcredentials": {
        if (!auth.clientSecret) {
          missing(method, "azureClientSecret is not set");
          break;
        }
        if (!auth.tenantId || !auth.clientId) {
          missing(method, "azureClientSecret needs azureTenantId and azureClientId");
          break;
        }
        links.push({
          method,
          credential: new identity.ClientSecretCredential(auth.tenantId, auth.clientId, auth.clientSecret, common),
        });
        break;
      }
      case "clientcertificate": {
        if (!auth.certificate && !auth.certificateFile) {
          missing(method, "neither azureCertificate nor azureCertificateFile is set");
          break;
        }
        if (!auth.tenantId || !auth.clientId)
          throw invalid("a client certificate needs azureTenantId and azureClientId");
        let data: Buffer;
        let source: string;
        if (auth.certificateFile) {
          source = `azureCertificateFile ${auth.certificateFile}`;
          try {
            data = readRegularFileSync(auth.certificateFile);
          } catch (err) {
            throw invalid(`cannot read ${source}: ${fileReadReason(err)}`);
          }
        } else {
          source = "azureCertificate";
          data = Buffer.from(auth.certificate ?? "", "utf8");
        }
        const pem = certificatePem(data, auth.certificatePassword, source);
        links.push({
          method,
          credential: new identity.ClientCertificateCredential(
            auth.tenantId,
            auth.clientId,
            { certificate: pem },
            common,
          ),
        });
        break;
      }
      case "workloadidentity": {
        const tokenFilePath = env.AZURE_FEDERATED_TOKEN_FILE;
        const clientId = auth.clientId ?? env.AZURE_CLIENT_ID;
        const tenantId = auth.tenantId ?? env.AZURE_TENANT_ID;
        if (!tokenFilePath) {
          missing(method, "AZURE_FEDERATED_TOKEN_FILE is not set (the AKS workload identity webhook sets it)");
          break;
        }
        if (!clientId || !tenantId) {
          missing(
            method,
            "it needs a client id and tenant id (azureClientId/azureTenantId or AZURE_CLIENT_ID/AZURE_TENANT_ID)",
          );
          break;
        }
        links.push({
          method,
          credential: new identity.WorkloadIdentityCredential({ ...common, tenantId, clientId, tokenFilePath }),
        });
        break;
      }
      case "managedidentity": {
        const mi = {
          ...(auth.clientId ? { clientId: auth.clientId } : {}),
          ...(opts.tlsCa ? { tlsOptions: { ca: opts.tlsCa } } : {}),
        };
        links.push({
          method,
          credential: new identity.ManagedIdentityCredential(mi),
          // Off Azure the IMDS address may hang for minutes; daprd gives it one second.
          timeoutMs: cloudManagedIdentity(env) ? undefined : 1000,
        });
        break;
      }
      case "cli":
        // daprd leaves the CLI out of its default chain on Azure hosts with a managed identity.
        if (!auth.explicitMethods && cloudManagedIdentity(env)) break;
        links.push({ method, credential: new identity.AzureCliCredential({ processTimeoutInMs: 30_000 }) });
        break;
    }
  }
  if (links.length === 0)
    throw invalid(`no suitable Azure credential for the methods ${auth.methods.join(", ")}: ${skipped.join("; ")}`);
  if (skipped.length > 0) opts.log.debug("azure.keyvault: auth methods skipped", { skipped });
  return new AuthChain(links, auth.authorityHost, opts.redactor, opts.log);
}
