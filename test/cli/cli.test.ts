/** The `keyward` command as users run it: help, flag errors (exit 2), Go flag syntax, `keyward validate`. */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { componentYaml, runKeyward, startSidecar } from "../helpers/sidecar.js";

const keyward = (args: string[], env: Record<string, string> = {}) => runKeyward({ env }, args);

const data = mkdtempSync(join(tmpdir(), "keyward-cli-"));
after(() => rmSync(data, { recursive: true, force: true }));

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(data, "f-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const secretsFile = join(data, "secrets.json");
writeFileSync(secretsFile, JSON.stringify({ greeting: "hi" }));
const fileStore = (name: string) => componentYaml(name, "secretstores.local.file", { secretsFile });
const refStore = (name: string, store: string) =>
  `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${name}\nspec:\n  type: secretstores.local.file\n  metadata:\n  - name: secretsFile\n    secretKeyRef:\n      name: path\nauth:\n  secretStore: ${store}\n`;

describe("keyward help", () => {
  it("serve --help documents every flag and the environment, exit 0", async () => {
    const { code, output } = await keyward(["serve", "--help"]);
    assert.equal(code, 0, output);
    for (const flag of [
      "--app-id",
      "--resources-path",
      "--components-path",
      "--config",
      "--dapr-http-port",
      "--dapr-grpc-port",
      "--metrics-port",
      "--dapr-listen-addresses",
      "--log-level",
      "--dapr-graceful-shutdown-seconds",
      "--enable-metrics",
      "--max-body-size",
      "--mode",
    ]) {
      assert.match(output, new RegExp(`^\\s+(--[\\w-]+, )*${flag}\\b.*\\S`, "m"), flag);
    }
    for (const def of [
      "default 3500",
      "default 50001",
      "default 9090",
      "default 127.0.0.1",
      "default info",
      "default 5",
    ])
      assert.ok(output.includes(def), def);
    for (const env of ["DAPR_API_TOKEN", "NAMESPACE"]) assert.match(output, new RegExp(`^\\s+${env}\\s+\\S`, "m"), env);
  });

  it("keyward --help exits 0; no command prints usage and exits 2; an unknown command exits 2", async () => {
    const help = await keyward(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.output, /keyward serve/);
    assert.match(help.output, /keyward validate/);
    const none = await keyward([]);
    assert.equal(none.code, 2);
    assert.match(none.output, /Usage:/);
    const unknown = await keyward(["serv"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.output, /unknown command "serv"/);
  });
});

describe("keyward serve flag errors (exit 2, before anything starts)", () => {
  const cases: [string[], RegExp][] = [
    [["--app-id", "a", "--bogus"], /keyward: unknown flag --bogus\nRun 'keyward serve --help' for usage\./],
    [["--app-id", "a", "--dapr-http-port", "99999"], /--dapr-http-port: 99999 is not a port/],
    [["--app-id", "a", "--log-level", "loud"], /invalid value "loud" for --log-level/],
    [["--app-id", "a", "--mode", "cloud"], /invalid value "cloud" for --mode/],
    [["--app-id", "a", "--max-body-size", "lots"], /invalid value "lots" for --max-body-size/],
  ];
  for (const [args, re] of cases) {
    it(args.slice(2).join(" "), async () => {
      const { code, output } = await keyward(["serve", ...args]);
      assert.equal(code, 2, output);
      assert.match(output, re);
      assert.doesNotMatch(output, /starting Keyward|at .*\.js:\d+/);
    });
  }
});

describe("keyward serve accepts daprd's command lines", () => {
  it("Go flag syntax, --components-path alias and repeated --resources-path", async () => {
    const one = folder({ "a.yaml": fileStore("from-components-path") });
    const two = folder({ "b.yaml": fileStore("from-resources-path") });
    const sc = await startSidecar({
      resourcesArgs: ["-components-path", one, "--resources-path=" + two],
      args: ["-app-id", "go-style", "--enable-metrics=false", "-log-level=debug", "--dapr-graceful-shutdown-seconds=2"],
    });
    try {
      const meta = (await (await fetch(`${sc.httpUrl}/v1.0/metadata`)).json()) as {
        id: string;
        components: { name: string }[];
      };
      assert.equal(meta.id, "go-style");
      assert.deepEqual(meta.components.map((c) => c.name).sort(), ["from-components-path", "from-resources-path"]);
      assert.equal(sc.metricsPort, undefined);
      assert.deepEqual(await (await fetch(`${sc.httpUrl}/v1.0/secrets/from-resources-path/greeting`)).json(), {
        greeting: "hi",
      });
    } finally {
      assert.equal(await sc.stop(), 0);
    }
    assert.match(sc.output(), /in-flight requests get up to 2s/);
  });
});

describe("keyward validate", () => {
  it("reports every problem with file:line and exits 1; skipped non-secret components are only warnings", async () => {
    const seed = "validate-seed-2b7e90";
    const dir = folder({
      "a-broken.yaml": `${fileStore("fine")}---\napiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: broken\nspec:\n  metadata:\n  - name: password\n    value: ${seed}\n      more: ${seed}\n`,
      "b-unknown.yaml": componentYaml("mystery", "secretstores.made.up"),
      "c-ref.yaml": refStore("orphan", "nowhere"),
      "d-state.yaml": componentYaml("statestore", "state.redis", { redisHost: "localhost:6379" }),
      "e-self.yaml": refStore("self", "self"),
      "f-resiliency.yaml":
        "apiVersion: dapr.io/v1alpha1\nkind: Resiliency\nmetadata:\n  name: r\nspec:\n  policies:\n    timeouts:\n      quick: soonish\n",
    });
    const { code, output } = await keyward(["validate", "--app-id", "app", "--resources-path", dir]);
    assert.equal(code, 1, output);
    const problems = output.split("\n").filter((l) => l.startsWith("problem: "));
    assert.equal(problems.length, 5, output);
    assert.ok(
      problems.some((l) => l.includes(`${join(dir, "a-broken.yaml")}:1`) && l.includes("YAML error")),
      output,
    );
    assert.ok(
      problems.some((l) =>
        l.includes(
          `${join(dir, "b-unknown.yaml")}:1: component mystery: couldn't find secret store secretstores.made.up/v1`,
        ),
      ),
      output,
    );
    assert.ok(
      problems.some((l) => l.includes(`${join(dir, "c-ref.yaml")}:1: component orphan: auth.secretStore nowhere`)),
      output,
    );
    assert.ok(
      problems.some((l) =>
        l.includes(`${join(dir, "e-self.yaml")}:1: component self: secret store reference cycle: self -> self`),
      ),
      output,
    );
    assert.match(output, /^warning: .*d-state\.yaml:1: component statestore \(state\.redis\)/m);
    assert.ok(
      problems.some((l) =>
        l.includes(`resiliency: ${join(dir, "f-resiliency.yaml")}:1 timeout quick: "soonish" is not a duration`),
      ),
      output,
    );
    assert.match(output, /^5 problem\(s\)$/m);
    assert.doesNotMatch(output, new RegExp(seed));
  });

  it("a clean folder with other component kinds passes (exit 0)", async () => {
    const dir = folder({
      "a.yaml": fileStore("ok"),
      "b.yaml": componentYaml("pubsub", "pubsub.redis", { redisHost: "x" }),
    });
    const { code, output } = await keyward(["validate", "--app-id", "app", "--components-path", dir]);
    assert.equal(code, 0, output);
    assert.match(output, /1 secret store component\(s\): ok/);
    assert.match(output, /^ok$/m);
  });

  it("duplicates and Configuration errors are reported together", async () => {
    const dir = folder({ "one.yaml": fileStore("dup"), "two.yaml": fileStore("dup") });
    const cfgDir = join(dir, "cfg");
    mkdirSync(cfgDir);
    const cfg = join(cfgDir, "config.yaml");
    writeFileSync(
      cfg,
      "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: c\nspec:\n  secrets:\n    scopes:\n      - storeName: a\n        defaultAccess: never\n",
    );
    const { code, output } = await keyward(["validate", "--app-id", "app", "--resources-path", dir, "--config", cfg]);
    assert.equal(code, 1, output);
    assert.match(
      output,
      new RegExp(`problem: configuration: ${cfg}:8: defaultAccess never can be either allow or deny`),
    );
    assert.match(output, /problem: duplicate definition of Component name dup: .*one\.yaml:1 and .*two\.yaml:1/);
  });

  it("bad validate flags exit 2", async () => {
    const { code, output } = await keyward(["validate", "--app-id", "a", "--nope"]);
    assert.equal(code, 2);
    assert.match(output, /unknown flag --nope\nRun 'keyward validate --help'/);
  });
});
