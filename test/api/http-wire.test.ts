/** HTTP details of docs/compatibility.md §1: exact bytes, routing, decoding, bodies, health and metadata endpoints. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Sidecar } from "../helpers/sidecar.js";
import { get, rawRequest } from "../helpers/raw-http.js";
import { startApiSidecar } from "./fixtures.js";

const DIRECT_INVOKE =
  '{"errorCode":"ERR_DIRECT_INVOKE","message":"failed getting app id either from the URL path or the header dapr-app-id"}';

let s: Sidecar;
before(async () => {
  s = await startApiSidecar({ args: ["--max-body-size", "1Ki"] });
});
after(async () => {
  assert.equal(await s.stop(), 0);
});

describe("HTTP wire format", () => {
  it("a single get is the flat map as Go encodes it, with a trailing newline", async () => {
    const r = await get(s.httpPort, "/v1.0/secrets/filestore/secret");
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "application/json");
    assert.equal(r.body, '{"secret":"v1"}\n');
  });

  it("<, > and & are escaped as Go does; bulk keys are sorted", async () => {
    const r = await get(s.httpPort, "/v1.0/secrets/filestore/x%3Cy%26z");
    assert.equal(r.body, '{"x\\u003cy\\u0026z":"html\\u003c\\u003e\\u0026"}\n');
    const b = await get(s.httpPort, "/v1.0/secrets/multistore/bulk");
    assert.equal(b.body, '{"parent":{"child1":"12345","child2:child3":"67890"},"single":{"single":"s"}}\n');
  });

  it("errors are {errorCode, message} without a newline", async () => {
    const r = await get(s.httpPort, "/v1.0/secrets/nostore/x");
    assert.equal(r.status, 401);
    assert.equal(r.headers["content-type"], "application/json");
    assert.equal(
      r.body,
      '{"errorCode":"ERR_SECRET_STORE_NOT_FOUND","message":"failed finding secret store with key nostore"}',
    );
  });

  it("the literal 'bulk' segment wins over a secret named bulk", async () => {
    const r = await get(s.httpPort, "/v1.0/secrets/filestore/bulk");
    assert.equal(r.status, 200);
    assert.ok(JSON.parse(r.body).secret, "bulk answer");
  });

  it("path parameters are query-unescaped: %2F is '/', '+' and %20 are spaces", async () => {
    assert.equal((await get(s.httpPort, "/v1.0/secrets/filestore/a%2Fb")).body, '{"a/b":"slash"}\n');
    assert.equal((await get(s.httpPort, "/v1.0/secrets/filestore/with+space")).body, '{"with space":"sp"}\n');
    assert.equal((await get(s.httpPort, "/v1.0/secrets/filestore/with%20space")).body, '{"with space":"sp"}\n');
  });

  it("a bad escape is a plain-text 400 naming the parameter", async () => {
    const r = await get(s.httpPort, "/v1.0/secrets/filestore/bad%zzkey");
    assert.equal(r.status, 400);
    assert.equal(r.headers["content-type"], "text/plain; charset=utf-8");
    assert.equal(r.body, 'failed to unescape request parameter "key". Error: invalid URL escape "%zz"\n');
    const st = await get(s.httpPort, "/v1.0/secrets/file%2/x");
    assert.equal(st.status, 400);
    assert.match(st.body, /request parameter "secretStoreName"/);
  });

  it("paths are cleaned: double slashes, dot segments and a trailing slash", async () => {
    for (const p of [
      "//v1.0//secrets/filestore/secret",
      "/v1.0/secrets/x/../filestore/secret",
      "/v1.0/secrets/filestore/secret/",
      "/v1.0/./secrets/filestore/secret",
    ]) {
      const r = await get(s.httpPort, p);
      assert.equal(r.status, 200, p);
      assert.equal(r.body, '{"secret":"v1"}\n', p);
    }
  });

  it("anything else falls through to the invocation 404", async () => {
    for (const [method, path] of [
      ["POST", "/v1.0/secrets/filestore/secret"],
      ["PUT", "/v1.0/secrets/filestore/secret"],
      ["DELETE", "/v1.0/secrets/filestore/bulk"],
      ["GET", "/v1.0/secrets/filestore"],
      ["GET", "/v1.0/secrets/filestore/a/b"],
      ["GET", "/v1.0/state/store/key"],
      ["GET", "/v1.0-alpha1/secrets/filestore/secret"],
      ["GET", "/"],
      ["POST", "/v1.0/healthz"],
      ["GET", "/v1.0/secrets/filestore/../../.."],
    ] as const) {
      const r = await get(s.httpPort, path, "", method);
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.equal(r.body, DIRECT_INVOKE, `${method} ${path}`);
    }
    const head = await get(s.httpPort, "/v1.0/secrets/filestore/secret", "", "HEAD");
    assert.equal(head.status, 404);
  });

  it("metadata.* query parameters are accepted alongside others", async () => {
    const r = await get(
      s.httpPort,
      "/v1.0/secrets/filestore/secret?metadata.version_id=15&metadata.namespace=default&other=1&bad=%zz;x",
    );
    assert.equal(r.status, 200);
  });
});

describe("HTTP request bodies", () => {
  const withBody = (body: string, path = "/v1.0/secrets/filestore/secret") =>
    rawRequest(
      s.httpPort,
      `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );

  it("a JSON body is accepted; the URL wins over it", async () => {
    const r = await withBody('{"storeName":"other","key":"nope","metadata":{"a":"b"},"unknown":1}');
    assert.equal(r.status, 200);
    assert.equal(r.body, '{"secret":"v1"}\n');
  });

  it("a body that is not JSON is ERR_MALFORMED_REQUEST", async () => {
    const r = await withBody("not json at all");
    assert.equal(r.status, 400);
    const body = JSON.parse(r.body) as { errorCode: string; message: string };
    assert.equal(body.errorCode, "ERR_MALFORMED_REQUEST");
    assert.match(body.message, /^failed deserializing HTTP body: /);
    assert.ok(!body.message.includes("not json"), "the body is not echoed");
  });

  it("wrong field types are ERR_MALFORMED_REQUEST", async () => {
    for (const b of ['{"key":5}', '{"metadata":{"a":1}}', "[]", '"str"']) {
      const r = await withBody(b);
      assert.equal(r.status, 400, b);
      assert.equal((JSON.parse(r.body) as { errorCode: string }).errorCode, "ERR_MALFORMED_REQUEST", b);
    }
    assert.equal((await withBody('{"storeName":"x"}', "/v1.0/secrets/filestore/bulk")).status, 200);
  });

  it("a body over --max-body-size is ERR_BODY_READ and the sidecar carries on", async () => {
    const r = await withBody(`{"key":"${"x".repeat(4096)}"}`);
    assert.equal(r.status, 400);
    assert.deepEqual(JSON.parse(r.body), {
      errorCode: "ERR_BODY_READ",
      message: "failed to read request body: http: request body too large",
    });
    assert.equal((await get(s.httpPort, "/v1.0/secrets/filestore/secret")).status, 200);
  });

  it("oversized headers get 431 and malformed requests 400, and the sidecar carries on", async () => {
    const big = await get(s.httpPort, "/v1.0/secrets/filestore/secret", `X-Big: ${"a".repeat(40_000)}\r\n`);
    assert.equal(big.status, 431);
    const garbage = await rawRequest(s.httpPort, "\x00\x01\x02 nonsense\r\n\r\n");
    assert.equal(garbage.status, 400);
    const badVersion = await rawRequest(s.httpPort, "GET / HTTP/9.9\r\n\r\n");
    assert.ok(badVersion.status >= 400, badVersion.raw);
    const longUrl = await get(s.httpPort, `/v1.0/secrets/filestore/${"k".repeat(20_000)}`);
    assert.ok(longUrl.status === 431 || longUrl.status === 500, String(longUrl.status));
    assert.equal((await get(s.httpPort, "/v1.0/secrets/filestore/secret")).status, 200);
  });
});

describe("health and metadata endpoints", () => {
  it("healthz and healthz/outbound answer 204 once ready", async () => {
    assert.equal((await get(s.httpPort, "/v1.0/healthz")).status, 204);
    assert.equal((await get(s.httpPort, "/v1.0/healthz/outbound")).status, 204);
    assert.equal((await get(s.httpPort, "/v1.0/healthz?appid=test-app")).status, 204);
  });

  it("healthz with another app id is ERR_HEALTH_APPID_NOT_MATCH", async () => {
    const r = await get(s.httpPort, "/v1.0/healthz?appid=someone-else");
    assert.equal(r.status, 500);
    assert.deepEqual(JSON.parse(r.body), {
      errorCode: "ERR_HEALTH_APPID_NOT_MATCH",
      message: "dapr app-id does not match",
    });
  });

  it("metadata lists the app id and the components with their capabilities", async () => {
    const r = await get(s.httpPort, "/v1.0/metadata");
    assert.equal(r.status, 200);
    const m = JSON.parse(r.body) as {
      id: string;
      runtimeVersion: string;
      components: { name: string; type: string; version: string; capabilities?: string[] }[];
      extended: Record<string, string>;
    };
    assert.equal(m.id, "test-app");
    assert.ok(m.runtimeVersion);
    assert.ok(m.extended.daprRuntimeVersion);
    const byName = Object.fromEntries(m.components.map((c) => [c.name, c]));
    assert.deepEqual(byName.filestore, { name: "filestore", type: "secretstores.local.file", version: "v1" });
    assert.deepEqual(byName.multistore?.capabilities, ["MULTIPLE_KEY_VALUES_PER_SECRET"]);
    assert.equal(byName.envstore?.type, "secretstores.local.env");
  });

  it("PUT /v1.0/metadata/{key} stores an extended attribute", async () => {
    const r = await rawRequest(
      s.httpPort,
      "PUT /v1.0/metadata/team HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 8\r\n\r\npayments",
    );
    assert.equal(r.status, 204);
    const m = JSON.parse((await get(s.httpPort, "/v1.0/metadata")).body) as { extended: Record<string, string> };
    assert.equal(m.extended.team, "payments");
  });

  it("metrics count secret calls by store, operation and success, never by secret", async () => {
    await get(s.httpPort, "/v1.0/secrets/filestore/secret");
    await get(s.httpPort, "/v1.0/secrets/filestore/nope");
    const res = await fetch(`http://127.0.0.1:${s.metricsPort}/metrics`);
    const text = await res.text();
    assert.match(
      text,
      /dapr_component_secret_count\{app_id="test-app",component="filestore",operation="get",success="true"\} \d+/,
    );
    assert.match(text, /dapr_component_secret_count\{[^}]*component="filestore"[^}]*success="false"\} \d+/);
    assert.match(text, /dapr_component_secret_latencies_bucket/);
    assert.ok(!text.includes("nope") && !text.includes('"v1"'));
  });
});
