/**
 * Service-account JWTs for the test server's Kubernetes auth method. Real Vault asks the Kubernetes API
 * (TokenReview) whether a JWT is valid; this server plays that part itself by checking an HMAC it issued.
 */
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";

export interface ServiceAccountClaims {
  name: string;
  namespace: string;
  uid: string;
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

/** A projected service-account token (the `kubernetes.io` claim shape), valid for `ttlSeconds`. */
export function signServiceAccountJwt(
  key: Buffer,
  name: string,
  namespace: string,
  ttlSeconds = 3600,
  audience = "https://kubernetes.default.svc",
): string {
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    aud: [audience],
    exp: now + ttlSeconds,
    iat: now,
    iss: "https://kubernetes.default.svc.cluster.local",
    "kubernetes.io": { namespace, serviceaccount: { name, uid: randomUUID() } },
    nbf: now,
    sub: `system:serviceaccount:${namespace}:${name}`,
  };
  const head = `${b64({ alg: "HS256", typ: "JWT", kid: "keyward-test" })}.${b64(payload)}`;
  return `${head}.${createHmac("sha256", key).update(head).digest("base64url")}`;
}

/** The TokenReview: the claims if the JWT is one this server issued and has not expired. */
export function reviewServiceAccountJwt(key: Buffer, jwt: string): ServiceAccountClaims | undefined {
  const parts = jwt.split(".");
  if (parts.length !== 3) return undefined;
  const [h, p, sig] = parts as [string, string, string];
  const want = createHmac("sha256", key).update(`${h}.${p}`).digest();
  const got = Buffer.from(sig, "base64url");
  if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as {
      exp?: number;
      "kubernetes.io"?: { namespace?: string; serviceaccount?: { name?: string; uid?: string } };
    };
    if (claims.exp !== undefined && claims.exp * 1000 <= Date.now()) return undefined;
    const k = claims["kubernetes.io"];
    if (!k?.namespace || !k.serviceaccount?.name) return undefined;
    return { name: k.serviceaccount.name, namespace: k.namespace, uid: k.serviceaccount.uid ?? "" };
  } catch {
    return undefined;
  }
}
