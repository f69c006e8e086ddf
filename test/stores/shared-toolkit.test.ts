/** The helpers every store shares: one redaction rule set, bounded concurrency, abortable waits, Go's JSON. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Writable } from "node:stream";
import { createLogger, storeLogger } from "../../src/log.js";
import { mapLimit } from "../../src/stores/shared/concurrency.js";
import { goJson, stringValues } from "../../src/stores/shared/go-json.js";
import { networkCode } from "../../src/stores/shared/network-errors.js";
import { firstLine, redact, Redactor } from "../../src/stores/shared/redact.js";
import { sleep, untilAborted } from "../../src/stores/shared/sleep.js";

describe("redact", () => {
  const cases: [string, string, string][] = [
    ["known value", "value s3cr3t-known-1 here", "value [redacted] here"],
    ["bearer header", "Authorization: Bearer abc.def-ghi", "Authorization: [redacted]"],
    ["bare bearer", "got Bearer abc.def oops", "got Bearer [redacted] oops"],
    ["basic", "header Basic dXNlcjpwYXNz end", "header Basic [redacted] end"],
    ["vault header", "X-Vault-Token: hvs.CAESIabcdefghijklmnopqrstuvwxyz", "X-Vault-Token: [redacted]"],
    ["vault token", "token hvs.CAESIabcdefghijklmnopqrstuvwxyz0 denied", "token [redacted] denied"],
    ["google token", "oops ya29.a0AfH6SMB-secret.x tail", "oops [redacted] tail"],
    ["jwt", "jwt eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln end", "jwt [redacted] end"],
    ["pem key", "k -----BEGIN RSA PRIVATE KEY-----\nMIIEv\n-----END RSA PRIVATE KEY----- tail", "k [redacted] tail"],
    ["cut pem key", "k -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg", "k [redacted]"],
    [
      "query string",
      "GET /token?client_id=app&client_secret=Sup3r~Secret.x&grant_type=cc",
      "GET /token?client_id=app&client_secret=[redacted]&grant_type=cc",
    ],
    [
      "presigned url",
      "https://s3/x?X-Amz-Credential=AKIDEXAMPLE%2F2024&X-Amz-Signature=abcdef0123",
      "https://s3/x?X-Amz-Credential=[redacted]&X-Amz-Signature=[redacted]",
    ],
    ["password field", 'body {"password":"hunter2\\"x","user":"u"}', 'body {"password":"[redacted]","user":"u"}'],
    ["url userinfo", "dial https://admin:pa55@vault.local:8200/v1", "dial https://[redacted]@vault.local:8200/v1"],
    ["access key id", "key AKIAIOSFODNN7EXAMPLE used", "key [redacted] used"],
    [
      "long mixed key",
      "secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY0123456789abcdefGHIJKL",
      "secret wJalrXUtnFEMI/K7MDENG/[redacted]",
    ],
    ["connection string", "Server=x;User Id=u;Password=Pa55w0rd;", "Server=x;User Id=u;Password=[redacted];"],
  ];
  for (const [label, input, expected] of cases) {
    it(`strips ${label}`, () => assert.equal(redact(input, ["s3cr3t-known-1"]), expected));
  }

  it("keeps what names things: ids, hosts, resource names, short values", () => {
    for (const text of [
      "secret projects/my-project/secrets/db-password/versions/latest not found",
      "request 3f1c2a9e-5b7d-4e0f-9a8b-1c2d3e4f5a6b to keyward-test.vault.usgovcloudapi.net failed",
      "Caller: appid=00000000-0000-0000-0000-000000000000;oid=11111111-2222-3333-4444-555555555555",
      "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf",
      "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ])
      assert.equal(redact(text, ["ab", "x"]), text);
  });

  it("a Redactor remembers values; the longest is replaced first", () => {
    const r = new Redactor();
    r.add("token-1234", undefined, "token-1234-longer", "abc");
    assert.equal(r.redact("a token-1234-longer b token-1234 c abc"), "a [redacted] b [redacted] c abc");
  });

  it("what a store logs passes the same rules, message and string fields", () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) });
    const log = storeLogger(createLogger({ level: "debug", json: true, appId: "a", destination: sink }));
    log.warn("refused: Bearer tok-in-message-123", { reason: "POST /token client_secret=field-secret-456", n: 7 });
    const out = lines.join("");
    assert.ok(!out.includes("tok-in-message-123") && !out.includes("field-secret-456"), out);
    assert.match(out, /client_secret=\[redacted\]/);
    assert.match(out, /"n":7/);
  });

  it("firstLine keeps one short line", () => {
    assert.equal(firstLine("a      b\nsecond"), "a b");
    assert.ok(firstLine("x".repeat(1000)).length <= 301);
  });
});

describe("mapLimit", () => {
  it("keeps input order and never runs more than the limit at once", async () => {
    let running = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3, 0, 6], 3, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await sleep(n);
      running--;
      return n * 10;
    });
    assert.deepEqual(out, [50, 10, 40, 20, 30, 0, 60]);
    assert.equal(peak, 3);
    assert.deepEqual(await mapLimit([], 4, async () => 1), []);
  });

  it("starts nothing new after a failure, and throws it once the calls in flight settle", async () => {
    const started: number[] = [];
    let settled = 0;
    await assert.rejects(
      mapLimit([0, 1, 2, 3, 4, 5], 2, async (n) => {
        started.push(n);
        await sleep(n === 0 ? 1 : 20);
        settled++;
        if (n === 0) throw new Error("first fails");
        return n;
      }),
      /first fails/,
    );
    assert.deepEqual(started, [0, 1]);
    assert.equal(settled, 2);
  });
});

describe("sleep and untilAborted", () => {
  it("sleep ends early, with false, when the signal aborts", async () => {
    const c = new AbortController();
    const p = sleep(60_000, c.signal);
    c.abort();
    assert.equal(await p, false);
    assert.equal(await sleep(60_000, AbortSignal.abort()), false);
    assert.equal(await sleep(1), true);
  });

  it("untilAborted rejects with the given error on abort and ignores the late rejection", async () => {
    const c = new AbortController();
    let rejectLate: (e: Error) => void = () => {};
    const never = new Promise<number>((_, reject) => (rejectLate = reject));
    const p = untilAborted(never, c.signal, () => new Error("gave up"));
    c.abort();
    await assert.rejects(p, /gave up/);
    rejectLate(new Error("late"));
    assert.equal(await untilAborted(Promise.resolve(7), new AbortController().signal, () => new Error("x")), 7);
  });
});

describe("goJson", () => {
  it("writes JSON as Go's encoding/json does", () => {
    assert.equal(
      goJson({ b: 1, a: { d: [1, "<&>"], c: null } }),
      '{"a":{"c":null,"d":[1,"\\u003c\\u0026\\u003e"]},"b":1}',
    );
    assert.equal(goJson("\u2028\u2029"), '"\\u2028\\u2029"');
    assert.equal(goJson(1e21), "1e+21");
    assert.deepEqual(stringValues({ s: "<x>", n: 1.5, o: { z: 1, y: 2 }, t: true }), {
      s: "<x>",
      n: "1.5",
      o: '{"y":2,"z":1}',
      t: "true",
    });
  });
});

describe("networkCode", () => {
  it("finds socket and TLS codes deep in cause chains and aggregate errors", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
    assert.equal(networkCode(new Error("outer", { cause: new Error("mid", { cause: refused }) })), "ECONNREFUSED");
    const tls = Object.assign(new Error("x"), { code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" });
    assert.equal(networkCode(new AggregateError([new Error("a"), tls])), "UNABLE_TO_VERIFY_LEAF_SIGNATURE");
    assert.equal(networkCode(new Error("socket hang up")), "socket hang up");
    assert.equal(networkCode(Object.assign(new Error("nope"), { code: "ERR_INVALID_ARG" })), undefined);
    const loop: { cause?: unknown } = {};
    loop.cause = loop;
    assert.equal(networkCode(loop), undefined);
  });
});
