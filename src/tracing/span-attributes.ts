/**
 * @module daprd's span names and attributes for the secrets API (pkg/diagnostics and the secrets endpoint
 * group of daprd 1.18), computed from the request alone: no OpenTelemetry types here.
 */
import type { IncomingHttpHeaders } from "node:http";

/** daprd copies `dapr-`-prefixed request headers into the span; the API token never is. */
function userDefined(entries: Iterable<[string, unknown]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of entries) {
    const k = key.toLowerCase();
    if (!k.startsWith("dapr-") || k === "dapr-api-token" || k.endsWith("-bin") || k.length < 6) continue;
    const v = Array.isArray(value) ? value[value.length - 1] : value;
    if (typeof v === "string") out[k] = v;
  }
  return out;
}

/** `store` is set for a route of the secrets API (the store name as decoded). */
export function httpSpanAttributes(
  method: string,
  path: string,
  requestUri: string,
  status: number,
  remote: { address?: string | undefined; port?: number | undefined },
  headers: IncomingHttpHeaders,
  store: string | undefined,
): Record<string, string> {
  return {
    ...userDefined(Object.entries(headers)),
    ...(store === undefined
      ? {}
      : {
          "db.system": "secrets",
          "db.connection_string": "secrets",
          "db.statement": `${method} ${path}`,
          "db.name": store,
        }),
    "dapr.protocol": "http",
    "dapr.api": `${method} ${path}`,
    "dapr.status_code": String(status),
    "http.request.method": method,
    "url.full": requestUri,
    // daprd fills server.* from the caller's address; kept so that queries built on daprd's spans match.
    ...(remote.address === undefined ? {} : { "server.address": remote.address }),
    ...(remote.port === undefined ? {} : { "server.port": String(remote.port) }),
  };
}

/** daprd's status description for an HTTP error answer: `Code(403): Forbidden`. */
export function httpErrorStatus(status: number, statusText: string | undefined): string | undefined {
  return status >= 400 ? `Code(${status}): ${statusText || "Unknown"}` : undefined;
}

/** `store` is set for GetSecret (daprd adds no store attributes to GetBulkSecret). */
export function grpcSpanAttributes(
  fullMethod: string,
  metadata: Iterable<[string, unknown]>,
  store: string | undefined,
): Record<string, string> {
  return {
    ...userDefined(metadata),
    ...(store === undefined
      ? {}
      : {
          "db.name": store,
          "rpc.service": "Dapr",
          "db.system": "secrets",
          "db.statement": fullMethod,
          "db.connection_string": "secrets",
        }),
    "dapr.protocol": "grpc",
    "dapr.api": fullMethod,
  };
}
