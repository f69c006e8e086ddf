/**
 * @module HTTP load generator, run as its own process so it never shares a core's event loop with the
 * server it measures. Raw keep-alive sockets and a minimal response parser keep the client far cheaper
 * than the servers under test, so the servers, not the client, are what saturates.
 *
 * Modes: "closed" keeps `connections` requests in flight (throughput); "rate" sends on an open-loop
 * schedule of `rate` requests/s (latency), whether or not earlier ones have been answered.
 * Input: one JSON argument (HttpLoadSpec). Output: one JSON line (LoadResult).
 */
import { connect, type Socket } from "node:net";
import { isMain } from "../lib/main.js";
import { Samples, summarize, type LatencySummary } from "../lib/stats.js";

export interface HttpLoadSpec {
  port: number;
  path: string;
  mode: "closed" | "rate";
  connections: number;
  /** Requests per second in "rate" mode. */
  rate?: number;
  warmupMs: number;
  durationMs: number;
}

export interface LoadResult {
  completed: number;
  errors: number;
  /** Every response, warm-up included: the divisor for the server's CPU time over the whole run. */
  total: number;
  /** Measured window only. */
  elapsedMs: number;
  perSecond: number;
  latency: LatencySummary;
  /** CPU the load generator itself used during the window, as a share of one core. */
  clientCpuShare: number;
  /** Sends that found no idle connection and had to wait (rate mode). */
  delayedSends: number;
  /** Body of the first response, base64, so the caller can check both sides sent the same bytes. */
  firstBody: string;
  firstStatus: number;
}

type OnResponse = (conn: Conn, status: number, body: Buffer) => void;

class Conn {
  sentAt = 0;
  private chunks: Buffer[] = [];
  private have = 0;
  private total = -1;
  private bodyStart = 0;
  private status = 0;
  readonly sock: Socket;

  constructor(
    port: number,
    private readonly onResponse: OnResponse,
    onError: (err: Error) => void,
  ) {
    this.sock = connect({ port, host: "127.0.0.1", noDelay: true });
    this.sock.on("data", (c: Buffer) => this.onData(c));
    this.sock.on("error", onError);
  }

  send(req: Buffer): void {
    this.sentAt = performance.now();
    this.sock.write(req);
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.have += chunk.length;
    for (;;) {
      let buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.have);
      if (this.total < 0) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) {
          this.chunks = [buf];
          return;
        }
        const head = buf.toString("latin1", 0, end);
        this.status = Number(head.slice(9, 12));
        const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        this.bodyStart = end + 4;
        this.total = this.bodyStart + (m ? Number(m[1]) : 0);
      }
      if (this.have < this.total) {
        this.chunks = [buf];
        return;
      }
      const body = buf.subarray(this.bodyStart, this.total);
      const rest = this.have > this.total ? buf.subarray(this.total) : undefined;
      buf = Buffer.alloc(0);
      this.chunks = rest ? [rest] : [];
      this.have = rest ? rest.length : 0;
      this.total = -1;
      this.onResponse(this, this.status, body);
      if (!rest) return;
    }
  }
}

export async function runHttpLoad(spec: HttpLoadSpec): Promise<LoadResult> {
  const req = Buffer.from(
    `GET ${spec.path} HTTP/1.1\r\nHost: 127.0.0.1:${spec.port}\r\nUser-Agent: keyward-bench\r\nAccept: */*\r\n\r\n`,
    "latin1",
  );
  const samples = new Samples();
  const idle: Conn[] = [];
  let completed = 0;
  let errors = 0;
  let total = 0;
  let firstBody: Buffer | undefined;
  let firstStatus = 0;
  let socketError: Error | undefined;
  const start = performance.now();
  const measureFrom = start + spec.warmupMs;
  const endAt = measureFrom + spec.durationMs;
  let outstanding = 0;

  const onResponse: OnResponse = (conn, status, body) => {
    const now = performance.now();
    outstanding--;
    total++;
    if (firstBody === undefined) {
      firstBody = Buffer.from(body);
      firstStatus = status;
    }
    if (conn.sentAt >= measureFrom && now <= endAt) {
      if (status >= 200 && status < 300) {
        completed++;
        samples.push(now - conn.sentAt);
      } else errors++;
    }
    if (spec.mode === "closed" && now < endAt) {
      outstanding++;
      conn.send(req);
    } else idle.push(conn);
  };
  const conns = Array.from(
    { length: spec.connections },
    () => new Conn(spec.port, onResponse, (e) => (socketError ??= e)),
  );
  await Promise.all(
    conns.map(
      (c) =>
        new Promise<void>((resolve, reject) => {
          c.sock.once("connect", resolve);
          c.sock.once("error", reject);
        }),
    ),
  );

  const cpu0 = { at: 0, usage: process.cpuUsage() };
  const cpuTimer = setTimeout(
    () => {
      cpu0.at = performance.now();
      cpu0.usage = process.cpuUsage();
    },
    Math.max(0, measureFrom - performance.now()),
  );
  let delayedSends = 0;
  if (spec.mode === "closed") {
    for (const c of conns) {
      outstanding++;
      c.send(req);
    }
    await new Promise((r) => setTimeout(r, endAt - performance.now()));
  } else {
    idle.push(...conns);
    const interval = 1000 / (spec.rate ?? 1000);
    let sent = 0;
    // setTimeout(1) rather than a busy loop: a spinning client would steal the CPU the server needs.
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        if (now >= endAt) return resolve();
        while (start + sent * interval <= now) {
          const c = idle.pop();
          if (!c) {
            delayedSends++;
            break;
          }
          outstanding++;
          c.send(req);
          sent++;
        }
        setTimeout(tick, 1);
      };
      tick();
    });
  }
  const cpuUsed = process.cpuUsage(cpu0.usage);
  const cpuWall = performance.now() - (cpu0.at || measureFrom);
  clearTimeout(cpuTimer);
  // Let in-flight requests finish (their results fall outside the window) before closing.
  for (let i = 0; i < 200 && outstanding > 0; i++) await new Promise((r) => setTimeout(r, 10));
  for (const c of conns) c.sock.destroy();
  if (socketError && completed === 0) throw socketError;
  return {
    completed,
    errors,
    total,
    elapsedMs: spec.durationMs,
    perSecond: (completed / spec.durationMs) * 1000,
    latency: summarize(samples.values()),
    clientCpuShare: (cpuUsed.user + cpuUsed.system) / 1000 / cpuWall,
    delayedSends,
    firstBody: (firstBody ?? Buffer.alloc(0)).toString("base64"),
    firstStatus,
  };
}

if (isMain(import.meta.url)) {
  runHttpLoad(JSON.parse(process.argv[2]!) as HttpLoadSpec).then(
    (r) => process.stdout.write(JSON.stringify(r) + "\n"),
    (err: unknown) => {
      process.stderr.write(`http-load: ${(err as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
