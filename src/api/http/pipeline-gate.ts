/**
 * @module Backpressure for HTTP/1.1 connections. node:http parses every pipelined request it has read and
 * hands each to the handler at once; a client that pipelines many bulk requests and never reads would make
 * the sidecar build every answer and hold them all in memory. Like Go's net/http (daprd), a connection here
 * answers its requests one at a time, builds the next answer only while the answers it holds unsent stay
 * under a byte bound, and stops reading the socket while too many parsed requests wait.
 */
import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";

export interface PipelineBounds {
  /** Answer bytes a connection may hold unsent and still build its next answer. */
  maxUnsentBytes: number;
  /** Parsed requests that may wait on a connection before it stops reading the socket. */
  maxWaiting: number;
}

export const DEFAULT_PIPELINE_BOUNDS: PipelineBounds = { maxUnsentBytes: 64 * 1024, maxWaiting: 16 };

/** Handles a request: a promise when it answers later, nothing when it has answered before returning. */
type Run = (res: ServerResponse) => Promise<void> | void;

/**
 * Connections whose next pipelined request may run. One runs per turn of the event loop, so clients that
 * pipeline expensive requests cannot hold the loop while other clients wait to be read.
 */
const ready: ConnectionGate[] = [];
let scheduled = false;

function runReady(): void {
  scheduled = false;
  ready.shift()?.runNext();
  if (ready.length > 0) schedule();
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(runReady);
}

class ConnectionGate {
  private running = false;
  private queued = false;
  private holding = false;
  private readonly waiting: ServerResponse[] = [];
  /** Answers already ended whose bytes have not all reached the kernel. */
  private readonly unsent = new Set<ServerResponse>();
  private readonly resume: Socket["resume"];

  /** Runs a lone request on an idle connection at once (one function per connection, not per request). */
  private readonly runAlone = () => (this.waiting.length === 1 && this.canRun() ? this.runNext() : this.pump());

  constructor(
    private readonly socket: Socket,
    private readonly bounds: PipelineBounds,
    private readonly run: Run,
  ) {
    this.resume = socket.resume;
    // node:http resumes the socket itself (after each answer, when a body is read, on drain); while the gate
    // holds the connection, those calls must not start the parser again.
    socket.resume = () => (this.holding ? socket : this.resume.call(socket));
    socket.on("drain", () => this.pump());
    socket.once("close", () => {
      this.waiting.length = 0;
      this.unsent.clear();
    });
  }

  enter(res: ServerResponse): void {
    this.waiting.push(res);
    if (this.waiting.length > this.bounds.maxWaiting && !this.holding) {
      this.holding = true;
      this.socket.pause();
    }
    if (this.waiting.length > 1 || this.running || this.unsent.size > 0) return this.pump();
    // A lone request on an idle connection (the common case) runs at once, without waiting for its turn;
    // checked once the parser is done with what it read, so that pipelined requests are seen as such. A tick,
    // not a microtask: queueMicrotask makes an async resource and a bound function per call (hot path, profiled).
    process.nextTick(this.runAlone);
  }

  private unsentBytes(): number {
    let n = 0;
    for (const r of this.unsent) n += r.writableLength;
    return n;
  }

  private canRun(): boolean {
    // node:http closes a connection's answers before the socket's own close event reaches the gate.
    if (this.running || this.socket.destroyed || this.waiting.length === 0) return false;
    return this.unsent.size === 0 || this.unsentBytes() <= this.bounds.maxUnsentBytes;
  }

  private pump(): void {
    if (this.queued || !this.canRun()) return;
    this.queued = true;
    ready.push(this);
    schedule();
  }

  runNext(): void {
    this.queued = false;
    if (!this.canRun()) return;
    const res = this.waiting.shift()!;
    if (this.holding && this.waiting.length === 0) {
      // Nothing else waits, so the request about to run may need the socket (its body).
      this.holding = false;
      this.resume.call(this.socket);
    }
    this.running = true;
    const pending = this.run(res);
    if (pending) void pending.finally(() => this.ran(res));
    else this.ran(res);
  }

  private ran(res: ServerResponse): void {
    this.running = false;
    // An answer still being written (its bytes not all handed to the kernel) counts against the bound until
    // sent. One whose bytes are all with the kernel needs no listeners.
    if (!res.writableFinished && !res.destroyed && (!res.writableEnded || res.writableLength > 0)) {
      this.unsent.add(res);
      const sent = () => {
        this.unsent.delete(res);
        this.pump();
      };
      res.once("finish", sent);
      res.once("close", sent);
    }
    this.pump();
  }
}

/** Gives each connection of a server its gate, and runs each request through it with `run`. */
export function pipelineGates(
  run: Run,
  bounds: PipelineBounds = DEFAULT_PIPELINE_BOUNDS,
): {
  attach(socket: Socket): void;
  enter(res: ServerResponse): void;
} {
  const gates = new WeakMap<Socket, ConnectionGate>();
  return {
    attach: (socket) => void gates.set(socket, new ConnectionGate(socket, bounds, run)),
    enter: (res) => {
      const gate = gates.get(res.req.socket as Socket);
      if (gate) gate.enter(res);
      else void run(res);
    },
  };
}
