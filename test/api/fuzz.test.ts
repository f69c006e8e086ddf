/**
 * Bounded fuzzing of both transports against a started sidecar: seeded random mutations of valid HTTP
 * requests (request line, headers, bodies, pipelining) and of gRPC calls (paths, headers, length-prefixed
 * frames with lying lengths, garbage protobuf). The process must stay up, answer only well-formed HTTP and
 * gRPC, and come back near its starting memory. Set KEYWARD_FUZZ_SEED to replay a run.
 */
import assert from "node:assert/strict";
import { connect as h2connect, type ClientHttp2Session } from "node:http2";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { daprGrpcClient, unary } from "../helpers/clients.js";
import { grpcFrame, protoString } from "../helpers/grpc-frames.js";
import { rssMiB, sleep } from "../helpers/process-memory.js";
import type { Sidecar } from "../helpers/sidecar.js";
import { startApiSidecar } from "./fixtures.js";

const SEED = Number(process.env.KEYWARD_FUZZ_SEED ?? 20261204);
const HTTP_CASES = 400;
const GRPC_CASES = 200;
const TOKEN = `fuzz-token-${process.pid}-canary`;

/** mulberry32: small, seedable, good enough to pick mutations. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const int = (n: number) => Math.floor(rand() * n);
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));

const AUTH = `dapr-api-token: ${TOKEN}\r\n`;
const HTTP_SEEDS = [
  `GET /v1.0/secrets/filestore/secret HTTP/1.1\r\nHost: x\r\n${AUTH}\r\n`,
  `GET /v1.0/secrets/multistore/bulk?metadata.a=b HTTP/1.1\r\nHost: x\r\n${AUTH}\r\n`,
  `GET /v1.0/metadata HTTP/1.1\r\nHost: x\r\n${AUTH}\r\n`,
  `PUT /v1.0/metadata/fuzz HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Length: 5\r\n\r\nhello`,
  `GET /v1.0/secrets/filestore/secret HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Type: application/json\r\nContent-Length: 15\r\n\r\n{"key":"other"}`,
  `GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\n\r\n`,
  `PUT /v1.0/metadata/chunked HTTP/1.1\r\nHost: x\r\n${AUTH}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
];
const NASTY = ["\0", "\r", "\n", "\r\n", " ", "%", "%00", "%zz", "..", "//", "\u00ff", "\t", ":", "ü", "\r\n\r\n"];

function mutateHttp(seed: string): Buffer {
  let b = Buffer.from(seed, "latin1");
  for (let n = 1 + int(3); n > 0; n--) {
    const at = int(b.length + 1);
    switch (int(8)) {
      case 0: // flip a byte
        if (b.length) b[Math.min(at, b.length - 1)] = int(256);
        break;
      case 1: // insert something nasty
        b = Buffer.concat([b.subarray(0, at), Buffer.from(pick(NASTY), "latin1"), b.subarray(at)]);
        break;
      case 2: // delete a range
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + int(20))]);
        break;
      case 3: // random bytes
        b = Buffer.concat([b.subarray(0, at), bytes(1 + int(40)), b.subarray(at)]);
        break;
      case 4: // an odd header
        b = Buffer.from(
          b
            .toString("latin1")
            .replace(
              "\r\n",
              `\r\n${pick(["Content-Length: -1", "Content-Length: 99999999999", "Content-Length: 1, 2", "Transfer-Encoding: chunked", "Transfer-Encoding: gzip, chunked", "Expect: 100-continue", "Connection: close", `X-Long: ${"a".repeat(int(30_000))}`, "dapr-api-token: wrong", `${"h".repeat(int(200))}: v`])}\r\n`,
            ),
          "latin1",
        );
        break;
      case 5: // truncate
        b = b.subarray(0, at);
        break;
      case 6: // pipeline more requests behind it
        b = Buffer.concat([b, ...Array.from({ length: 1 + int(5) }, () => Buffer.from(pick(HTTP_SEEDS), "latin1"))]);
        break;
      default: // another method or version
        b = Buffer.from(
          b.toString("latin1").replace(/^\S+/, pick(["POST", "DELETE", "HEAD", "OPTIONS", "GET", "BREW", "get", ""])),
          "latin1",
        );
    }
  }
  return b;
}

/** Checks that `raw` is a sequence of complete HTTP/1.1 responses (a last one may be cut by our timeout). */
function assertWellFormed(raw: Buffer, sent: Buffer, timedOut: boolean): number {
  let pos = 0;
  let count = 0;
  while (pos < raw.length) {
    const headEnd = raw.indexOf("\r\n\r\n", pos, "latin1");
    const why = `response ${count} to ${JSON.stringify(sent.toString("latin1").slice(0, 300))} (seed ${SEED})`;
    if (headEnd < 0 && timedOut) break;
    assert.ok(headEnd >= 0, `incomplete head in ${why}: ${JSON.stringify(raw.subarray(pos).toString("latin1"))}`);
    const head = raw.subarray(pos, headEnd).toString("latin1");
    assert.match(head, /^HTTP\/1\.1 [1-5]\d\d [^\r\n]*(\r\n[!#$%&'*+.^_`|~0-9A-Za-z-]+: [^\r\n]*)*$/, why);
    const status = Number(head.slice(9, 12));
    const len = /\r\ncontent-length: (\d+)/i.exec(head);
    pos = headEnd + 4;
    // An answer to HEAD announces a length but carries no body.
    const bodiless =
      sent.includes("HEAD ") && (pos === raw.length || raw.subarray(pos, pos + 9).toString() === "HTTP/1.1 ");
    if (len && !bodiless) pos += Number(len[1]);
    else if (/\r\ntransfer-encoding: chunked/i.test(head)) pos = skipChunks(raw, pos, why);
    else if (!len)
      assert.ok(status === 204 || status === 304 || status < 200 || /\r\nconnection: close/i.test(head), why);
    assert.ok(pos <= raw.length || timedOut, `body shorter than Content-Length in ${why}`);
    count++;
  }
  return count;
}

/** Returns the position after a chunked body that starts at `pos`. */
function skipChunks(raw: Buffer, pos: number, why: string): number {
  for (;;) {
    const lineEnd = raw.indexOf("\r\n", pos, "latin1");
    assert.ok(lineEnd > pos, `bad chunk size line in ${why}`);
    const size = parseInt(raw.subarray(pos, lineEnd).toString("latin1"), 16);
    assert.ok(Number.isInteger(size) && size >= 0, `bad chunk size in ${why}`);
    pos = lineEnd + 2 + size + 2;
    if (size === 0) return pos;
  }
}

function exchangeFor(port: number, payload: Buffer, ms: number): Promise<{ raw: Buffer; timedOut: boolean }> {
  return new Promise((resolve) => {
    const sock = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ raw: Buffer.concat(chunks), timedOut: true });
    }, ms);
    sock.on("data", (d: Buffer) => chunks.push(d));
    sock.on("error", () => undefined);
    sock.on("close", () => {
      clearTimeout(timer);
      resolve({ raw: Buffer.concat(chunks), timedOut: false });
    });
    sock.end(payload);
  });
}

let s: Sidecar;
let startRss = 0;
before(async () => {
  s = await startApiSidecar({ env: { DAPR_API_TOKEN: TOKEN }, args: ["--max-body-size", "64Ki"] });
  await sleep(300);
  startRss = rssMiB(s.process.pid!);
});
after(async () => {
  assert.equal(await s.stop(), 0);
  assert.ok(!s.output().includes(TOKEN), "the token never appears in the output");
});

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

describe(`fuzzing (seed ${SEED})`, () => {
  it(`${HTTP_CASES} mutated HTTP requests get only well-formed answers`, async () => {
    const cases = Array.from({ length: HTTP_CASES }, () => mutateHttp(pick(HTTP_SEEDS)));
    let answered = 0;
    await inBatches(cases, 16, async (payload) => {
      // The request is half-closed after sending, so the server answers what it parsed and closes.
      const { raw, timedOut } = await exchangeFor(s.httpPort, payload, 1500);
      if (assertWellFormed(raw, payload, timedOut) > 0) answered++;
    });
    assert.ok(answered > HTTP_CASES / 2, `only ${answered} of ${HTTP_CASES} requests were answered`);
    assert.equal(s.process.exitCode, null);
  });

  it(`${GRPC_CASES} mutated gRPC calls get well-formed statuses`, async () => {
    const PATHS = [
      "/dapr.proto.runtime.v1.Dapr/GetSecret",
      "/dapr.proto.runtime.v1.Dapr/GetBulkSecret",
      "/dapr.proto.runtime.v1.Dapr/SetMetadata",
      "/dapr.proto.runtime.v1.Dapr/GetState",
      "/dapr.proto.runtime.v1.Dapr/Nope",
      "/nope.Service/Method",
      "/",
      "/dapr.proto.runtime.v1.Dapr/GetSecret/extra",
    ];
    const valid = Buffer.concat([protoString(1, "filestore"), protoString(2, "secret")]);
    const bodies: (() => Buffer)[] = [
      () => grpcFrame(valid),
      () => grpcFrame(bytes(int(200))),
      () => grpcFrame(valid, 0xffffffff),
      () => grpcFrame(valid, 64 * 1024 * 1024),
      () => grpcFrame(valid, valid.length, true),
      () => grpcFrame(valid).subarray(0, int(valid.length + 5)),
      () => Buffer.concat([grpcFrame(valid), grpcFrame(valid)]),
      () => grpcFrame(protoString(1, bytes(int(300)))),
      () =>
        grpcFrame(Buffer.concat([protoString(3, protoString(1, "k")), Buffer.from([0x1a, 0xff, 0xff, 0xff, 0x0f])])),
      () => bytes(int(50)),
      () => Buffer.alloc(0),
    ];
    const headers = (): Record<string, string> => ({
      ":method": pick(["POST", "POST", "POST", "GET", "PUT"]),
      ":path": pick(PATHS),
      "content-type": pick([
        "application/grpc",
        "application/grpc",
        "application/grpc+proto",
        "text/plain",
        "application/grpc+json",
      ]),
      te: "trailers",
      "dapr-api-token": pick([TOKEN, TOKEN, "wrong", ""]),
      ...(rand() < 0.2 ? { "grpc-timeout": pick(["1m", "garbage", "99999999999H", "0n"]) } : {}),
      ...(rand() < 0.1 ? { "grpc-encoding": pick(["gzip", "zstd", "nope"]) } : {}),
    });
    let session: ClientHttp2Session | undefined;
    let completed = 0;
    await inBatches(Array.from({ length: GRPC_CASES }), 10, async () => {
      if (!session || session.destroyed || session.closed) {
        session = h2connect(`http://127.0.0.1:${s.grpcPort}`);
        session.on("error", () => undefined);
      }
      const sent = headers();
      const body = pick(bodies)();
      const result = await new Promise<{ status?: number; grpcStatus?: string; ended: boolean }>((resolve) => {
        const stream = session!.request(sent);
        let status: number | undefined;
        let grpcStatus: string | undefined;
        const timer = setTimeout(() => {
          stream.close();
          resolve({ status, grpcStatus, ended: false });
        }, 1500);
        stream.on("response", (h) => {
          status = Number(h[":status"]);
          grpcStatus = (h["grpc-status"] as string | undefined) ?? grpcStatus;
        });
        stream.on("trailers", (t) => (grpcStatus = (t["grpc-status"] as string | undefined) ?? grpcStatus));
        stream.on("error", () => undefined);
        stream.on("data", () => undefined);
        stream.on("close", () => {
          clearTimeout(timer);
          resolve({ status, grpcStatus, ended: true });
        });
        stream.end(body);
      });
      const why = `${JSON.stringify(sent)} with ${body.length} bytes (seed ${SEED})`;
      if (result.status === 200 && result.ended) {
        assert.match(result.grpcStatus ?? "", /^(\d|1[0-6])$/, `grpc-status for ${why}`);
        completed++;
      } else if (result.status !== undefined) assert.ok(result.status >= 200 && result.status < 600, why);
    });
    session?.destroy();
    assert.ok(completed > GRPC_CASES / 2, `only ${completed} of ${GRPC_CASES} calls completed`);
    assert.equal(s.process.exitCode, null);
  });

  it("afterwards the sidecar answers normally on both transports and its memory is back near the start", async () => {
    const res = await fetch(`${s.httpUrl}/v1.0/secrets/filestore/secret`, { headers: { "dapr-api-token": TOKEN } });
    assert.deepEqual(await res.json(), { secret: "v1" });
    const c = daprGrpcClient(s.grpcAddress);
    const { Metadata } = await import("@grpc/grpc-js");
    const md = new Metadata();
    md.set("dapr-api-token", TOKEN);
    const r = await unary(c, "GetSecret", { store_name: "filestore", key: "secret" }, md);
    c.close();
    assert.deepEqual(r.res?.data, { secret: "v1" });
    await sleep(500);
    const now = rssMiB(s.process.pid!);
    assert.ok(now - startRss < 60, `RSS is ${Math.round(now - startRss)} MiB above its start`);
  });
});
