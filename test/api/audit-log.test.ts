/** `--audit-log`: one JSON line per secret access and refusal, on both transports; never a value or token. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, renameSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Metadata, status } from "@grpc/grpc-js";
import { daprGrpcClient, unary, type DaprGrpcClient } from "../helpers/clients.js";
import { get } from "../helpers/raw-http.js";
import { componentYaml, runKeyward, startSidecar, type Sidecar } from "../helpers/sidecar.js";
import { writeJson } from "./fixtures.js";

const TOKEN = `audit-token-${process.pid}-canary`;
const VALUES = { alpha: `audit-alpha-${process.pid}-value`, beta: `audit-beta-${process.pid}-value` };
const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

const CONFIG = `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: audit
spec:
  secrets:
    scopes:
      - storeName: scoped
        defaultAccess: deny
        allowedSecrets: ["alpha"]
`;

function components(): Record<string, string> {
  const file = writeJson(VALUES);
  return {
    "vault.yaml": componentYaml("vault", "secretstores.local.file", { secretsFile: file }),
    "scoped.yaml": componentYaml("scoped", "secretstores.local.file", { secretsFile: file }),
  };
}

type Line = Record<string, unknown>;

/** Reads the audit lines added to `path` since the last call; `seen` counts the lines already read. */
function reader(path: () => string) {
  let seen = 0;
  return {
    reset() {
      seen = 0;
    },
    async next(): Promise<Line> {
      for (let i = 0; i < 50; i++) {
        const lines = readFileSync(path(), "utf8").split("\n").filter(Boolean);
        if (lines.length > seen) {
          assert.equal(lines.length, seen + 1, `one line per call, got:\n${lines.slice(seen).join("\n")}`);
          seen = lines.length;
          return JSON.parse(lines.at(-1)!) as Line;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`no new audit line in ${path()}`);
    },
  };
}

const RFC3339_NANO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

function common(line: Line, transport: "http" | "grpc"): void {
  assert.match(String(line.time), RFC3339_NANO);
  assert.equal(line.app_id, "audited");
  assert.equal(line.transport, transport);
  assert.match(String(line.remote_address), /^127\.0\.0\.1:\d+$/);
}

describe("the audit log of a sidecar with a token and secret scopes", () => {
  let s: Sidecar;
  let c: DaprGrpcClient;
  let path = "";
  const audit = reader(() => path);
  const auth = `dapr-api-token: ${TOKEN}\r\n`;
  const md = (token = TOKEN, traceparent?: string) => {
    const m = new Metadata();
    m.set("dapr-api-token", token);
    if (traceparent) m.set("traceparent", traceparent);
    return m;
  };

  before(async () => {
    path = join(mkdtempSync(join(tmpdir(), "keyward-audit-")), "audit.log");
    s = await startSidecar({
      appId: "audited",
      components: components(),
      config: CONFIG,
      env: { DAPR_API_TOKEN: TOKEN },
      args: ["--audit-log", path, "--max-body-size", "1Ki"],
    });
    c = daprGrpcClient(s.grpcAddress);
  });
  after(async () => {
    c.close();
    await s.stop();
  });

  it("creates the file readable by its owner only", () => {
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  it("records HTTP reads with the key names returned and the caller's trace id", async () => {
    const r = await get(s.httpPort, "/v1.0/secrets/vault/alpha", `${auth}traceparent: ${TRACEPARENT}\r\n`);
    assert.equal(r.status, 200);
    const line = await audit.next();
    common(line, "http");
    assert.equal(line.store, "vault");
    assert.equal(line.secret, "alpha");
    assert.equal(line.operation, "get");
    assert.equal(line.decision, "allowed");
    assert.equal(line.outcome, "ok");
    assert.deepEqual(line.keys, ["alpha"]);
    assert.equal(line.trace_id, TRACE_ID);
    assert.equal(line.reason, undefined);

    assert.equal((await get(s.httpPort, "/v1.0/secrets/vault/bulk", auth)).status, 200);
    const bulk = await audit.next();
    assert.equal(bulk.secret, "bulk");
    assert.equal(bulk.operation, "bulk");
    assert.deepEqual(bulk.keys, { alpha: ["alpha"], beta: ["beta"] });
    assert.equal(bulk.trace_id, undefined);
  });

  it("records HTTP refusals with their reason", async () => {
    const cases: [string, string, number, Line][] = [
      ["/v1.0/secrets/vault/alpha", "dapr-api-token: wrong\r\n", 401, { decision: "denied", reason: "token" }],
      ["/v1.0/secrets/scoped/beta", auth, 403, { decision: "denied", reason: "scope", store: "scoped" }],
      ["/v1.0/secrets/nostore/alpha", auth, 401, { decision: "denied", reason: "store_not_found" }],
      ["/v1.0/secrets/vault/bad%zz", auth, 400, { decision: "denied", reason: "bad_request", secret: "bad%zz" }],
      [
        "/v1.0/secrets/vault/missing",
        auth,
        500,
        { decision: "allowed", outcome: "not_found", error_kind: "not_found" },
      ],
    ];
    for (const [url, headers, code, expected] of cases) {
      assert.equal((await get(s.httpPort, url, headers)).status, code, url);
      const line = await audit.next();
      common(line, "http");
      for (const [k, v] of Object.entries(expected)) assert.equal(line[k], v, `${url}: ${k}`);
      assert.equal(line.keys, undefined);
    }
  });

  it("records a subscription when it is let in, and a refused one with its reason", async () => {
    const headers = { "dapr-api-token": TOKEN };
    const ctl = new AbortController();
    const url = `http://127.0.0.1:${s.httpPort}/v1.0-alpha1/secrets/vault/alpha/subscribe`;
    const res = await fetch(url, { headers, signal: ctl.signal });
    assert.equal(res.status, 200);
    const line = await audit.next();
    common(line, "http");
    for (const [k, v] of Object.entries({
      operation: "subscribe",
      store: "vault",
      secret: "alpha",
      decision: "allowed",
    }))
      assert.equal(line[k], v, k);
    ctl.abort();
    const denied = await fetch(`http://127.0.0.1:${s.httpPort}/v1.0-alpha1/secrets/scoped/beta/subscribe`, { headers });
    assert.equal(denied.status, 403);
    await denied.text();
    const refusal = await audit.next();
    for (const [k, v] of Object.entries({ operation: "subscribe", store: "scoped", secret: "beta", reason: "scope" }))
      assert.equal(refusal[k], v, k);
  });

  it("records a body over the limit as refused by a limit", async () => {
    const body = "{" + " ".repeat(2048) + "}";
    const r = await get(
      s.httpPort,
      "/v1.0/secrets/vault/alpha",
      `${auth}Content-Length: ${body.length}\r\n\r\n${body}`,
    );
    assert.equal(r.status, 400);
    const line = await audit.next();
    assert.equal(line.decision, "denied");
    assert.equal(line.reason, "limit");
  });

  it("records gRPC reads and refusals", async () => {
    const ok = await unary(c, "GetSecret", { store_name: "vault", key: "beta" }, md(TOKEN, TRACEPARENT));
    assert.equal(ok.err, undefined);
    const line = await audit.next();
    common(line, "grpc");
    assert.deepEqual(
      { store: line.store, secret: line.secret, operation: line.operation, decision: line.decision },
      { store: "vault", secret: "beta", operation: "get", decision: "allowed" },
    );
    assert.deepEqual(line.keys, ["beta"]);
    assert.equal(line.trace_id, TRACE_ID);

    assert.equal((await unary(c, "GetBulkSecret", { store_name: "scoped" }, md())).err, undefined);
    const bulk = await audit.next();
    assert.equal(bulk.operation, "bulk");
    assert.deepEqual(bulk.keys, { alpha: ["alpha"] }, "the scope filters the names recorded as it filters the answer");

    const cases: [string, Record<string, unknown>, Metadata, status, Line][] = [
      ["GetSecret", { store_name: "vault", key: "alpha" }, md("wrong"), status.UNAUTHENTICATED, { reason: "token" }],
      ["GetSecret", { store_name: "scoped", key: "beta" }, md(), status.PERMISSION_DENIED, { reason: "scope" }],
      ["GetBulkSecret", { store_name: "nostore" }, md(), status.INVALID_ARGUMENT, { reason: "store_not_found" }],
    ];
    for (const [method, req, meta, code, expected] of cases) {
      assert.equal((await unary(c, method, req, meta)).err?.code, code);
      const refused = await audit.next();
      common(refused, "grpc");
      assert.equal(refused.decision, "denied");
      for (const [k, v] of Object.entries(expected)) assert.equal(refused[k], v, `${method}: ${k}`);
    }
  });

  it("reopens the file on SIGHUP after a rotation", async () => {
    renameSync(path, `${path}.1`);
    const before = readFileSync(`${path}.1`, "utf8");
    s.process.kill("SIGHUP");
    for (let i = 0; i < 100 && !s.output().includes("audit log reopened"); i++)
      await new Promise((r) => setTimeout(r, 20));
    audit.reset();
    assert.equal((await get(s.httpPort, "/v1.0/secrets/vault/alpha", auth)).status, 200);
    assert.equal((await audit.next()).secret, "alpha");
    assert.equal(readFileSync(`${path}.1`, "utf8"), before, "the rotated file gets nothing more");
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  it("never holds a secret value or the token, nor does the sidecar's output", () => {
    const written = readFileSync(path, "utf8") + readFileSync(`${path}.1`, "utf8") + s.output();
    for (const secret of [TOKEN, ...Object.values(VALUES)]) assert.ok(!written.includes(secret), secret);
  });
});

describe("--audit-log - and an API deny-list", () => {
  it("writes the lines to stdout and records allow-list refusals", async () => {
    const s = await startSidecar({
      appId: "audited",
      components: components(),
      config: `apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: c\nspec:\n  api:\n    denied:\n    - name: secrets\n      version: v1\n      protocol: grpc\n`,
      args: ["--audit-log", "-"],
    });
    const c = daprGrpcClient(s.grpcAddress);
    try {
      assert.equal(
        (await unary(c, "GetSecret", { store_name: "vault", key: "alpha" })).err?.code,
        status.UNIMPLEMENTED,
      );
      assert.equal((await get(s.httpPort, "/v1.0/secrets/vault/alpha")).status, 200);
      let lines: Line[] = [];
      for (let i = 0; i < 50 && lines.length < 2; i++) {
        await new Promise((r) => setTimeout(r, 20));
        lines = s
          .output()
          .split("\n")
          .filter((l) => l.startsWith('{"time"') && l.includes('"decision"'))
          .map((l) => JSON.parse(l) as Line);
      }
      assert.equal(lines.length, 2);
      assert.deepEqual(
        lines.map((l) => [l.transport, l.operation, l.decision, l.reason]),
        [
          ["grpc", "get", "denied", "allowlist"],
          ["http", "get", "allowed", undefined],
        ],
      );
    } finally {
      c.close();
      await s.stop();
    }
  });
});

describe("an audit log that cannot be written", () => {
  const auditFull = async (required: boolean) => {
    const s = await startSidecar({
      appId: "audited",
      components: components(),
      args: ["--audit-log", "/dev/full", ...(required ? ["--audit-log-required"] : [])],
    });
    const c = daprGrpcClient(s.grpcAddress);
    const http = await get(s.httpPort, "/v1.0/secrets/vault/alpha");
    const grpc = await unary(c, "GetSecret", { store_name: "vault", key: "alpha" });
    const metrics = await fetch(`http://127.0.0.1:${s.metricsPort}/metrics`).then((r) => r.text());
    c.close();
    await s.stop();
    return { http, grpc, metrics, output: s.output() };
  };

  it("refuses the access with --audit-log-required, on both transports", async () => {
    const { http, grpc, metrics, output } = await auditFull(true);
    assert.equal(http.status, 500);
    assert.match(http.body, /ERR_AUDIT_LOG/);
    assert.equal(grpc.err?.code, status.INTERNAL);
    assert.match(grpc.err!.details, /audit log cannot be written/);
    for (const answer of [http.raw, JSON.stringify(grpc)]) assert.ok(!answer.includes(VALUES.alpha));
    assert.match(output, /audit log: cannot write, accesses are refused/);
    assert.match(metrics, /keyward_audit_failures_total\{app_id="audited"\} 2/);
  });

  it("serves the access without it, and logs and counts the failure", async () => {
    const { http, grpc, metrics, output } = await auditFull(false);
    assert.equal(http.status, 200);
    assert.deepEqual(grpc.res?.data, { alpha: VALUES.alpha });
    assert.match(output, /audit log: cannot write, accesses are still served/);
    assert.match(metrics, /keyward_audit_failures_total\{app_id="audited"\} 2/);
    assert.ok(!output.includes(VALUES.alpha));
  });
});

describe("audit log start-up errors", () => {
  it("refuses a directory, a FIFO and --audit-log-required alone", async () => {
    const dir = mkdtempSync(join(tmpdir(), "keyward-audit-"));
    const fifo = join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    for (const [args, message] of [
      [["--audit-log", dir], /is a directory/],
      [["--audit-log", fifo], /is a FIFO/],
      [["--audit-log-required"], /--audit-log-required needs --audit-log/],
      [["--audit-log="], /--audit-log needs a file path/],
    ] as const) {
      const { code, output } = await runKeyward({ appId: "audited", args: [...args] });
      assert.notEqual(code, 0, args.join(" "));
      assert.match(output, message);
    }
  });
});
