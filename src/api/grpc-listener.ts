/**
 * @module The gRPC port, listened on at start-up with node:net; the gRPC API itself (grpc-js, the Dapr
 * protos, reflection) is loaded on the first connection and handed that connection and every later one.
 *
 * Why: grpc-js and the protos are about a fifth of the sidecar's idle memory and of its start-up time
 * (docs/performance.md). An app that talks to Keyward over HTTP only, as the Dapr JS SDK does by default,
 * never pays for them; an app that uses gRPC pays once, on its first connection. The port is bound before
 * Keyward says it is ready, exactly as before, so a client never finds it closed.
 *
 * This module must not import grpc-js or anything under api/grpc/ except as types: the bundle keeps
 * those in a chunk of their own only while nothing loaded at start-up imports them.
 */
import { createServer, type Server as NetServer, type Socket } from "node:net";
import type { Logger } from "../log.js";

/** The gRPC API as the listener needs it: it takes accepted connections, and closes. */
export interface GrpcConnectionSink {
  accept(socket: Socket): void;
  /** Stops taking calls and resolves once the calls in flight have ended. */
  close(): Promise<void>;
  /** Ends every connection now. */
  destroy(): void;
}

export class LazyGrpcPort {
  private readonly listeners: NetServer[] = [];
  private sink: GrpcConnectionSink | undefined;
  private loading: Promise<GrpcConnectionSink | undefined> | undefined;
  /** Connections accepted while the API loads: they wait, their bytes buffered by the socket (bounded). */
  private readonly waiting = new Set<Socket>();
  private closed = false;

  constructor(
    private readonly load: () => Promise<GrpcConnectionSink>,
    private readonly log: Logger,
  ) {}

  /** True once the first connection has loaded the gRPC API. */
  get loaded(): boolean {
    return this.sink !== undefined;
  }

  listen(host: string, port: number): Promise<number> {
    const server = createServer((socket) => this.onConnection(socket));
    this.listeners.push(server);
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve((server.address() as { port: number }).port);
      });
    });
  }

  /** Loads the API (once); the connections waiting for it are handed over when it is ready. */
  private preload(): Promise<GrpcConnectionSink | undefined> {
    const started = performance.now();
    this.loading ??= this.load().then(
      (sink) => {
        if (this.closed) {
          sink.destroy();
          return undefined;
        }
        this.sink = sink;
        this.log.info(`gRPC API loaded on its first connection in ${Math.round(performance.now() - started)}ms`);
        for (const socket of this.waiting) this.hand(socket);
        this.waiting.clear();
        return sink;
      },
      (err: unknown) => {
        // A later connection tries again; the ones waiting now cannot be served.
        this.loading = undefined;
        this.log.error(`gRPC: cannot load the gRPC API: ${(err as Error).message}`);
        for (const socket of this.waiting) socket.destroy();
        this.waiting.clear();
        return undefined;
      },
    );
    return this.loading;
  }

  /** Stops accepting, then waits for the calls in flight and their connections to end (graceful shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    // A listener's close callback runs once every connection it accepted has ended, grpc-js's included.
    const ended = Promise.all(this.listeners.map((s) => new Promise((r) => s.close(r))));
    const sink = this.sink ?? (await this.loading);
    for (const socket of this.waiting) socket.destroy();
    this.waiting.clear();
    await sink?.close();
    // grpc-js can report its shutdown done while its sessions still flush their last answers: on Node 24
    // closing its (never listening) HTTP/2 server marks every session closed at once. Their sockets' end is
    // what says the answers went out.
    await ended;
  }

  /** Ends every connection now. */
  destroy(): void {
    this.closed = true;
    for (const s of this.listeners) s.close();
    for (const socket of this.waiting) socket.destroy();
    this.waiting.clear();
    this.sink?.destroy();
  }

  private onConnection(socket: Socket): void {
    if (this.closed) return void socket.destroy();
    if (this.sink) return this.hand(socket);
    // Until grpc-js owns the socket, a reset must not become an unhandled 'error' event.
    socket.on("error", ignore);
    socket.once("close", () => this.waiting.delete(socket));
    this.waiting.add(socket);
    void this.preload();
  }

  private hand(socket: Socket): void {
    socket.off("error", ignore);
    if (socket.destroyed) return;
    this.sink!.accept(socket);
  }
}

function ignore(): void {}
