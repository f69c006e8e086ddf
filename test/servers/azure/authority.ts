/**
 * A local Microsoft Entra ID authority over HTTPS, per the identity platform's OAuth 2.0 client credentials
 * reference: OpenID discovery, JWKS, and `/{tenant}/oauth2/v2.0/token` accepting a client secret, a certificate
 * client assertion, or a federated (workload identity) assertion. Errors carry AADSTS codes as Entra ID's do.
 */
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import { closeServer, listen, readBody, sendJson } from "./http.js";
import type { Directory } from "./directory.js";

const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

export interface AuthorityServer {
  /** `https://127.0.0.1:PORT`, what AZURE_AUTHORITY_HOST or azureAuthorityHost gets. */
  url: string;
  /** Every request: method and path, for tests. */
  requests: { method: string; path: string; status: number }[];
  close(): Promise<void>;
}

export async function startAuthorityServer(
  directory: Directory,
  tls: { cert: string; key: string },
): Promise<AuthorityServer> {
  const requests: AuthorityServer["requests"] = [];
  let base = "";

  const entraError = (
    res: ServerResponse,
    status: number,
    error: string,
    description: string,
    codes: number[],
  ): void => {
    const now = new Date()
      .toISOString()
      .replace("T", " ")
      .replace(/\.\d+Z$/, "Z");
    const trace = randomUUID();
    const correlation = randomUUID();
    sendJson(res, status, {
      error,
      error_description: `${description}\r\nTrace ID: ${trace}\r\nCorrelation ID: ${correlation}\r\nTimestamp: ${now}`,
      error_codes: codes,
      timestamp: now,
      trace_id: trace,
      correlation_id: correlation,
      error_uri: `${base}/error?code=${codes[0] ?? 0}`,
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", base);
    const parts = url.pathname.split("/").filter(Boolean);
    const tenant = parts[0] ?? "";
    const rest = parts.slice(1).join("/");
    const knownTenant = tenant === directory.tenantId;

    if (req.method === "GET" && rest === "v2.0/.well-known/openid-configuration") {
      if (!knownTenant)
        return entraError(
          res,
          400,
          "invalid_tenant",
          `AADSTS90002: Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
          [90002],
        );
      const t = `${base}/${tenant}`;
      return sendJson(res, 200, {
        token_endpoint: `${t}/oauth2/v2.0/token`,
        token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        jwks_uri: `${t}/discovery/v2.0/keys`,
        response_modes_supported: ["query", "fragment", "form_post"],
        subject_types_supported: ["pairwise"],
        id_token_signing_alg_values_supported: ["RS256"],
        response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
        scopes_supported: ["openid", "profile", "email", "offline_access"],
        issuer: `${t}/v2.0`,
        request_uri_parameter_supported: false,
        userinfo_endpoint: `${base}/oidc/userinfo`,
        authorization_endpoint: `${t}/oauth2/v2.0/authorize`,
        device_authorization_endpoint: `${t}/oauth2/v2.0/devicecode`,
        http_logout_supported: true,
        frontchannel_logout_supported: true,
        end_session_endpoint: `${t}/oauth2/v2.0/logout`,
        claims_supported: ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid"],
        kerberos_endpoint: `${t}/kerberos`,
        tenant_region_scope: "EU",
        cloud_instance_name: "microsoftonline.com",
        cloud_graph_host_name: "graph.windows.net",
        msgraph_host: "graph.microsoft.com",
        rbac_url: "https://pas.windows.net",
      });
    }
    if (req.method === "GET" && rest === "discovery/v2.0/keys") {
      const jwk = directory.publicKey.export({ format: "jwk" });
      return sendJson(res, 200, { keys: [{ kty: "RSA", use: "sig", kid: directory.keyId, n: jwk.n, e: jwk.e }] });
    }
    if (req.method === "GET" && tenant === "common" && rest === "discovery/instance") {
      const host = new URL(base).host;
      return sendJson(res, 200, {
        tenant_discovery_endpoint: `${base}/${url.searchParams.get("authorization_endpoint")?.split("/")[3] ?? "common"}/v2.0/.well-known/openid-configuration`,
        "api-version": "1.1",
        metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
      });
    }
    if (rest !== "oauth2/v2.0/token")
      return entraError(res, 404, "not_found", `AADSTS90000: The path ${url.pathname} does not exist.`, [90000]);
    if (req.method !== "POST")
      return entraError(
        res,
        405,
        "invalid_request",
        "AADSTS900561: The endpoint only accepts POST requests.",
        [900561],
      );
    if (!knownTenant)
      return entraError(res, 400, "invalid_tenant", `AADSTS90002: Tenant '${tenant}' not found.`, [90002]);
    if (!(req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) {
      return entraError(
        res,
        400,
        "invalid_request",
        "AADSTS900144: The request body must contain the following parameter: 'grant_type'.",
        [900144],
      );
    }
    const form = new URLSearchParams(await readBody(req));
    const grant = form.get("grant_type");
    if (!grant)
      return entraError(
        res,
        400,
        "invalid_request",
        "AADSTS900144: The request body must contain the following parameter: 'grant_type'.",
        [900144],
      );
    if (grant !== "client_credentials")
      return entraError(
        res,
        400,
        "unsupported_grant_type",
        `AADSTS70003: The app requested an unsupported grant type '${grant}'.`,
        [70003],
      );
    const clientId = form.get("client_id");
    if (!clientId)
      return entraError(
        res,
        400,
        "invalid_request",
        "AADSTS900144: The request body must contain the following parameter: 'client_id'.",
        [900144],
      );
    const scope = form.get("scope") ?? "";
    const resource = scope
      .split(" ")
      .find((s) => s.endsWith("/.default"))
      ?.slice(0, -"/.default".length);
    if (!resource) {
      return entraError(
        res,
        400,
        "invalid_scope",
        `AADSTS1002012: The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
        [1002012],
      );
    }
    const app = directory.apps.get(clientId);
    if (!app) {
      return entraError(
        res,
        400,
        "unauthorized_client",
        `AADSTS700016: Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`,
        [700016],
      );
    }
    let flow: string;
    const secret = form.get("client_secret");
    const assertion = form.get("client_assertion");
    if (secret !== null) {
      if (!app.secrets.includes(secret)) {
        return entraError(
          res,
          401,
          "invalid_client",
          `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
          [7000215],
        );
      }
      flow = "client_secret";
    } else if (assertion !== null) {
      if (form.get("client_assertion_type") !== JWT_BEARER) {
        return entraError(
          res,
          400,
          "invalid_request",
          "AADSTS50027: Invalid client_assertion_type; expected urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
          [50027],
        );
      }
      const header = JSON.parse(
        Buffer.from(assertion.split(".")[0] ?? "", "base64url").toString("utf8") || "{}",
      ) as Record<string, unknown>;
      const isCertificate = header.x5t !== undefined || header["x5t#S256"] !== undefined;
      const problem = isCertificate
        ? directory.checkCertificateAssertion(app, assertion, `${base}/${tenant}/oauth2/v2.0/token`)
        : directory.checkFederatedAssertion(app, assertion);
      if (problem) {
        const code = Number(/AADSTS(\d+)/.exec(problem)?.[1] ?? 0);
        return entraError(
          res,
          code === 70021 ? 400 : 401,
          code === 70021 ? "invalid_request" : "invalid_client",
          problem,
          [code],
        );
      }
      flow = isCertificate ? "client_certificate" : "workload_identity";
    } else {
      return entraError(
        res,
        401,
        "invalid_client",
        "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        [7000218],
      );
    }
    const { token, expiresIn } = directory.issueAccessToken(app, resource, flow);
    sendJson(
      res,
      200,
      { token_type: "Bearer", expires_in: expiresIn, ext_expires_in: expiresIn, access_token: token },
      { "cache-control": "no-store, no-cache", pragma: "no-cache" },
    );
  };

  const server: Server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    res.on("finish", () =>
      requests.push({ method: req.method ?? "", path: (req.url ?? "").split("?")[0] ?? "", status: res.statusCode }),
    );
    handle(req, res).catch((err: unknown) =>
      sendJson(res, 500, { error: "server_error", error_description: String(err) }),
    );
  });
  const port = await listen(server);
  base = `https://127.0.0.1:${port}`;
  return { url: base, requests, close: () => closeServer(server) };
}
