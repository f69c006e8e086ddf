/**
 * @module OAuth 2.0 JWT-bearer grant (RFC 7523) against a service-account key's `token_uri`, for
 * `selfSignedJWT: "false"`. Google's Node auth library always posts to oauth2.googleapis.com and never
 * reads `token_uri`, so this is the path for private or proxied token endpoints.
 */
import { sign } from "node:crypto";
import { CLOUD_PLATFORM_SCOPE, DEFAULT_TOKEN_URI, type ServiceAccountKey } from "./config.js";

/** grpc status codes, so grpc-js reports a failed token fetch with a meaningful code. */
const UNAUTHENTICATED = 16;
const UNAVAILABLE = 14;

export class TokenError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

export class TokenExchange {
  private cached: { token: string; refreshAt: number } | undefined;
  private inflight: Promise<string> | undefined;
  readonly tokenUri: string;

  constructor(
    private readonly key: ServiceAccountKey,
    private readonly timeoutMs = 15_000,
  ) {
    this.tokenUri = key.token_uri ?? DEFAULT_TOKEN_URI;
  }

  /** Every access token this source has handed out, so callers can keep them out of messages. */
  readonly seen = new Set<string>();

  async token(): Promise<string> {
    if (this.cached && Date.now() < this.cached.refreshAt) return this.cached.token;
    this.inflight ??= this.fetchToken().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private assertion(): string {
    const iat = Math.floor(Date.now() / 1000);
    const header = { alg: "RS256", typ: "JWT", kid: this.key.private_key_id };
    const claims = {
      iss: this.key.client_email,
      scope: CLOUD_PLATFORM_SCOPE,
      aud: this.tokenUri,
      iat,
      exp: iat + 3600,
    };
    const unsigned = `${b64url(header)}.${b64url(claims)}`;
    return `${unsigned}.${sign("RSA-SHA256", Buffer.from(unsigned), this.key.private_key).toString("base64url")}`;
  }

  private async fetchToken(): Promise<string> {
    let res: Response;
    try {
      res = await fetch(this.tokenUri, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body: new URLSearchParams({
          grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
          assertion: this.assertion(),
        }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      const c = (e as { cause?: { code?: string; message?: string } }).cause;
      const cause = c?.code ?? c?.message ?? (e as Error).name;
      throw new TokenError(UNAVAILABLE, `token endpoint ${this.tokenUri} unreachable (${cause})`);
    }
    let body: { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown } = {};
    try {
      body = (await res.json()) as typeof body;
    } catch {
      /* reported below by status */
    }
    if (res.ok && typeof body.access_token === "string" && body.access_token !== "") {
      const lifetime = typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in * 1000 : 3600_000;
      // Refresh well before expiry (5 minutes, or half the lifetime of a short-lived token).
      this.cached = { token: body.access_token, refreshAt: Date.now() + Math.max(lifetime - 300_000, lifetime / 2) };
      this.seen.add(body.access_token);
      return body.access_token;
    }
    const reason =
      typeof body.error === "string"
        ? `${body.error}${typeof body.error_description === "string" ? `: ${body.error_description}` : ""}`
        : `HTTP ${res.status}`;
    const code = res.status >= 500 || res.status === 429 ? UNAVAILABLE : UNAUTHENTICATED;
    throw new TokenError(code, `token endpoint ${this.tokenUri} refused the service-account key (${reason})`);
  }
}
