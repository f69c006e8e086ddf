/**
 * Change-notification clients for tests: an event-stream reader over a raw HTTP request, and a grpc-js
 * client of keyward.v1alpha1.Secrets/SubscribeSecret built from the repository's .proto, as an app would.
 */
import { request, type IncomingMessage } from "node:http";
import { join } from "node:path";
import { credentials, loadPackageDefinition, Metadata, type Client, type ClientReadableStream } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { REPO_ROOT } from "./paths.js";

export interface Received<T> {
  /** Everything received so far, in order, with when it arrived (performance.now()). */
  events: (T & { at: number })[];
  /** Resolves with the first event (already received or to come) that `match` accepts. */
  waitFor(match: (e: T) => boolean, timeoutMs: number, what?: string): Promise<T & { at: number }>;
  /** Resolves when the stream ends, with how (HTTP: "end"; gRPC: the status code). */
  ended: Promise<string | number>;
  close(): void;
}

function collector<T>(): {
  r: Omit<Received<T>, "ended" | "close">;
  add: (e: T) => void;
  fail: (why: string) => void;
} {
  const events: (T & { at: number })[] = [];
  const waiters = new Set<() => void>();
  let failure: string | undefined;
  const add = (e: T) => {
    events.push({ ...e, at: performance.now() });
    for (const w of [...waiters]) w();
  };
  const fail = (why: string) => {
    failure ??= why;
    for (const w of [...waiters]) w();
  };
  const waitFor = (match: (e: T) => boolean, timeoutMs: number, what = "an event") =>
    new Promise<T & { at: number }>((resolve, reject) => {
      const check = () => {
        const found = events.find(match);
        if (found) {
          done();
          resolve(found);
        } else if (failure !== undefined) {
          done();
          reject(new Error(`stream ended (${failure}) before ${what}; got ${JSON.stringify(events)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${what} within ${timeoutMs} ms; got ${JSON.stringify(events)}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  return { r: { events, waitFor }, add, fail };
}

export interface SseEvent {
  event: string;
  id?: string;
  data: string;
}

export interface SseSubscription extends Received<SseEvent> {
  status: number;
  headers: IncomingMessage["headers"];
  /** The body of a refused subscription. */
  body: string;
  /** Comment lines (`: keepalive`) seen. */
  comments: string[];
  res: IncomingMessage;
}

/** GET .../subscribe; resolves once the response head (and, for a refusal, its body) has arrived. */
export function sseSubscribe(url: string, headers: Record<string, string> = {}): Promise<SseSubscription> {
  const { r, add, fail } = collector<SseEvent>();
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { Accept: "text/event-stream", ...headers } }, (res) => {
      const comments: string[] = [];
      let buffer = "";
      let body = "";
      const ended = new Promise<string>((done) => {
        res.on("end", () => {
          fail("end");
          done("end");
        });
        res.on("close", () => {
          fail("closed");
          done("closed");
        });
      });
      const sub: SseSubscription = {
        ...r,
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: "",
        comments,
        res,
        ended,
        close: () => req.destroy(),
      };
      res.setEncoding("utf8");
      if (res.statusCode !== 200) {
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ ...sub, body }));
        return;
      }
      res.on("data", (chunk: string) => {
        buffer += chunk;
        let cut: number;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const e: SseEvent = { event: "message", data: "" };
          let isEvent = false;
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) comments.push(line.slice(1).trim());
            else if (line.startsWith("event: ")) {
              e.event = line.slice(7);
              isEvent = true;
            } else if (line.startsWith("id: ")) e.id = line.slice(4);
            else if (line.startsWith("data: ")) {
              e.data = line.slice(6);
              isEvent = true;
            }
          }
          if (isEvent) add(e);
        }
      });
      resolve(sub);
    });
    req.on("error", (err) => {
      fail(err.message);
      reject(err);
    });
    req.end();
  });
}

export interface SecretUpdate {
  data: Record<string, string>;
  deleted: boolean;
  version: string;
}

export interface GrpcSubscription extends Received<SecretUpdate> {
  /** The status details when the stream ended with an error. */
  details: () => string;
}

type SecretsClient = Client & {
  SubscribeSecret(req: unknown, md: Metadata): ClientReadableStream<SecretUpdate>;
};

/** A grpc-js client of keyward.v1alpha1.Secrets, from proto/keyward/v1alpha1/secrets.proto. */
export function keywardSecretsClient(address: string): SecretsClient {
  const def = loadSync("keyward/v1alpha1/secrets.proto", {
    includeDirs: [join(REPO_ROOT, "proto")],
    keepCase: true,
    defaults: true,
  });
  const pkg = loadPackageDefinition(def) as unknown as {
    keyward: { v1alpha1: { Secrets: new (a: string, c: unknown) => SecretsClient } };
  };
  return new pkg.keyward.v1alpha1.Secrets(address, credentials.createInsecure());
}

/** SubscribeSecret on `client` (a fresh one on `address` when a string); closing cancels the call. */
export function grpcSubscribe(
  client: SecretsClient | string,
  req: { store_name: string; key: string; metadata?: Record<string, string> },
  token?: string,
): GrpcSubscription {
  const own = typeof client === "string" ? keywardSecretsClient(client) : undefined;
  const c = own ?? (client as SecretsClient);
  const md = new Metadata();
  if (token !== undefined) md.set("dapr-api-token", token);
  const { r, add, fail } = collector<SecretUpdate>();
  const call = c.SubscribeSecret({ metadata: {}, ...req }, md);
  let details = "";
  const ended = new Promise<number>((done) => {
    call.on("error", (err: Error & { code?: number; details?: string }) => {
      details = err.details ?? err.message;
      fail(`code ${err.code}`);
      done(err.code ?? -1);
    });
    call.on("end", () => {
      fail("end");
      done(0);
    });
  });
  call.on("data", (u: SecretUpdate) => add(u));
  return {
    ...r,
    ended,
    details: () => details,
    close: () => {
      call.cancel();
      own?.close();
    },
  };
}
