/** `keyward run -- CMD`: the quickstart app unchanged, exit codes and signals both ways, prefixed output. */
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { componentYaml } from "../helpers/sidecar.js";
import { keywardToEnd, startKeyward, workFolder, writeFiles } from "../helpers/keyward-run.js";
import { REPO_ROOT } from "../helpers/paths.js";

const quickstart = join(REPO_ROOT, "examples/quickstart/order-processor");
const node = process.execPath;

const dir = workFolder("run-app");
writeFiles(dir, {
  "secrets.json": JSON.stringify({ greeting: "hello" }),
  // The quickstart read over gRPC, finding the sidecar only through the variables keyward run sets.
  "grpc-app.mjs": `import { DaprClient, CommunicationProtocolEnum } from "@dapr/dapr";
const client = new DaprClient({ communicationProtocol: CommunicationProtocolEnum.GRPC });
console.log("gRPC Fetched Secret: " + JSON.stringify(await client.secret.get("store", "greeting")));
await client.stop();
`,
  "trap.mjs": `process.on("SIGTERM", () => { console.log("app got SIGTERM"); process.exit(3); });
console.log("app ready " + process.env.APP_ID);
setInterval(() => {}, 1000);
`,
  "shutdown-sidecar.mjs": `console.log("app ready");
process.on("SIGTERM", () => { console.log("app told to stop"); process.exit(0); });
await fetch(process.env.DAPR_HTTP_ENDPOINT + "/v1.0/shutdown", { method: "POST", headers: { "dapr-force-shutdown": "true" } });
setInterval(() => {}, 1000);
`,
  "noisy.mjs": `process.stdout.write("x".repeat(200000));
console.error("to stderr");
`,
});
const resources = join(dir, "resources");
mkdirSync(resources);
writeFiles(resources, {
  "store.yaml": componentYaml("store", "secretstores.local.file", { secretsFile: join(dir, "secrets.json") }),
});
const run = (args: string[], cmd: string[]) =>
  keywardToEnd(["run", "--app-id", "runner", "--resources-path", resources, ...args, "--", ...cmd], { cwd: dir });

describe("keyward run: the Dapr quickstart app, unchanged", () => {
  it("the HTTP SDK app reads its secret through the sidecar keyward run started", async () => {
    const { code, output } = await keywardToEnd(
      ["run", "--app-id", "order-processor", "--resources-path", "../components", "--", node, "index.js"],
      { cwd: quickstart },
    );
    assert.equal(code, 0, output);
    assert.match(output, /^== APP == Fetched Secret: \{"secret":"YourPasskeyHere"\}$/m);
    assert.match(output, /^== KEYWARD == .*dapr initialized/m);
    assert.match(output, /^== KEYWARD == .*Keyward stopped/m, "the sidecar stops when the app exits");
  });

  it("a gRPC SDK client finds the sidecar from DAPR_GRPC_ENDPOINT alone", async () => {
    const { code, output } = await run([], [node, "grpc-app.mjs"]);
    assert.equal(code, 0, output);
    assert.match(output, /^== APP == gRPC Fetched Secret: \{"greeting":"hello"\}$/m);
  });

  it("sets APP_ID, the ports, the endpoints and DAPR_API_TOKEN; ports not given are free ones", async () => {
    const script = `console.log([process.env.APP_ID, process.env.DAPR_HTTP_PORT, process.env.DAPR_GRPC_PORT, process.env.DAPR_HTTP_ENDPOINT, process.env.DAPR_GRPC_ENDPOINT, process.env.DAPR_API_TOKEN, process.env.APP_PORT].join(" "))`;
    const { code, output } = await keywardToEnd(
      ["run", "-a", "envy", "-d", resources, "-p", "8088", "--", node, "-e", script],
      { cwd: dir, env: { DAPR_API_TOKEN: "tok-123" } },
    );
    assert.equal(code, 0, output);
    const m = /^== APP == envy (\d+) (\d+) http:\/\/127\.0\.0\.1:(\d+) http:\/\/127\.0\.0\.1:(\d+) tok-123 8088$/m.exec(
      output,
    );
    assert.ok(m, output);
    assert.equal(m[1], m[3]);
    assert.equal(m[2], m[4]);
    assert.notEqual(m[1], "3500");
    assert.match(output, /daprd flags accepted and ignored \(no meaning for a secrets sidecar\): --app-port/);
  });
});

describe("keyward run: exit codes and signals", () => {
  it("exits with the app's exit code", async () => {
    const { code, output } = await run([], [node, "-e", "process.exit(7)"]);
    assert.equal(code, 7, output);
  });

  it("128+signal when a signal killed the app", async () => {
    const { code, output } = await run(
      [],
      [node, "-e", "process.kill(process.pid, 'SIGTERM'); setTimeout(() => {}, 5000)"],
    );
    assert.equal(code, 143, output);
  });

  for (const [sig, want] of [
    ["SIGTERM", 3],
    ["SIGINT", 130],
  ] as const) {
    it(`${sig} to keyward run goes to the app; the sidecar stops after it`, async () => {
      const h = startKeyward(["run", "--app-id", "trap", "--resources-path", resources, "--", node, "trap.mjs"], {
        cwd: dir,
      });
      await h.waitFor(/== APP == app ready trap/);
      h.child.kill(sig);
      assert.equal(await h.exited, want, h.output());
      if (sig === "SIGTERM") assert.match(h.output(), /== APP == app got SIGTERM/);
      const out = h.output();
      assert.ok(out.lastIndexOf("Keyward stopped") > out.indexOf("app got SIGTERM"), out);
    });
  }

  it("when the sidecar fails, the app is stopped and keyward run says why (exit 1)", async () => {
    const { code, output } = await run([], [node, "shutdown-sidecar.mjs"]);
    assert.equal(code, 1, output);
    assert.match(output, /== APP == app told to stop/);
    assert.match(
      output,
      /keyward run: \[runner\] the sidecar stopped unexpectedly \(exit code 1\); the app was stopped/,
    );
  });

  it("a sidecar that cannot start: the app never starts, exit 1", async () => {
    const { code, output } = await keywardToEnd(
      ["run", "--app-id", "x", "--resources-path", join(dir, "missing"), "--", node, "-e", "console.log('started')"],
      { cwd: dir },
    );
    assert.equal(code, 1, output);
    assert.match(output, /the sidecar stopped before it was ready/);
    assert.doesNotMatch(output, /started/);
  });

  it("a command that does not exist: exit 127 with a message", async () => {
    const { code, output } = await run([], ["no-such-command-keyward-test"]);
    assert.equal(code, 127, output);
    assert.match(output, /cannot start "no-such-command-keyward-test": command not found/);
  });

  it("app output on both streams is prefixed; a 200 kB line with no newline arrives whole", async () => {
    const { code, output } = await run([], [node, "noisy.mjs"]);
    assert.equal(code, 0, output);
    assert.match(output, /^== APP == to stderr$/m);
    const xs = output.split("\n").filter((l) => l.startsWith("== APP == x"));
    assert.equal(xs.map((l) => l.slice("== APP == ".length)).join(""), "x".repeat(200000));
  });
});

describe("keyward run: command-line errors stop before anything starts (exit 2)", () => {
  const cases: [string[], RegExp][] = [
    [["--resources-pth", "x", "--", "true"], /unknown flag --resources-pth; did you mean --resources-path\?/],
    [["--kubernetes", "--", "true"], /--kubernetes is not supported/],
    [["--app-port", "eighty", "--", "true"], /invalid value "eighty" for --app-port/],
    [["--on-change", "restart", "--", "true"], /--on-change needs --env or --template/],
    [["--env", "1BAD=s/x", "--", "true"], /invalid --env "1BAD=s\/x"/],
    [["--env", "A=nostore", "--", "true"], /STORE\/SECRET/],
    [["--on-change", "signal:NOPE", "--env", "A=s/x", "--", "true"], /invalid value "signal:NOPE" for --on-change/],
    [["--poll-interval", "soon", "--env", "A=s/x", "--", "true"], /--poll-interval/],
  ];
  for (const [args, re] of cases)
    it(args.join(" "), async () => {
      const { code, output } = await keywardToEnd(["run", ...args], { cwd: dir });
      assert.equal(code, 2, output);
      assert.match(output, re);
      assert.match(output, /Run 'keyward run --help' for usage/);
      assert.doesNotMatch(output, /starting Keyward/);
    });

  it("keyward run --help lists dapr run's flags and Keyward's own", async () => {
    const { code, output } = await keywardToEnd(["run", "--help"]);
    assert.equal(code, 0);
    for (const f of [
      "--app-id, --a",
      "--app-port",
      "--run-file, --f",
      "--env",
      "--template",
      "--on-change",
      "--poll-interval",
    ])
      assert.ok(output.includes(f), f);
  });
});
