/**
 * Who may call the test Secret Manager: service-account keys (RSA, as Google issues them), OAuth access
 * tokens issued by the test token endpoint or metadata server, and JWT verification for both the
 * self-signed-JWT path (what Google's client libraries send by default) and the JWT-bearer grant.
 */
import { generateKeyPairSync, randomBytes, verify, type KeyObject } from "node:crypto";

export const CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform";
export const SECRET_MANAGER_AUDIENCE = "https://secretmanager.googleapis.com/";

/** The JSON key file Google hands out for a service account (the fields daprd's metadata mirrors). */
export interface ServiceAccountKey {
  type: "service_account";
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id: string;
  auth_uri: string;
  token_uri: string;
  auth_provider_x509_cert_url: string;
  client_x509_cert_url: string;
  universe_domain: string;
}

export interface JwtClaims {
  iss?: string;
  sub?: string;
  aud?: string;
  scope?: string;
  iat?: number;
  exp?: number;
}

type Verified = { ok: true; principal: string; claims: JwtClaims } | { ok: false; reason: string };

function b64urlJson(part: string): unknown {
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as unknown;
}

export class TestIdentity {
  private readonly keys = new Map<string, { email: string; publicKey: KeyObject }>();
  private readonly tokens = new Map<string, { principal: string; expiresAt: number }>();
  /** Every access token ever issued, so tests can check none leaks into output. */
  readonly issued: string[] = [];

  /** Creates a service account key; `tokenUri` is written into the key file as Google does. */
  createServiceAccount(
    email: string,
    projectId: string,
    tokenUri = "https://oauth2.googleapis.com/token",
  ): ServiceAccountKey {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const keyId = randomBytes(20).toString("hex");
    this.keys.set(keyId, { email, publicKey });
    return {
      type: "service_account",
      project_id: projectId,
      private_key_id: keyId,
      private_key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
      client_email: email,
      client_id: String(100000000000000000000n + BigInt(this.keys.size)),
      auth_uri: "https://accounts.google.com/o/oauth2/auth",
      token_uri: tokenUri,
      auth_provider_x509_cert_url: "https://www.googleapis.com/oauth2/v1/certs",
      client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(email)}`,
      universe_domain: "googleapis.com",
    };
  }

  /** Deletes a key, as `gcloud iam service-accounts keys delete` does: its signatures stop verifying. */
  revokeKey(keyId: string): void {
    this.keys.delete(keyId);
  }

  issueToken(principal: string, ttlSeconds = 3599): { access_token: string; expires_in: number; token_type: "Bearer" } {
    const token = `ya29.test-${randomBytes(24).toString("base64url")}`;
    this.tokens.set(token, { principal, expiresAt: Date.now() + ttlSeconds * 1000 });
    this.issued.push(token);
    return { access_token: token, expires_in: ttlSeconds, token_type: "Bearer" };
  }

  /**
   * Verifies an RS256 JWT signed with a registered service-account key: the `kid` (or, without one,
   * the issuer's keys) must verify the signature, and the token must be current and short-lived.
   */
  verifyJwt(jwt: string): Verified {
    const parts = jwt.split(".");
    if (parts.length !== 3) return { ok: false, reason: "not a JWT" };
    let header: { alg?: string; kid?: string };
    let claims: JwtClaims;
    try {
      header = b64urlJson(parts[0] as string) as typeof header;
      claims = b64urlJson(parts[1] as string) as JwtClaims;
    } catch {
      return { ok: false, reason: "malformed JWT" };
    }
    if (header.alg !== "RS256") return { ok: false, reason: "unsupported JWT algorithm" };
    const candidates = header.kid
      ? [this.keys.get(header.kid)].filter((k) => k !== undefined)
      : [...this.keys.values()].filter((k) => k.email === claims.iss);
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
    const signature = Buffer.from(parts[2] as string, "base64url");
    const key = candidates.find((k) => k.email === claims.iss && verify("RSA-SHA256", signed, k.publicKey, signature));
    if (!key) return { ok: false, reason: "Invalid JWT Signature." };
    const now = Math.floor(Date.now() / 1000);
    if (
      typeof claims.iat !== "number" ||
      typeof claims.exp !== "number" ||
      claims.exp <= now - 60 ||
      claims.iat > now + 60 ||
      claims.exp - claims.iat > 3600
    ) {
      return {
        ok: false,
        reason:
          "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
      };
    }
    return { ok: true, principal: key.email, claims };
  }

  /** The caller behind an `authorization` header, as Google's front end decides it. */
  authenticate(authorization: string | undefined): { ok: true; principal: string } | { ok: false; missing: boolean } {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? "");
    if (!m) return { ok: false, missing: !authorization };
    const token = m[1] as string;
    const known = this.tokens.get(token);
    if (known)
      return known.expiresAt > Date.now() ? { ok: true, principal: known.principal } : { ok: false, missing: false };
    if (token.split(".").length === 3) {
      // A self-signed JWT is accepted for an API audience or the cloud-platform scope.
      const v = this.verifyJwt(token);
      if (
        v.ok &&
        (v.claims.aud === SECRET_MANAGER_AUDIENCE || (v.claims.scope ?? "").split(" ").includes(CLOUD_PLATFORM_SCOPE))
      ) {
        return { ok: true, principal: v.principal };
      }
    }
    return { ok: false, missing: false };
  }
}
