/** `keyward run --env`: secrets in the app's environment only, scopes applied, canaries never in Keyward's output. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { keywardToEnd } from "../helpers/keyward-run.js";
import { canary, dir, node, setup } from "../helpers/run-fixtures.js";

describe("keyward run --env", () => {
  it("puts the secret in the app's environment only: not in Keyward's output, env or argv, nor the sidecar's", async () => {
    const pw = canary("pw");
    const cert = canary("cert");
    const { resources, config, root } = setup({ db: { password: pw, user: "app" }, cert: { pem: cert } });
    const out = join(root, "out");
    const { code, output } = await keywardToEnd(
      [
        "run",
        "--app-id",
        "env-app",
        "--resources-path",
        resources,
        "--config",
        config,
        "--log-level",
        "debug",
        "--enable-api-logging",
        "--env",
        "DB_PASSWORD=vault/db#password",
        "--env",
        "CERT=vault/cert",
        "--",
        node,
        join(dir, "leak-check.mjs"),
      ],
      { cwd: root, env: { WATCH: "DB_PASSWORD", OUT: out } },
    );
    assert.equal(code, 0, output);
    assert.equal(readFileSync(out, "utf8"), pw);
    assert.match(output, /== APP == leaks: none/);
    assert.ok(!output.includes(pw) && !output.includes(cert), output);
  });

  it("a single-key secret needs no #KEY; CERT gets its only value", async () => {
    const cert = canary("cert");
    const { resources, root } = setup({ cert: { pem: cert } });
    const out = join(root, "out");
    const { code, output } = await keywardToEnd(
      ["run", "--resources-path", resources, "--env", "C=vault/cert", "--", node, join(dir, "leak-check.mjs")],
      { cwd: root, env: { WATCH: "C", OUT: out } },
    );
    assert.equal(code, 0, output);
    assert.equal(readFileSync(out, "utf8"), cert);
  });
});
