/**
 * Real clients for the sidecar's two transports, behind one shape so each API case runs over both:
 * HTTP through fetch, gRPC through grpc-js with the Dapr protos vendored in proto/.
 */
import { join } from "node:path";
import { credentials, loadPackageDefinition, Metadata, type Client, type ServiceError } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { describe } from "node:test";
import { REPO_ROOT } from "./paths.js";

export type Outcome =
  | { ok: true; data: Record<string, unknown> | null; status: number | string }
  | { ok: false; httpStatus?: number; grpcCode?: number; errorCode?: string; message: string };

export interface SecretsClient {
  transport: "http" | "grpc";
  get(store: string, key: string, metadata?: Record<string, string>): Promise<Outcome>;
  bulk(store: string, metadata?: Record<string, string>): Promise<Outcome>;
  close(): void;
}

export function httpSecretsClient(baseUrl: string, token?: string): SecretsClient {
  const headers: Record<string, string> = token ? { "dapr-api-token": token } : {};
  const call = async (path: string, metadata: Record<string, string> = {}): Promise<Outcome> => {
    const qs = Object.entries(metadata)
      .map(([k, v]) => `metadata.${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
      .join("&");
    const res = await fetch(`${baseUrl}${path}${qs ? `?${qs}` : ""}`, { headers });
    const text = await res.text();
    if (res.status === 200) return { ok: true, data: JSON.parse(text) as Record<string, unknown>, status: 200 };
    if (res.status === 204) return { ok: true, data: null, status: 204 };
    let body: { errorCode?: string; message?: string } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      body = { message: text };
    }
    return { ok: false, httpStatus: res.status, errorCode: body.errorCode, message: body.message ?? text };
  };
  return {
    transport: "http",
    get: (store, key, md) => call(`/v1.0/secrets/${encodeURIComponent(store)}/${encodeURIComponent(key)}`, md),
    bulk: (store, md) => call(`/v1.0/secrets/${encodeURIComponent(store)}/bulk`, md),
    close: () => undefined,
  };
}

type Unary = (req: unknown, md: Metadata, cb: (err: ServiceError | null, res: unknown) => void) => void;
export type DaprGrpcClient = Client & Record<string, Unary>;

export function daprGrpcClient(address: string, options: Record<string, unknown> = {}): DaprGrpcClient {
  const def = loadSync("dapr/proto/runtime/v1/dapr.proto", {
    includeDirs: [join(REPO_ROOT, "proto")],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
  });
  const pkg = loadPackageDefinition(def) as unknown as {
    dapr: { proto: { runtime: { v1: { Dapr: new (a: string, c: unknown, o: unknown) => DaprGrpcClient } } } };
  };
  return new pkg.dapr.proto.runtime.v1.Dapr(address, credentials.createInsecure(), options);
}

/** Calls one unary method; resolves with the response or the ServiceError. */
export function unary(
  client: DaprGrpcClient,
  method: string,
  req: unknown,
  md = new Metadata(),
): Promise<{ res?: Record<string, unknown>; err?: ServiceError }> {
  return new Promise((resolve) =>
    client[method]!(req, md, (err, res) => resolve(err ? { err } : { res: res as Record<string, unknown> })),
  );
}

export function grpcSecretsClient(address: string, token?: string): SecretsClient {
  const client = daprGrpcClient(address);
  const md = () => {
    const m = new Metadata();
    if (token) m.set("dapr-api-token", token);
    return m;
  };
  const toOutcome = (
    r: { res?: Record<string, unknown>; err?: ServiceError },
    map: (res: Record<string, unknown>) => Record<string, unknown>,
  ): Outcome =>
    r.err ? { ok: false, grpcCode: r.err.code, message: r.err.details } : { ok: true, data: map(r.res!), status: "OK" };
  return {
    transport: "grpc",
    get: async (store, key, metadata = {}) =>
      toOutcome(
        await unary(client, "GetSecret", { store_name: store, key, metadata }, md()),
        (res) => res.data as Record<string, unknown>,
      ),
    bulk: async (store, metadata = {}) =>
      toOutcome(await unary(client, "GetBulkSecret", { store_name: store, metadata }, md()), (res) => {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(res.data as Record<string, { secrets: Record<string, string> }>))
          out[k] = v.secrets;
        return out;
      }),
    close: () => client.close(),
  };
}

/** Runs the same cases over HTTP and over gRPC against one sidecar (h3's describeMatrix idea). */
export function describeTransports(
  name: string,
  endpoints: () => { httpUrl: string; grpcAddress: string; token?: string },
  body: (client: () => SecretsClient) => void,
): void {
  for (const transport of ["http", "grpc"] as const) {
    describe(`${name} over ${transport}`, () => {
      let c: SecretsClient | undefined;
      const get = () => {
        if (!c) {
          const e = endpoints();
          c = transport === "http" ? httpSecretsClient(e.httpUrl, e.token) : grpcSecretsClient(e.grpcAddress, e.token);
        }
        return c;
      };
      body(get);
    });
  }
}

/** Asserts an error outcome matches a catalogue entry on whichever transport produced it. */
export function expectError(
  o: Outcome,
  want: { errorCode: string; http: number; grpc: number; message?: string | RegExp },
): void {
  if (o.ok) throw new Error(`expected ${want.errorCode}, got success ${JSON.stringify(o.data)}`);
  if (o.httpStatus !== undefined) {
    if (o.httpStatus !== want.http || o.errorCode !== want.errorCode)
      throw new Error(`expected HTTP ${want.http} ${want.errorCode}, got ${o.httpStatus} ${o.errorCode}: ${o.message}`);
  } else if (o.grpcCode !== want.grpc)
    throw new Error(`expected gRPC code ${want.grpc}, got ${o.grpcCode}: ${o.message}`);
  if (typeof want.message === "string" && o.message !== want.message)
    throw new Error(`expected message ${JSON.stringify(want.message)}, got ${JSON.stringify(o.message)}`);
  if (want.message instanceof RegExp && !want.message.test(o.message))
    throw new Error(`message ${JSON.stringify(o.message)} does not match ${want.message}`);
}
