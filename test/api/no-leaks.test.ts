/**
 * Secret values never reach the sidecar's output: unique values are seeded in every store and in
 * component metadata, every error path is driven at debug level with API logging, then output is grepped.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Metadata } from "@grpc/grpc-js";
import { daprGrpcClient, unary } from "../helpers/clients.js";
import { get, rawRequest } from "../helpers/raw-http.js";
import { componentYaml, runKeyward, startSidecar } from "../helpers/sidecar.js";

const tag = `${process.pid}${Date.now()}`;
const CANARY = {
  file: `file-canary-${tag}`,
  nested: `nested-canary-${tag}`,
  env: `env-canary-${tag}`,
  token: `token-canary-${tag}`,
  inline: `inline-canary-${tag}`,
  ref: `ref-canary-${tag}`,
  yaml: `yaml-canary-${tag}`,
  json: `json-canary-${tag}`,
};

function assertClean(output: string): void {
  for (const [name, value] of Object.entries(CANARY))
    assert.ok(
      !output.includes(value),
      `${name} canary leaked:\n${output
        .split("\n")
        .filter((l) => l.includes(value))
        .join("\n")}`,
    );
}

const dir = mkdtempSync(join(tmpdir(), "keyward-leak-"));
const secretsFile = join(dir, "secrets.json");
writeFileSync(secretsFile, JSON.stringify({ db: CANARY.file, group: { pw: CANARY.nested }, ref: CANARY.ref }));

describe("no secret value in the sidecar's output", () => {
  it("a running sidecar, every request path, debug logs and API logging", async () => {
    const s = await startSidecar({
      args: ["--log-level", "debug", "--enable-api-logging"],
      env: { KWLEAK_PW: CANARY.env, DAPR_API_TOKEN: CANARY.token },
      config: `apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: c\nspec:\n  secrets:\n    scopes:\n      - storeName: files\n        deniedSecrets: ["db"]\n`,
      components: {
        "files.yaml": componentYaml("files", "secretstores.local.file", { secretsFile, someCredential: CANARY.inline }),
        "env.yaml": componentYaml("env", "secretstores.local.env", { prefix: "KWLEAK_" }),
        "ref.yaml": `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: uses-ref\nspec:\n  type: secretstores.local.env\n  metadata:\n  - name: prefix\n    secretKeyRef:\n      name: ref\nauth:\n  secretStore: files\n`,
      },
    });
    const h = `dapr-api-token: ${CANARY.token}\r\n`;
    const paths = [
      "/v1.0/secrets/files/db",
      "/v1.0/secrets/files/group:pw",
      "/v1.0/secrets/files/bulk",
      "/v1.0/secrets/files/missing",
      "/v1.0/secrets/env/PW",
      "/v1.0/secrets/env/bulk",
      "/v1.0/secrets/nostore/x",
      "/v1.0/secrets/files/%zz",
      "/v1.0/metadata",
      "/v1.0/nothing",
    ];
    for (const p of paths) {
      await get(s.httpPort, p, h);
      await get(s.httpPort, p);
      await get(s.httpPort, p, `dapr-api-token: ${CANARY.token}x\r\n`);
    }
    await rawRequest(
      s.httpPort,
      `GET /v1.0/secrets/files/group:pw HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${h}Content-Length: 20\r\n\r\n{"key":${JSON.stringify(CANARY.json.slice(0, 5))}`,
      1000,
    ).catch(() => undefined);
    const c = daprGrpcClient(s.grpcAddress);
    const md = new Metadata();
    md.set("dapr-api-token", CANARY.token);
    for (const key of ["db", "group:pw", "missing"]) await unary(c, "GetSecret", { store_name: "files", key }, md);
    await unary(c, "GetBulkSecret", { store_name: "files" }, md);
    await unary(c, "GetSecret", { store_name: "files", key: "db" });
    c.close();
    const metrics = await (await fetch(`http://127.0.0.1:${s.metricsPort}/metrics`)).text();
    await s.stop();
    // The requests really returned the values: the test would catch a leak if there were one.
    assert.match(s.output(), /HTTP API called/);
    assertClean(s.output());
    assertClean(metrics);
  });

  it("start-up failures: a broken secrets file, a failed reference, a YAML error", async () => {
    const badJson = join(dir, "bad.json");
    writeFileSync(badJson, `{"a": "${CANARY.json}", oops}`);
    const r1 = await runKeyward({
      components: {
        "a.yaml": componentYaml("bad", "secretstores.local.file", { secretsFile: badJson, password: CANARY.inline }),
      },
    });
    assert.equal(r1.code, 1);
    assert.match(r1.output, /not valid JSON/);
    assertClean(r1.output);

    const r2 = await runKeyward({
      components: {
        "a.yaml": componentYaml("files", "secretstores.local.file", { secretsFile }),
        "b.yaml": `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: b\nspec:\n  type: secretstores.local.file\n  metadata:\n  - name: secretsFile\n    secretKeyRef:\n      name: db\n      key: nokey\nauth:\n  secretStore: files\n`,
      },
    });
    assert.equal(r2.code, 1);
    assert.match(r2.output, /has no key nokey/);
    assertClean(r2.output);

    const r3 = await startSidecar({
      components: {
        "broken.yaml": `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: x\nspec:\n  type: secretstores.local.env\n  metadata:\n  - name: password\n    value: "${CANARY.yaml}\n  - : [\n`,
      },
    });
    await r3.stop();
    assert.match(r3.output(), /broken\.yaml:\d+: YAML error/);
    assertClean(r3.output());
  });
});
