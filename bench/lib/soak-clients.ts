/** @module The soak's load: clients that read secrets over HTTP and gRPC and sort every failure by its cause. */
import { Metadata, type ServiceError } from "@grpc/grpc-js";
import { daprGrpcClient, type DaprGrpcClient } from "../../test/helpers/clients.js";

/** Why a request failed, as far as the soak can tell from what it was doing to the sidecar at the time. */
export type FailureKind = "ok" | "backend down" | "during reload" | "unexpected";

export interface Tally {
  ok: number;
  /** A Vault read while the soak had the Vault server stopped: the right answer is an error. */
  backendDown: number;
  /** A read of the reloaded store while its component file was being rewritten. */
  duringReload: number;
  unexpected: number;
  /** The first few unexpected failures, for the report. */
  examples: string[];
}

export const newTally = (): Tally => ({ ok: 0, backendDown: 0, duringReload: 0, unexpected: 0, examples: [] });

export interface Target {
  httpUrl: string;
  grpcAddress: string;
  /** store → secret name → the value it must answer. */
  expected: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** The soak's own view of what it was doing when a request failed. */
  classify(store: string, startedAt: number): Exclude<FailureKind, "ok">;
}

const REQUEST_TIMEOUT_MS = 10_000;

type Op = (t: Target, store: string, name: string) => Promise<string | undefined>;

async function httpGet(t: Target, store: string, name: string): Promise<string | undefined> {
  const res = await fetch(`${t.httpUrl}/v1.0/secrets/${store}/${encodeURIComponent(name)}`, {
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
  return Object.values(JSON.parse(text) as Record<string, string>)[0];
}

async function httpBulk(t: Target, store: string, name: string): Promise<string | undefined> {
  const res = await fetch(`${t.httpUrl}/v1.0/secrets/${store}/bulk`, {
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`HTTP ${res.status} (bulk): ${text.slice(0, 200)}`);
  const secret = (JSON.parse(text) as Record<string, Record<string, string>>)[name];
  return secret ? Object.values(secret)[0] : undefined;
}

function grpcOp(method: "GetSecret" | "GetBulkSecret"): (client: DaprGrpcClient) => Op {
  return (client) => (_t, store, name) =>
    new Promise((resolve, reject) => {
      const req = method === "GetSecret" ? { store_name: store, key: name } : { store_name: store };
      const call = client as unknown as Record<string, (...a: unknown[]) => void>;
      call[method]!(
        req,
        new Metadata(),
        { deadline: Date.now() + REQUEST_TIMEOUT_MS },
        (err: ServiceError | null, res: unknown) => {
          if (err) return reject(new Error(`gRPC ${err.code}: ${err.details}`));
          const data = (res as { data: Record<string, string | { secrets: Record<string, string> }> }).data;
          const entry = method === "GetSecret" ? data : data[name];
          const value = typeof entry === "object" && entry !== null && "secrets" in entry ? entry.secrets : entry;
          resolve(Object.values((value ?? {}) as Record<string, string>)[0]);
        },
      );
    });
}

/** Runs one client until `stop` says so: mostly single reads, a bulk read now and then, both transports. */
export async function runClient(t: Target, id: number, tally: Tally, stop: () => boolean, pauseMs: number) {
  const client = daprGrpcClient(t.grpcAddress);
  const ops: Op[] = [httpGet, grpcOp("GetSecret")(client)];
  const bulkOps: Op[] = [httpBulk, grpcOp("GetBulkSecret")(client)];
  const stores = [...t.expected.keys()];
  for (let i = id; !stop(); i++) {
    const store = stores[i % stores.length]!;
    const names = [...t.expected.get(store)!.keys()];
    const name = names[(i * 7) % names.length]!;
    const op = i % 25 === 0 ? bulkOps[i % 2]! : ops[(i >> 1) % 2]!;
    const startedAt = Date.now();
    let kind: FailureKind;
    let why = "";
    try {
      const value = await op(t, store, name);
      if (value === t.expected.get(store)!.get(name)) {
        tally.ok++;
        kind = "ok";
      } else [kind, why] = ["unexpected", "a wrong value"];
    } catch (err) {
      [kind, why] = [t.classify(store, startedAt), (err as Error).message];
    }
    if (kind === "backend down") tally.backendDown++;
    else if (kind === "during reload") tally.duringReload++;
    else if (kind === "unexpected") {
      tally.unexpected++;
      if (tally.examples.length < 5) tally.examples.push(`${store}/${name}: ${why}`);
    }
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  client.close();
}
