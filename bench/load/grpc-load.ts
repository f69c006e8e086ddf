/**
 * @module gRPC load generator for `dapr.proto.runtime.v1.Dapr/GetSecret`, its own process. It uses
 * @grpc/grpc-js, as Node apps do, but sends pre-encoded request bytes and keeps the reply as bytes, so
 * protobuf work on the client side does not cap the rate the servers are measured at.
 * Modes as in http-load: "closed" keeps `inFlight` calls outstanding; "rate" is an open-loop schedule.
 */
import { Client, credentials, type ServiceError } from "@grpc/grpc-js";
import { isMain } from "../lib/main.js";
import { Samples, summarize } from "../lib/stats.js";
import type { LoadResult } from "./http-load.js";

export interface GrpcLoadSpec {
  port: number;
  store: string;
  key: string;
  mode: "closed" | "rate";
  inFlight: number;
  /** Separate channels (connections) the calls are spread over; 1 when unset. */
  channels?: number;
  rate?: number;
  warmupMs: number;
  durationMs: number;
}

const METHOD = "/dapr.proto.runtime.v1.Dapr/GetSecret";

function stringField(tag: number, s: string): Buffer {
  const data = Buffer.from(s, "utf8");
  if (data.length > 127) throw new Error("bench strings are short");
  return Buffer.concat([Buffer.from([(tag << 3) | 2, data.length]), data]);
}

/** GetSecretRequest{store_name: 1, key: 2}. */
export function encodeGetSecretRequest(store: string, key: string): Buffer {
  return Buffer.concat([stringField(1, store), stringField(2, key)]);
}

const identity = (b: Buffer) => b;

export async function runGrpcLoad(spec: GrpcLoadSpec): Promise<LoadResult> {
  // A local subchannel pool per client: otherwise grpc-js shares one connection among all of them.
  const clients = Array.from(
    { length: Math.max(1, spec.channels ?? 1) },
    () => new Client(`127.0.0.1:${spec.port}`, credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 }),
  );
  await Promise.all(
    clients.map(
      (c) =>
        new Promise<void>((resolve, reject) =>
          c.waitForReady(Date.now() + 5000, (err) => (err ? reject(err) : resolve())),
        ),
    ),
  );
  let next = 0;
  const request = encodeGetSecretRequest(spec.store, spec.key);
  const samples = new Samples();
  let completed = 0;
  let errors = 0;
  let total = 0;
  let firstBody: Buffer | undefined;
  let firstStatus = -1;
  let lastError = "";
  let outstanding = 0;
  const start = performance.now();
  const measureFrom = start + spec.warmupMs;
  const endAt = measureFrom + spec.durationMs;

  const call = (again: boolean): void => {
    const sentAt = performance.now();
    outstanding++;
    const client = clients[next++ % clients.length]!;
    client.makeUnaryRequest(METHOD, identity, identity, request, (err: ServiceError | null, reply?: Buffer) => {
      const now = performance.now();
      outstanding--;
      total++;
      if (firstBody === undefined) {
        firstBody = reply ?? Buffer.alloc(0);
        firstStatus = err ? err.code : 0;
      }
      if (err) lastError = err.message;
      if (sentAt >= measureFrom && now <= endAt) {
        if (err) errors++;
        else {
          completed++;
          samples.push(now - sentAt);
        }
      }
      if (again && now < endAt) call(true);
    });
  };

  let cpuAt = measureFrom;
  let cpu0 = process.cpuUsage();
  const cpuTimer = setTimeout(
    () => {
      cpuAt = performance.now();
      cpu0 = process.cpuUsage();
    },
    Math.max(0, measureFrom - performance.now()),
  );
  if (spec.mode === "closed") {
    for (let i = 0; i < spec.inFlight; i++) call(true);
    await new Promise((r) => setTimeout(r, endAt - performance.now()));
  } else {
    const interval = 1000 / (spec.rate ?? 1000);
    let sent = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        if (now >= endAt) return resolve();
        while (start + sent * interval <= now) {
          call(false);
          sent++;
        }
        setTimeout(tick, 1);
      };
      tick();
    });
  }
  const cpuUsed = process.cpuUsage(cpu0);
  const cpuWall = performance.now() - cpuAt;
  clearTimeout(cpuTimer);
  for (let i = 0; i < 200 && outstanding > 0; i++) await new Promise((r) => setTimeout(r, 10));
  for (const c of clients) c.close();
  if (completed === 0) throw new Error(`no successful call: ${lastError}`);
  return {
    completed,
    errors,
    total,
    elapsedMs: spec.durationMs,
    perSecond: (completed / spec.durationMs) * 1000,
    latency: summarize(samples.values()),
    clientCpuShare: (cpuUsed.user + cpuUsed.system) / 1000 / cpuWall,
    delayedSends: 0,
    firstBody: (firstBody ?? Buffer.alloc(0)).toString("base64"),
    firstStatus,
  };
}

if (isMain(import.meta.url)) {
  runGrpcLoad(JSON.parse(process.argv[2]!) as GrpcLoadSpec).then(
    (r) => process.stdout.write(JSON.stringify(r) + "\n"),
    (err: unknown) => {
      process.stderr.write(`grpc-load: ${(err as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
