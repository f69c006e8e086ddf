/** @module Vault's HTTP API over node's own http/https: headers, namespaces, timeouts, and errors that never carry the token. */
import http from "node:http";
import https from "node:https";
import type { ConnectionOptions } from "node:tls";
import { SecretStoreError } from "../types.js";

export interface VaultHttpResponse {
  status: number;
  body: unknown;
  /** `Location` of a redirect. */
  location?: string;
}

export interface VaultRequestOptions {
  token?: string;
  query?: Record<string, string>;
  body?: unknown;
  signal?: AbortSignal;
  /** Overrides the store's namespace for this request; null sends none (the root namespace). */
  namespace?: string | null;
  /** Describes the operation for error messages, e.g. `reading secret "db"`. */
  what: string;
}

const MAX_BODY = 32 * 1024 * 1024;
/** A request on a kept-alive socket the server already closed fails at once; one retry covers it. */
const RETRYABLE = new Set(["ECONNRESET", "EPIPE"]);

export class VaultHttp {
  private readonly agent: http.Agent;
  private readonly base: URL;

  constructor(
    readonly address: string,
    tls: ConnectionOptions,
    private readonly namespace: string | undefined,
    private readonly timeoutMs: number,
  ) {
    this.base = new URL(address);
    this.agent =
      this.base.protocol === "https:"
        ? new https.Agent({ keepAlive: true, maxSockets: 32, ...tls })
        : new http.Agent({ keepAlive: true, maxSockets: 32 });
  }

  /** `path` is below `/v1/` and already URL-encoded. A standby's redirect to the active node (307) is followed once. */
  async request(method: string, path: string, opts: VaultRequestOptions): Promise<VaultHttpResponse> {
    const url = new URL(`${this.base.pathname.replace(/\/+$/, "")}/v1/${path}`, this.base);
    for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v);
    const res = await this.attempt(method, url, opts);
    if ((res.status === 307 || res.status === 308) && res.location) {
      const target = new URL(res.location, url);
      if (target.protocol === url.protocol) return await this.attempt(method, target, opts);
    }
    return res;
  }

  private async attempt(method: string, url: URL, opts: VaultRequestOptions): Promise<VaultHttpResponse> {
    try {
      return await this.once(method, url, opts);
    } catch (err) {
      if (!RETRYABLE.has((err as NodeJS.ErrnoException).code ?? "") || opts.signal?.aborted) throw err;
    }
    try {
      return await this.once(method, url, opts);
    } catch (err) {
      if (err instanceof SecretStoreError) throw err;
      throw networkError(this.address, err as NodeJS.ErrnoException, opts.what);
    }
  }

  private once(method: string, url: URL, opts: VaultRequestOptions): Promise<VaultHttpResponse> {
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const headers: Record<string, string> = { "X-Vault-Request": "true", Accept: "application/json" };
    if (opts.token) headers["X-Vault-Token"] = opts.token;
    const namespace = opts.namespace === undefined ? this.namespace : opts.namespace;
    if (namespace) headers["X-Vault-Namespace"] = namespace;
    if (payload) {
      headers["Content-Type"] = "application/json";
      headers["Content-Length"] = String(payload.length);
    }
    const signals = [AbortSignal.timeout(this.timeoutMs)];
    if (opts.signal) signals.push(opts.signal);
    const signal = AbortSignal.any(signals);
    const mod = url.protocol === "https:" ? https : http;
    return new Promise<VaultHttpResponse>((resolve, reject) => {
      const req = mod.request(url, { method, headers, agent: this.agent, signal }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY) req.destroy(new Error(`response from Vault is larger than ${MAX_BODY} bytes`));
          else chunks.push(c);
        });
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown = text;
          if (text.trim().startsWith("{") || text.trim().startsWith("[")) {
            try {
              body = JSON.parse(text) as unknown;
            } catch {
              body = text;
            }
          }
          resolve({ status: res.statusCode ?? 0, body, location: res.headers.location });
        });
      });
      req.on("error", (err: NodeJS.ErrnoException) => {
        if (signal.aborted && !opts.signal?.aborted) {
          reject(
            new SecretStoreError(
              "unavailable",
              `Vault at ${this.address} did not answer within ${this.timeoutMs} ms ${opts.what}`,
              { cause: err },
            ),
          );
        } else if (opts.signal?.aborted) {
          reject(new SecretStoreError("unavailable", `request to Vault was cancelled ${opts.what}`, { cause: err }));
        } else if (RETRYABLE.has(err.code ?? "")) {
          reject(err);
        } else {
          reject(networkError(this.address, err, opts.what));
        }
      });
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

const TLS_CODES = /CERT|SELF_SIGNED|SSL|TLS|ERR_TLS|HOSTNAME|UNABLE_TO|ALTNAME/i;

export function networkError(address: string, err: NodeJS.ErrnoException, what: string): SecretStoreError {
  const code = err.code ?? "";
  const detail = err.message || code || String(err);
  if (TLS_CODES.test(code) || /certificate|altnames|ssl|tls/i.test(detail)) {
    return new SecretStoreError("unavailable", `TLS verification of Vault at ${address} failed ${what}: ${detail}`, {
      cause: err,
    });
  }
  return new SecretStoreError("unavailable", `Vault at ${address} is unreachable ${what}: ${detail}`, { cause: err });
}

/** Vault's `{"errors":[...]}` as one line. */
export function vaultErrors(body: unknown): string {
  if (body && typeof body === "object" && Array.isArray((body as { errors?: unknown }).errors)) {
    const list = (body as { errors: unknown[] }).errors.map(String).filter((s) => s.trim() !== "");
    return list.join("; ").replace(/\s+/g, " ").trim();
  }
  return typeof body === "string" ? body.trim().slice(0, 300) : "";
}

export function isSealed(res: VaultHttpResponse): boolean {
  return res.status === 503 && /sealed/i.test(vaultErrors(res.body));
}

/** Maps a Vault error answer (other than 404/403, which callers interpret) to a store error. */
export function responseError(address: string, res: VaultHttpResponse, what: string): SecretStoreError {
  const detail = vaultErrors(res.body);
  const suffix = detail ? `: ${detail}` : "";
  if (isSealed(res)) return new SecretStoreError("unavailable", `Vault at ${address} is sealed (503) ${what}`);
  if (res.status === 429) return new SecretStoreError("throttled", `Vault rate limit exceeded (429) ${what}${suffix}`);
  if (res.status === 403)
    return new SecretStoreError("permission_denied", `permission denied by Vault (403) ${what}${suffix}`);
  if (res.status === 400)
    return new SecretStoreError("invalid_request", `Vault rejected the request (400) ${what}${suffix}`);
  if (res.status === 404) return new SecretStoreError("not_found", `not found in Vault (404) ${what}${suffix}`);
  if (res.status >= 500)
    return new SecretStoreError("unavailable", `Vault is unavailable (${res.status}) ${what}${suffix}`);
  return new SecretStoreError("internal", `unexpected answer from Vault (${res.status}) ${what}${suffix}`);
}
