/**
 * @module Backpressure for gRPC connections. grpc-js runs every call a client opens at once and queues each
 * answer until the client reads it; a client that opens many bulk calls and never reads would make the
 * sidecar build and hold every answer. Per connection, calls start only while few are being built and the
 * answers not yet delivered stay under a byte bound; the others wait (holding only their small request).
 */
import type { EventEmitter } from "node:events";

export interface AnswerBounds {
  /** Calls of one connection that may be working on their answer at the same time. */
  maxBuilding: number;
  /** Answer bytes of one connection not yet delivered above which no further call starts. */
  maxUndeliveredBytes: number;
}

export const DEFAULT_ANSWER_BOUNDS: AnswerBounds = { maxBuilding: 16, maxUndeliveredBytes: 1024 * 1024 };

/** What a call reports back: the size of its answer once built. */
export interface Admission {
  built(bytes: number): void;
}

interface Connection {
  building: number;
  undelivered: number;
  calls: number;
  waiting: (() => void)[];
  wakeScheduled: boolean;
}

/** A call as grpc-js hands it to a handler: its peer names the connection, and it emits `cancelled` when over. */
export interface GatedCall extends EventEmitter {
  getPeer(): string;
}

export class AnswerGates {
  private readonly connections = new Map<string, Connection>();

  constructor(private readonly bounds: AnswerBounds = DEFAULT_ANSWER_BOUNDS) {}

  /** Resolves when the call may build its answer, or with undefined if the call ends first. */
  admit(call: GatedCall): Promise<Admission | undefined> {
    const peer = call.getPeer();
    let conn = this.connections.get(peer);
    if (!conn)
      this.connections.set(peer, (conn = { building: 0, undelivered: 0, calls: 0, waiting: [], wakeScheduled: false }));
    const c = conn;
    c.calls++;
    let state: "waiting" | "building" | "built" | "over" = "waiting";
    let bytes = 0;
    return new Promise((resolve) => {
      const start = () => {
        if (state !== "waiting") return;
        state = "building";
        c.building++;
        resolve({
          built: (n) => {
            if (state !== "building") return;
            state = "built";
            c.building--;
            bytes = n;
            c.undelivered += n;
            this.wake(c);
          },
        });
      };
      // grpc-js emits `cancelled` once the answer has been delivered, or when the client gives up.
      call.once("cancelled", () => {
        if (state === "building") c.building--;
        if (state === "built") c.undelivered -= bytes;
        if (state === "waiting") {
          c.waiting.splice(c.waiting.indexOf(start), 1);
          resolve(undefined);
        }
        state = "over";
        if (--c.calls === 0) this.connections.delete(peer);
        else this.wake(c);
      });
      if (this.mayStart(c)) start();
      else c.waiting.push(start);
    });
  }

  private mayStart(c: Connection): boolean {
    return c.building < this.bounds.maxBuilding && c.undelivered <= this.bounds.maxUndeliveredBytes;
  }

  /**
   * Starts waiting calls on the next turn of the event loop: when a client goes away, grpc-js cancels its
   * calls one tick after another, and a waiting call must not start building an answer nobody will read.
   */
  private wake(c: Connection): void {
    if (c.wakeScheduled || c.waiting.length === 0) return;
    c.wakeScheduled = true;
    setImmediate(() => {
      c.wakeScheduled = false;
      while (c.waiting.length > 0 && this.mayStart(c)) c.waiting.shift()!();
    });
  }
}

/** Sizes of frozen answers (kept with cached and unchanged answers), so serving one again walks nothing. */
const frozenSizes = new WeakMap<object, number>();

/** About the size of an answer on the wire: the bytes of its strings (keys and values), which dominate. */
export function approximateBytes(value: unknown): number {
  if (typeof value === "string") return value.length;
  if (typeof value !== "object" || value === null) return 8;
  const kept = frozenSizes.get(value);
  if (kept !== undefined) return kept;
  let n = 0;
  for (const [k, v] of Object.entries(value)) n += k.length + approximateBytes(v);
  // A frozen answer is served as first encoded (the serializer keeps its bytes), so its size stays too.
  if (Object.isFrozen(value)) frozenSizes.set(value, n);
  return n;
}
