/** The log lines `keyward serve` writes: daprd's JSON schema with --log-as-json, and debug lines at debug level. */
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { KEYWARD_BIN } from "../helpers/paths.js";
import { componentYaml } from "../helpers/sidecar.js";

const dir = mkdtempSync(join(tmpdir(), "keyward-logs-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Go's time.RFC3339Nano in UTC: seconds, then an optional fraction of 1-9 digits without trailing zeros. */
const RFC3339_NANO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?Z$/;
const LEVELS = new Set(["debug", "info", "warning", "error", "fatal"]);

async function runAndStop(args: string[]): Promise<string> {
  writeFileSync(join(dir, "secrets.json"), JSON.stringify({ greeting: "log-canary-5a1f" }));
  const resources = mkdtempSync(join(dir, "resources-"));
  writeFileSync(
    join(resources, "store.yaml"),
    componentYaml("store", "secretstores.local.file", { secretsFile: join(dir, "secrets.json") }),
  );
  const child = spawn(
    process.execPath,
    [
      KEYWARD_BIN,
      "serve",
      "--app-id",
      "logs-app",
      "--resources-path",
      resources,
      "--dapr-http-port",
      "0",
      "--dapr-grpc-port",
      "0",
      "--metrics-port",
      "0",
      ...args,
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, DAPR_API_TOKEN: undefined } },
  );
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready:\n${out}`)), 30_000);
    child.stdout.on("data", () => {
      const m = /"?http_port"?[=:](\d+)/.exec(out);
      if (m && /Status: Running/.test(out)) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  // A failing read produces a debug line; a good one must never put the value in a line.
  assert.equal((await fetch(`http://127.0.0.1:${port}/v1.0/secrets/store/nope`)).status, 500);
  assert.equal((await fetch(`http://127.0.0.1:${port}/v1.0/secrets/store/greeting`)).status, 200);
  child.kill("SIGTERM");
  assert.equal(await exited, 0);
  assert.doesNotMatch(out, /log-canary-5a1f/);
  return out;
}

describe("logs", () => {
  it("--log-as-json writes daprd's schema on every line, and --log-level debug shows debug lines", async () => {
    const out = await runAndStop(["--log-as-json", "--log-level", "debug"]);
    const lines = out.split("\n").filter((l) => l.trim() !== "");
    assert.ok(lines.length >= 4, out);
    const levels = new Set<string>();
    for (const line of lines) {
      const rec = JSON.parse(line) as Record<string, unknown>;
      assert.match(String(rec.time), RFC3339_NANO, line);
      assert.ok(LEVELS.has(String(rec.level)), line);
      assert.equal(rec.type, "log", line);
      assert.equal(typeof rec.msg, "string", line);
      assert.equal(typeof rec.scope, "string", line);
      assert.match(String(rec.scope), /^dapr\./, line);
      assert.equal(rec.instance, hostname(), line);
      assert.equal(rec.app_id, "logs-app", line);
      assert.equal(typeof rec.ver, "string", line);
      assert.ok(!("pid" in rec) && !("hostname" in rec), line);
      levels.add(String(rec.level));
    }
    assert.ok(levels.has("debug"), "no debug line at --log-level debug");
    assert.ok(levels.has("info"));
    assert.ok(
      lines.some((l) => (JSON.parse(l) as { msg: string }).msg.startsWith("dapr initialized. Status: Running.")),
    );
  });

  it("the default level shows no debug line, and text lines keep the time=… level=… msg=… form", async () => {
    const out = await runAndStop([]);
    const lines = out.split("\n").filter((l) => l.trim() !== "");
    for (const line of lines) {
      assert.match(line, /^time="[^"]+" level=(info|warning|error|fatal) msg="/, line);
      const time = /^time="([^"]+)"/.exec(line)![1]!;
      assert.match(time, RFC3339_NANO, line);
    }
    assert.ok(lines.some((l) => l.includes("app_id=logs-app")));
  });
});
