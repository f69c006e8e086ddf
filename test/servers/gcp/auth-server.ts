/**
 * Google's token side for tests, on one local HTTP server:
 * - the OAuth 2.0 token endpoint (`token_uri` of a service-account key) for the JWT-bearer grant
 *   (RFC 7523), with Google's error bodies (`{"error":"invalid_grant","error_description":...}`);
 * - the GCE/GKE metadata server (`GCE_METADATA_HOST`), which Application Default Credentials use on
 *   Google's compute platforms: `Metadata-Flavor: Google` required and echoed, default service-account
 *   token, project id, universe domain.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { CLOUD_PLATFORM_SCOPE, type TestIdentity } from "./identity.js";

export interface GcpAuthServer {
  /** The token endpoint, for a key's `token_uri`. */
  tokenUri: string;
  /** host:port for GCE_METADATA_HOST. */
  metadataHost: string;
  /** Grants answered with a token / refused. */
  counts: { granted: number; refused: number; metadataTokens: number };
  close(): Promise<void>;
}

export interface GcpAuthServerOptions {
  identity: TestIdentity;
  /** The service account the metadata server hands tokens for; no metadata routes without it. */
  metadata?: { email: string; projectId: string };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-cache, no-store, max-age=0, must-revalidate",
  });
  res.end(JSON.stringify(body));
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function startGcpAuthServer(opts: GcpAuthServerOptions): Promise<GcpAuthServer> {
  const counts = { granted: 0, refused: 0, metadataTokens: 0 };
  let tokenUri = "";

  const refuse = (res: ServerResponse, error: string, description: string) => {
    counts.refused++;
    json(res, 400, { error, error_description: description });
  };

  const token = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== "POST")
      return json(res, 405, { error: "invalid_request", error_description: "Method not allowed" });
    if (!(req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) {
      return refuse(res, "invalid_request", "Bad Request");
    }
    const form = new URLSearchParams(await body(req));
    const grant = form.get("grant_type");
    if (grant !== "urn:ietf:params:oauth:grant-type:jwt-bearer")
      return refuse(res, "unsupported_grant_type", `Invalid grant_type: ${grant ?? ""}`);
    const assertion = form.get("assertion");
    if (!assertion) return refuse(res, "invalid_request", "Missing required parameter: assertion");
    const v = opts.identity.verifyJwt(assertion);
    if (!v.ok) return refuse(res, "invalid_grant", v.reason);
    if (v.claims.aud !== tokenUri) return refuse(res, "invalid_grant", "Invalid JWT: Failed audience check.");
    if (!(v.claims.scope ?? "").split(" ").includes(CLOUD_PLATFORM_SCOPE)) {
      return refuse(res, "invalid_scope", "Invalid OAuth scope or ID token audience provided.");
    }
    counts.granted++;
    json(res, 200, opts.identity.issueToken(v.principal));
  };

  const metadata = (req: IncomingMessage, res: ServerResponse, path: string) => {
    const md = opts.metadata;
    if (!md) return json(res, 404, {});
    if (req.headers["metadata-flavor"] !== "Google") {
      res.writeHead(403, { "content-type": "text/html" });
      return res.end("Missing Metadata-Flavor:Google header.");
    }
    const text = (status: number, value: string) => {
      res.writeHead(status, { "metadata-flavor": "Google", "content-type": "application/text" });
      res.end(value);
    };
    switch (path) {
      case "/computeMetadata/v1/instance":
      case "/computeMetadata/v1/instance/":
        return text(200, "attributes/\nhostname\nid\nservice-accounts/\nzone\n");
      case "/computeMetadata/v1/project/project-id":
        return text(200, md.projectId);
      case "/computeMetadata/v1/universe/universe-domain":
        return text(200, "googleapis.com");
      case "/computeMetadata/v1/instance/service-accounts/default/email":
        return text(200, md.email);
      case "/computeMetadata/v1/instance/service-accounts/default/token": {
        counts.metadataTokens++;
        res.writeHead(200, { "metadata-flavor": "Google", "content-type": "application/json" });
        return res.end(JSON.stringify(opts.identity.issueToken(md.email)));
      }
      default:
        return text(404, "Not Found");
    }
  };

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/token") {
      token(req, res).catch(() => json(res, 500, { error: "internal_failure" }));
      return;
    }
    if (path.startsWith("/computeMetadata/")) return metadata(req, res, path);
    json(res, 404, { error: "not_found" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  tokenUri = `http://127.0.0.1:${port}/token`;
  return {
    tokenUri,
    metadataHost: `127.0.0.1:${port}`,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
