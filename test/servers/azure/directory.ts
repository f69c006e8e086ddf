/**
 * A test Microsoft Entra tenant: app registrations (client secrets, certificates, federated credentials), managed
 * identities, trusted federation issuers, and the key that signs the access tokens the test Key Vault accepts.
 */
import { X509Certificate, createHash, generateKeyPairSync, randomUUID, type KeyObject } from "node:crypto";
import { decodeJwt, nowSeconds, signJwt, timeValid, verifySignature } from "./jwt.js";

export interface Principal {
  /** Object id: what access policies name. */
  objectId: string;
  /** Application (client) id. */
  clientId: string;
  kind: "app" | "managed-identity" | "user";
}

export interface AppRegistration extends Principal {
  kind: "app";
  secrets: string[];
  /** SHA-1 and SHA-256 thumbprints (hex, lower case) → public key of each registered certificate. */
  certificates: Map<string, KeyObject>;
  federated: { issuer: string; subject: string; audience: string }[];
}

export interface FederationIssuer {
  issuer: string;
  /** A token as a Kubernetes service account token would be (what AZURE_FEDERATED_TOKEN_FILE holds). */
  mint(subject: string, audience?: string, lifetimeSeconds?: number): string;
}

export type TokenValidation =
  { ok: true; principal: Principal; claims: Record<string, unknown> } | { ok: false; code: string; message: string };

export const FEDERATION_AUDIENCE = "api://AzureADTokenExchange";

export class Directory {
  readonly tenantId: string;
  private readonly key = generateKeyPairSync("rsa", { modulusLength: 2048 });
  readonly keyId = randomUUID();
  readonly apps = new Map<string, AppRegistration>();
  /** System-assigned identity (if any) and user-assigned ones by client id. */
  systemIdentity: Principal | undefined;
  readonly userIdentities = new Map<string, Principal>();
  private readonly issuers = new Map<string, KeyObject>();
  /** Lifetime of the access tokens the authority and identity endpoint hand out. */
  tokenLifetimeSeconds = 3600;
  /** Every token handed out, for tests that check which flow was used. */
  readonly issued: { flow: string; clientId: string; resource: string }[] = [];

  constructor(tenantId: string = randomUUID()) {
    this.tenantId = tenantId;
  }

  get publicKey(): KeyObject {
    return this.key.publicKey;
  }

  /** Issuer of access tokens for this tenant (v1 tokens, which Key Vault receives). */
  get tokenIssuer(): string {
    return `https://sts.windows.net/${this.tenantId}/`;
  }

  addApp(
    opts: { secret?: string; certificatePem?: string; federated?: { issuer: string; subject: string } } = {},
  ): AppRegistration {
    const app: AppRegistration = {
      kind: "app",
      clientId: randomUUID(),
      objectId: randomUUID(),
      secrets: [],
      certificates: new Map(),
      federated: [],
    };
    if (opts.secret) app.secrets.push(opts.secret);
    if (opts.certificatePem) this.addCertificate(app, opts.certificatePem);
    if (opts.federated) app.federated.push({ ...opts.federated, audience: FEDERATION_AUDIENCE });
    this.apps.set(app.clientId, app);
    return app;
  }

  addCertificate(app: AppRegistration, certificatePem: string): void {
    const cert = new X509Certificate(certificatePem);
    app.certificates.set(createHash("sha1").update(cert.raw).digest("hex"), cert.publicKey);
    app.certificates.set(createHash("sha256").update(cert.raw).digest("hex"), cert.publicKey);
  }

  enableSystemIdentity(): Principal {
    this.systemIdentity = { kind: "managed-identity", clientId: randomUUID(), objectId: randomUUID() };
    return this.systemIdentity;
  }

  addUserIdentity(): Principal {
    const p: Principal = { kind: "managed-identity", clientId: randomUUID(), objectId: randomUUID() };
    this.userIdentities.set(p.clientId, p);
    return p;
  }

  /** Registers an OIDC issuer (e.g. an AKS cluster's) whose tokens apps may federate with. */
  addFederationIssuer(issuer: string): FederationIssuer {
    const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
    this.issuers.set(issuer, pair.publicKey);
    return {
      issuer,
      mint: (subject, audience = FEDERATION_AUDIENCE, lifetimeSeconds = 3600) => {
        const now = nowSeconds();
        return signJwt(
          { iss: issuer, sub: subject, aud: [audience], iat: now, nbf: now, exp: now + lifetimeSeconds },
          pair.privateKey,
          { kid: "sa" },
        );
      },
    };
  }

  /** A user, as `az login` would have signed in. */
  addUser(): Principal {
    return { kind: "user", clientId: "04b07795-8ddb-461a-bbee-02f9e1bf7b46", objectId: randomUUID() };
  }

  /** An access token for `resource` (e.g. https://vault.azure.net), signed by this tenant. */
  issueAccessToken(
    principal: Principal,
    resource: string,
    flow: string,
    lifetimeSeconds = this.tokenLifetimeSeconds,
  ): { token: string; expiresIn: number } {
    const now = nowSeconds();
    const claims = {
      aud: resource,
      iss: this.tokenIssuer,
      iat: now,
      nbf: now,
      exp: now + lifetimeSeconds,
      appid: principal.clientId,
      oid: principal.objectId,
      sub: principal.objectId,
      tid: this.tenantId,
      idtyp: principal.kind === "user" ? "user" : "app",
      ver: "1.0",
    };
    this.issued.push({ flow, clientId: principal.clientId, resource });
    return {
      token: signJwt(claims, this.key.privateKey, { kid: this.keyId, x5t: this.keyId }),
      expiresIn: lifetimeSeconds,
    };
  }

  /** Validates a bearer token the way Key Vault does: signature, issuer, audience, lifetime; AKV codes on failure. */
  validateAccessToken(token: string, resource: string): TokenValidation {
    const jwt = decodeJwt(token);
    if (!jwt) return { ok: false, code: "AKV10000", message: "AKV10000: Request is missing a Bearer or PoP token." };
    if (!verifySignature(jwt, this.key.publicKey))
      return { ok: false, code: "AKV10021", message: "AKV10021: Invalid signature." };
    if (jwt.claims.iss !== this.tokenIssuer)
      return {
        ok: false,
        code: "AKV10032",
        message: `AKV10032: Invalid issuer. Expected one of ${this.tokenIssuer}, found ${String(jwt.claims.iss)}.`,
      };
    const aud = jwt.claims.aud;
    if (aud !== resource && aud !== `${resource}/`) {
      return {
        ok: false,
        code: "AKV10022",
        message: `AKV10022: Invalid audience. Expected ${resource}, found: ${String(aud)}.`,
      };
    }
    if (!timeValid(jwt.claims, 0))
      return { ok: false, code: "AKV10033", message: "AKV10033: Token is expired or not yet valid." };
    const principal: Principal = {
      objectId: String(jwt.claims.oid),
      clientId: String(jwt.claims.appid),
      kind: jwt.claims.idtyp === "user" ? "user" : "app",
    };
    return { ok: true, principal, claims: jwt.claims };
  }

  /** Checks a federated (workload identity) assertion; returns an AADSTS error text on failure. */
  checkFederatedAssertion(app: AppRegistration, assertion: string): string | undefined {
    const jwt = decodeJwt(assertion);
    if (!jwt) return "AADSTS50027: JWT token is invalid or malformed.";
    const iss = String(jwt.claims.iss);
    const key = this.issuers.get(iss);
    if (!key)
      return `AADSTS700211: No matching federated identity record found for presented assertion issuer '${iss}'.`;
    if (!verifySignature(jwt, key)) return "AADSTS700212: The assertion signature is invalid.";
    if (!timeValid(jwt.claims, 0)) return "AADSTS700024: Client assertion is not within its valid time range.";
    const auds = Array.isArray(jwt.claims.aud) ? jwt.claims.aud : [jwt.claims.aud];
    const match = app.federated.find(
      (f) => f.issuer === iss && f.subject === jwt.claims.sub && auds.includes(f.audience),
    );
    if (!match) {
      return `AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: '${iss}'. Assertion Subject: '${String(jwt.claims.sub)}'.`;
    }
    return undefined;
  }

  /** Checks a certificate client assertion (RFC 7523) as Entra ID does. */
  checkCertificateAssertion(app: AppRegistration, assertion: string, tokenEndpoint: string): string | undefined {
    const jwt = decodeJwt(assertion);
    if (!jwt) return "AADSTS50027: JWT token is invalid or malformed.";
    const x5t = (jwt.header["x5t#S256"] ?? jwt.header.x5t) as string | undefined;
    if (!x5t)
      return "AADSTS700027: Client assertion contains an invalid signature. [Reason - The key used is not registered, no x5t header.]";
    const thumbprint = Buffer.from(x5t, "base64url").toString("hex");
    const key = app.certificates.get(thumbprint);
    if (!key) {
      return `AADSTS700027: Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: '${thumbprint.toUpperCase()}']`;
    }
    if (!verifySignature(jwt, key))
      return "AADSTS700027: Client assertion failed signature validation. [Reason - The signature is invalid.]";
    if (jwt.claims.iss !== app.clientId || jwt.claims.sub !== app.clientId) {
      return "AADSTS700021: Client assertion application identifier doesn't match 'client_id' parameter.";
    }
    if (jwt.claims.aud !== tokenEndpoint)
      return `AADSTS700019: Client assertion audience claim does not match Realm issuer. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials.`;
    if (!timeValid(jwt.claims)) return "AADSTS700024: Client assertion is not within its valid time range.";
    return undefined;
  }
}
