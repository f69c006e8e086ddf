import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { flagHelp, parseFlags, parseQuantity, UsageError, type FlagSpec } from "../../src/cli/flags.js";
import { serveHelp, serveSettings, type ServeSettings } from "../../src/cli/serve.js";
import { SERVE_FLAGS } from "../../src/cli/serve-flags.js";

const settings = (argv: string[], env: NodeJS.ProcessEnv = {}): ServeSettings => {
  const s = serveSettings(argv, env);
  assert.notEqual(s, "help");
  return s as ServeSettings;
};

const usage = (argv: string[], re: RegExp, env: NodeJS.ProcessEnv = {}) =>
  assert.throws(
    () => serveSettings(argv, env),
    (err: unknown) => err instanceof UsageError && re.test(err.message),
    argv.join(" "),
  );

describe("serve flags: daprd's names and defaults", () => {
  it("defaults", () => {
    const s = settings(["--app-id", "a"]);
    assert.equal(s.appId, "a");
    assert.deepEqual(s.resourcesPaths, []);
    assert.deepEqual(s.configFiles, []);
    assert.equal(s.httpPort, 3500);
    assert.equal(s.grpcPort, 50001);
    assert.equal(s.metricsPort, 9090);
    assert.deepEqual(s.listen, ["127.0.0.1"]);
    assert.equal(s.metrics, true);
    assert.equal(s.logLevel, "info");
    assert.equal(s.logJson, false);
    assert.equal(s.graceSeconds, 5);
    assert.equal(s.maxBodyBytes, 4 * 1024 * 1024);
    assert.equal(s.kubernetesMode, false);
  });

  it("Go flag syntax: -name value, --name=value, -name=value, booleans with =false", () => {
    const s = settings([
      "-app-id",
      "x",
      "--dapr-http-port=3600",
      "-dapr-grpc-port=50002",
      "--enable-metrics=false",
      "-log-as-json",
      "--log-level",
      "DEBUG",
    ]);
    assert.equal(s.appId, "x");
    assert.equal(s.httpPort, 3600);
    assert.equal(s.grpcPort, 50002);
    assert.equal(s.metrics, false);
    assert.equal(s.logJson, true);
    assert.equal(s.logLevel, "debug");
    for (const [v, want] of [
      ["true", true],
      ["1", true],
      ["t", true],
      ["0", false],
      ["F", false],
      ["FALSE", false],
    ] as const) {
      assert.equal(settings(["--app-id", "a", `--enable-metrics=${v}`]).metrics, want, v);
    }
  });

  it("--resources-path is repeatable and --components-path is its alias, in order given", () => {
    const s = settings([
      "--app-id",
      "a",
      "--components-path",
      "one",
      "--resources-path",
      "two",
      "-components-path=three",
    ]);
    assert.deepEqual(s.resourcesPaths, ["one", "two", "three"]);
    assert.deepEqual(settings(["--app-id", "a", "--config", "c1", "--config=c2"]).configFiles, ["c1", "c2"]);
  });

  it("a repeated single-valued flag keeps the last value, as Go's flag package", () => {
    assert.equal(settings(["--app-id", "first", "--app-id", "second"]).appId, "second");
  });

  it("--dapr-listen-addresses takes a comma-separated list of IPs (IPv6 with or without brackets) or host names", () => {
    assert.deepEqual(
      settings(["--app-id", "a", "--dapr-listen-addresses", "127.0.0.1, ::1,[fe80::1],localhost,0.0.0.0"]).listen,
      ["127.0.0.1", "::1", "fe80::1", "localhost", "0.0.0.0"],
    );
    assert.equal(settings(["--app-id", "a", "--metrics-listen-address", "[::]"]).metricsAddress, "::");
  });

  it("app id from APP_ID when the flag is absent; required otherwise", () => {
    assert.equal(settings([], { APP_ID: "from-env" }).appId, "from-env");
    usage([], /--app-id is required/);
  });

  it("--mode kubernetes / standalone", () => {
    assert.equal(settings(["--app-id", "a", "--mode", "kubernetes"]).kubernetesMode, true);
    assert.equal(settings(["--app-id", "a", "--mode", "Standalone"]).kubernetesMode, false);
  });

  it("--max-body-size takes quantities", () => {
    assert.equal(settings(["--app-id", "a", "--max-body-size", "512Ki"]).maxBodyBytes, 512 * 1024);
    assert.equal(parseQuantity("1.5Mi", "x"), 1.5 * 1024 * 1024);
    assert.equal(parseQuantity("2G", "x"), 2e9);
    assert.equal(parseQuantity("1000", "x"), 1000);
  });

  it("--help / -h / -help", () => {
    for (const h of ["--help", "-h", "-help", "--h"]) assert.equal(serveSettings([h], {}), "help", h);
  });
});

describe("serve flags: clear errors", () => {
  it("unknown flags name the flag", () => {
    usage(["--app-id", "a", "--bogus"], /^unknown flag --bogus$/);
    usage(["--app-id", "a", "--bogus=1"], /^unknown flag --bogus$/);
    usage(["--app-id", "a", "---app-id", "b"], /unknown flag ---app-id/);
  });

  it("bad values", () => {
    const cases: [string[], RegExp][] = [
      [["--dapr-http-port", "abc"], /invalid value "abc" for --dapr-http-port: not an integer/],
      [["--dapr-http-port", "70000"], /--dapr-http-port: 70000 is not a port/],
      [["--dapr-grpc-port", "-1"], /--dapr-grpc-port: -1 is not a port/],
      [["--metrics-port", "1.5"], /--metrics-port: not an integer/],
      [["--log-level", "verbose"], /invalid value "verbose" for --log-level: use debug, info, warn, error or fatal/],
      [["--mode", "cloud"], /invalid value "cloud" for --mode: use standalone or kubernetes/],
      [["--max-body-size", "4XB"], /invalid value "4XB" for --max-body-size: use a size such as 4Mi/],
      [["--max-body-size", "0"], /--max-body-size: must be more than 0/],
      [["--enable-metrics=maybe"], /invalid boolean value "maybe" for --enable-metrics/],
      [["--dapr-graceful-shutdown-seconds", "-1"], /cannot be negative/],
      [["--dapr-graceful-shutdown-seconds", "soon"], /not an integer/],
      [["--dapr-listen-addresses", " , "], /needs at least one address/],
      [["--dapr-listen-addresses", "127.0.0.1,not_an*ip"], /invalid address "not_an\*ip" in --dapr-listen-addresses/],
      [["--dapr-listen-addresses", "127.0.0.1:3500"], /invalid address "127\.0\.0\.1:3500"/],
      [["--metrics-listen-address", "bad host"], /invalid address "bad host" in --metrics-listen-address/],
      [["--config"], /flag --config needs a value/],
      [["stray"], /unexpected argument "stray"/],
      [["--enable-metrics", "false"], /unexpected argument "false"/],
    ];
    for (const [argv, re] of cases) usage(["--app-id", "a", ...argv], re);
  });
});

describe("serve help", () => {
  it("lists every flag keyward serve accepts, with its aliases", () => {
    const help = serveHelp();
    for (const spec of SERVE_FLAGS) {
      for (const name of [spec.name, ...(spec.aliases ?? [])]) assert.ok(help.includes(`--${name}`), name);
      if (spec.help) assert.ok(help.includes(spec.help), spec.name);
    }
  });
});

describe("parseFlags and flagHelp", () => {
  const specs: FlagSpec[] = [
    { name: "name", kind: "string", default: "d", help: "a name" },
    { name: "on", kind: "bool", help: "a switch" },
    { name: "many", aliases: ["m"], kind: "list", value: "X", help: "repeatable" },
  ];
  it("stops at -- and keeps positional arguments; a lone - is positional", () => {
    const { flags, rest } = parseFlags(["pos", "--on", "-", "--", "--name", "x"], specs);
    assert.equal(flags.get("on"), true);
    assert.deepEqual(rest, ["pos", "-", "--name", "x"]);
  });

  it("help rows show aliases, value names and defaults", () => {
    const help = flagHelp(specs);
    assert.match(help, /--name string\s+a name \(default d\)/);
    assert.match(help, /--on\s+a switch/);
    assert.match(help, /--many, --m X\s+repeatable/);
  });
});
