/**
 * A local managed identity endpoint as App Service, Functions and Container Apps expose it
 * (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`, api-version 2019-08-01): GET with the `X-IDENTITY-HEADER` secret,
 * `resource`, and `client_id` for a user-assigned identity.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import { closeServer, listen, sendJson } from "./http.js";
import type { Directory } from "./directory.js";

export interface ManagedIdentityServer {
  /** Value for IDENTITY_ENDPOINT. */
  endpoint: string;
  /** Value for IDENTITY_HEADER. */
  header: string;
  /** Environment variables a host with this identity endpoint has. */
  env: Record<string, string>;
  requests: { query: Record<string, string>; status: number }[];
  close(): Promise<void>;
}

export async function startManagedIdentityServer(directory: Directory): Promise<ManagedIdentityServer> {
  const header = randomBytes(16).toString("hex");
  const requests: ManagedIdentityServer["requests"] = [];
  const fail = (status: number, message: string) => ({
    status,
    body: { statusCode: status, message, correlationId: randomUUID() },
  });

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const query = Object.fromEntries(url.searchParams);
    const answer = (() => {
      if (url.pathname !== "/msi/token") return fail(404, "Not found");
      if (req.method !== "GET") return fail(405, "Method not allowed");
      if (req.headers["x-identity-header"] !== header)
        return fail(401, "The X-IDENTITY-HEADER header is missing or invalid.");
      if (query["api-version"] !== "2019-08-01")
        return fail(400, `The api-version '${query["api-version"] ?? ""}' is not supported; use 2019-08-01.`);
      const resource = query.resource;
      if (!resource) return fail(400, "The resource parameter is required.");
      const clientId = query.client_id ?? query.mi_res_id ?? query.principal_id;
      const identity = clientId ? directory.userIdentities.get(clientId) : directory.systemIdentity;
      if (!identity) {
        return fail(
          400,
          clientId
            ? "No User Assigned or Delegated Managed Identity found for specified ClientId/ResourceId/PrincipalId."
            : "No Managed Identity found.",
        );
      }
      const { token, expiresIn } = directory.issueAccessToken(
        identity,
        resource,
        clientId ? "managed_identity_user" : "managed_identity_system",
      );
      return {
        status: 200,
        body: {
          access_token: token,
          expires_on: String(Math.floor(Date.now() / 1000) + expiresIn),
          resource,
          token_type: "Bearer",
          client_id: identity.clientId,
        },
      };
    })();
    requests.push({ query, status: answer.status });
    sendJson(res, answer.status, answer.body);
  });
  const port = await listen(server);
  const endpoint = `http://127.0.0.1:${port}/msi/token`;
  return {
    endpoint,
    header,
    env: { IDENTITY_ENDPOINT: endpoint, IDENTITY_HEADER: header },
    requests,
    close: () => closeServer(server),
  };
}
