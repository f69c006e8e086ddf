/** Compact JWS (JWT) signing and verification with node:crypto, for the test authority and vault. */
import { constants, createSign, createVerify, type KeyObject } from "node:crypto";

export type JwtHeader = Record<string, unknown> & { alg: string };
export type JwtClaims = Record<string, unknown>;

const b64url = (buf: Buffer | string): string => Buffer.from(buf).toString("base64url");

export function signJwt(claims: JwtClaims, key: KeyObject, header: Record<string, unknown> = {}): string {
  const head = { alg: "RS256", typ: "JWT", ...header };
  const input = `${b64url(JSON.stringify(head))}.${b64url(JSON.stringify(claims))}`;
  const signature = createSign("RSA-SHA256").update(input).sign(key);
  return `${input}.${b64url(signature)}`;
}

export interface DecodedJwt {
  header: JwtHeader;
  claims: JwtClaims;
  input: string;
  signature: Buffer;
}

/** Splits and parses a JWT without checking it; undefined when it is not one. */
export function decodeJwt(token: string): DecodedJwt | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0] as string, "base64url").toString("utf8")) as JwtHeader;
    const claims = JSON.parse(Buffer.from(parts[1] as string, "base64url").toString("utf8")) as JwtClaims;
    if (typeof header !== "object" || typeof claims !== "object" || typeof header.alg !== "string") return undefined;
    return {
      header,
      claims,
      input: `${parts[0]}.${parts[1]}`,
      signature: Buffer.from(parts[2] as string, "base64url"),
    };
  } catch {
    return undefined;
  }
}

/** Checks an RS256 or PS256 signature (what MSAL uses for client assertions). */
export function verifySignature(jwt: DecodedJwt, key: KeyObject): boolean {
  const verifier = createVerify("RSA-SHA256").update(jwt.input);
  if (jwt.header.alg === "RS256") return verifier.verify(key, jwt.signature);
  if (jwt.header.alg === "PS256") {
    return verifier.verify(
      { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
      jwt.signature,
    );
  }
  return false;
}

/** Seconds since the epoch. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** exp/nbf check with a little clock skew, as Entra ID allows. */
export function timeValid(claims: JwtClaims, skewSeconds = 300): boolean {
  const now = nowSeconds();
  if (typeof claims.exp !== "number" || claims.exp + skewSeconds < now) return false;
  if (typeof claims.nbf === "number" && claims.nbf - skewSeconds > now) return false;
  return true;
}
