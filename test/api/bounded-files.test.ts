/**
 * Files Keyward reads must be regular files of a bounded size: a FIFO, a device or a folder is a clear
 * start-up error at once (never a hang), as are an oversized file and JSON nested too deep.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { mkfifo } from "../helpers/reload.js";
import { componentYaml, runKeyward, startSidecar } from "../helpers/sidecar.js";

const data = mkdtempSync(join(tmpdir(), "keyward-bounded-"));
after(() => rmSync(data, { recursive: true, force: true }));

/** Start-up with one local.file store; it must fail with `why`, well before the 60 s initTimeout. */
async function refused(metadata: Record<string, string>, why: RegExp): Promise<string> {
  const started = Date.now();
  const r = await runKeyward({
    components: { "a.yaml": componentYaml("a", "secretstores.local.file", metadata, "  initTimeout: 60s\n") },
  });
  assert.equal(r.code, 1, r.output);
  assert.match(r.output, /initialization error occurred for a /);
  assert.match(r.output, why);
  assert.doesNotMatch(r.output, /timed out|Maximum call stack/);
  assert.ok(Date.now() - started < 30_000);
  return r.output;
}

describe("bounded file reads", () => {
  it("a FIFO as secretsFile is refused at once", async () => {
    const fifo = mkfifo(join(data, "secrets.fifo"));
    await refused({ secretsFile: fifo }, /cannot read secrets file \S+secrets\.fifo: a FIFO, not a regular file/);
  });

  it("a device or a folder as secretsFile is refused", async () => {
    await refused(
      { secretsFile: "/dev/zero" },
      /cannot read secrets file \/dev\/zero: a character device, not a regular file/,
    );
    const dir = join(data, "folder.json");
    mkdirSync(dir);
    await refused({ secretsFile: dir }, /cannot read secrets file \S+folder\.json: a directory, not a regular file/);
  });

  it("a secrets file over 16 MiB, or over maxFileSize, is refused; one at the bound is read", async () => {
    const big = join(data, "big.json");
    writeFileSync(big, "");
    truncateSync(big, 16 * 1024 * 1024 + 1);
    await refused({ secretsFile: big }, /big\.json: larger than the limit of 16777216 bytes/);
    const small = join(data, "small.json");
    const text = JSON.stringify({ k: "x".repeat(2000) });
    writeFileSync(small, text);
    await refused({ secretsFile: small, maxFileSize: "1Ki" }, /small\.json: larger than the limit of 1024 bytes/);
    await refused({ secretsFile: small, maxFileSize: "lots" }, /metadata maxFileSize: \\?"lots\\?" is not a size/);
    const s = await startSidecar({
      components: {
        "a.yaml": componentYaml("a", "secretstores.local.file", {
          secretsFile: small,
          maxFileSize: String(text.length),
        }),
      },
    });
    assert.equal((await fetch(`${s.httpUrl}/v1.0/secrets/a/k`)).status, 200);
    assert.equal(await s.stop(), 0);
  });

  it("JSON nested deeper than 64 levels is refused with its place, never its content", async () => {
    const deep = join(data, "deep.json");
    const depth = 200_000;
    writeFileSync(deep, `{"deep-secret-7f3a":${"[".repeat(depth)}"v"${"]".repeat(depth)}}`);
    const out = await refused(
      { secretsFile: deep },
      /secrets file \S+deep\.json nests deeper than 64 levels \(line 1, column 84\)/,
    );
    assert.doesNotMatch(out, /deep-secret-7f3a/);
    const ok = join(data, "ok-depth.json");
    writeFileSync(ok, `{"a":${"[".repeat(63)}"v"${"]".repeat(63)}}`);
    const s = await startSidecar({
      components: { "a.yaml": componentYaml("a", "secretstores.local.file", { secretsFile: ok }) },
    });
    assert.equal(
      await (await fetch(`${s.httpUrl}/v1.0/secrets/a/a${":0".repeat(63)}`)).text(),
      `{"a${":0".repeat(63)}":"v"}\n`,
    );
    assert.equal(await s.stop(), 0);
  });

  it("a FIFO as Configuration file is a start-up error, not a hang", async () => {
    const fifo = mkfifo(join(data, "config.fifo"));
    const r = await runKeyward({}, [
      "serve",
      "--app-id",
      "t",
      "--config",
      fifo,
      "--dapr-http-port",
      "0",
      "--dapr-grpc-port",
      "0",
    ]);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /cannot read configuration \S+config\.fifo: a FIFO, not a regular file/);
  });
});
