/** `keyward serve` takes every flag daprd takes; those without meaning are checked for form and named as ignored. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UsageError } from "../../src/cli/flags.js";
import { RUN_FLAGS, splitCommand } from "../../src/cli/run/run-flags.js";
import { parseFlags } from "../../src/cli/flags.js";
import { serveSettings, type ServeSettings } from "../../src/cli/serve.js";
import { keywardToEnd } from "../helpers/keyward-run.js";

/** daprd's full flag list (cmd/daprd/options, its logger and metrics flags), each with a value of the right form. */
const DAPRD_FLAGS: [string, string | undefined][] = [
  ["mode", "standalone"],
  ["dapr-http-port", "3501"],
  ["dapr-listen-addresses", "127.0.0.1"],
  ["dapr-public-port", "3502"],
  ["dapr-public-listen-address", "0.0.0.0"],
  ["dapr-grpc-port", "50002"],
  ["dapr-internal-grpc-port", "50003"],
  ["dapr-internal-grpc-listen-address", "127.0.0.1"],
  ["app-port", "8080"],
  ["app-health-port", "8081"],
  ["profile-port", "7777"],
  ["app-protocol", "grpc"],
  ["components-path", "./components"],
  ["resources-path", "./resources"],
  ["config", "./config.yaml"],
  ["app-id", "every-flag"],
  ["control-plane-address", "dapr-api.dapr-system.svc.cluster.local:443"],
  ["sentry-address", "dapr-sentry.dapr-system.svc.cluster.local:443"],
  ["control-plane-trust-domain", "cluster.local"],
  ["control-plane-namespace", "dapr-system"],
  ["sentry-request-jwt-audiences", "aud1"],
  ["allowed-origins", "*"],
  ["enable-profiling", undefined],
  ["version", "=false"],
  ["build-info", "=false"],
  ["wait", undefined],
  ["app-max-concurrency", "-1"],
  ["enable-mtls", undefined],
  ["app-ssl", "=false"],
  ["dapr-http-max-request-size", "8"],
  ["max-body-size", "4Mi"],
  ["dapr-http-read-buffer-size", "4"],
  ["read-buffer-size", "4Ki"],
  ["unix-domain-socket", ""],
  ["dapr-graceful-shutdown-seconds", "5"],
  ["dapr-block-shutdown-duration", "1m30s"],
  ["enable-api-logging", undefined],
  ["disable-builtin-k8s-secret-store", undefined],
  ["enable-app-health-check", undefined],
  ["app-health-check-path", "/healthz"],
  ["app-health-probe-interval", "5"],
  ["app-health-probe-timeout", "500"],
  ["app-health-threshold", "3"],
  ["app-channel-address", "127.0.0.1"],
  ["placement-host-address", "dapr-placement-server.dapr-system.svc.cluster.local:50005"],
  ["scheduler-host-address", "dapr-scheduler-server-0.dapr-scheduler-server.dapr-system.svc.cluster.local:50006"],
  ["scheduler-job-streams", "3"],
  ["actors-service", "placement:localhost:50005"],
  ["reminders-service", "scheduler:localhost:50006"],
  ["log-level", "info"],
  ["log-as-json", undefined],
  ["metrics-port", "9091"],
  ["metrics-listen-address", "127.0.0.1"],
  ["enable-metrics", "=true"],
  ["kubeconfig", "/dev/null"],
];

/** Booleans take their value after `=` (Go's flag syntax); "=..." in the table means that. */
const argv = DAPRD_FLAGS.flatMap(([name, value]) =>
  value === undefined ? [`--${name}`] : value.startsWith("=") ? [`--${name}${value}`] : [`--${name}`, value],
);

describe("keyward serve: daprd's flags", () => {
  it("accepts every daprd flag in one command line, and names the ignored ones in order", () => {
    const s = serveSettings(argv, {}) as ServeSettings;
    assert.equal(s.appId, "every-flag");
    assert.equal(s.disableBuiltinKubernetesStore, true);
    assert.equal(s.maxBodyBytes, 4 * 1024 * 1024, "--max-body-size wins over --dapr-http-max-request-size");
    assert.deepEqual(s.ignoredFlags, [
      "--dapr-public-port",
      "--dapr-public-listen-address",
      "--dapr-internal-grpc-port",
      "--dapr-internal-grpc-listen-address",
      "--app-port",
      "--app-health-port",
      "--profile-port",
      "--app-protocol",
      "--control-plane-address",
      "--sentry-address",
      "--control-plane-trust-domain",
      "--control-plane-namespace",
      "--sentry-request-jwt-audiences",
      "--allowed-origins",
      "--enable-profiling",
      "--wait",
      "--app-max-concurrency",
      "--enable-mtls",
      "--app-ssl",
      "--dapr-http-read-buffer-size",
      "--read-buffer-size",
      "--dapr-block-shutdown-duration",
      "--enable-app-health-check",
      "--app-health-check-path",
      "--app-health-probe-interval",
      "--app-health-probe-timeout",
      "--app-health-threshold",
      "--app-channel-address",
      "--placement-host-address",
      "--scheduler-host-address",
      "--scheduler-job-streams",
      "--actors-service",
      "--reminders-service",
    ]);
  });

  it("keyward run accepts every daprd flag (but --version and --build-info) and dapr run's one-letter forms", () => {
    const runArgv = argv.filter((a) => !/^--(version|build-info)=/.test(a));
    const [flagArgs, command] = splitCommand(
      [
        ...runArgv,
        "-a",
        "x",
        "-p",
        "1",
        "-H",
        "0",
        "-G",
        "0",
        "-M",
        "0",
        "-P",
        "http",
        "-d",
        "c",
        "-f",
        "d",
        "node",
        "app.js",
        "--port",
        "3",
      ],
      RUN_FLAGS,
    );
    assert.deepEqual(command, ["node", "app.js", "--port", "3"]);
    const { flags } = parseFlags(flagArgs, RUN_FLAGS);
    assert.equal(flags.get("app-id"), "x");
    assert.equal(flags.get("app-port"), "1");
    assert.equal(flags.get("run-file"), "d");
  });

  it("--dapr-http-max-request-size alone sets the body limit in MB", () => {
    const s = serveSettings(["--app-id", "a", "--dapr-http-max-request-size", "8"], {}) as ServeSettings;
    assert.equal(s.maxBodyBytes, 8 * 1024 * 1024);
  });

  const bad: [string[], RegExp][] = [
    [["--app-port", "http"], /invalid value "http" for --app-port: not a port/],
    [["--dapr-public-port", "70000"], /--dapr-public-port: not a port/],
    [["--app-protocol", "smtp"], /--app-protocol: use grpc, grpcs, http, https or h2c/],
    [["--dapr-block-shutdown-duration", "soon"], /--dapr-block-shutdown-duration: not a duration/],
    [["--read-buffer-size", "big"], /--read-buffer-size/],
    [["--app-max-concurrency", "many"], /--app-max-concurrency: not an integer/],
    [["--scheduler-job-streams", "-1"], /--scheduler-job-streams: not a non-negative integer/],
    [["--placement-host-address", "host:99999"], /--placement-host-address: not a host or host:port/],
    [["--enable-mtls=maybe"], /invalid boolean value "maybe" for --enable-mtls/],
    [["--unix-domain-socket", "/tmp/dapr"], /--unix-domain-socket is not supported/],
    [["--plcement-host-address", "x"], /unknown flag --plcement-host-address; did you mean --placement-host-address\?/],
    [["--qqqqqqqqqqqqqq"], /^unknown flag --qqqqqqqqqqqqqq$/],
  ];
  for (const [args, re] of bad)
    it(`refuses ${args.join(" ")}`, () =>
      assert.throws(
        () => serveSettings(["--app-id", "a", ...args], {}),
        (err: unknown) => err instanceof UsageError && re.test(err.message),
      ));

  it("--version prints the version and exits 0; a misspelt flag exits 2 with a suggestion", async () => {
    const v = await keywardToEnd(["serve", "--version"]);
    assert.equal(v.code, 0);
    assert.match(v.output, /^\d+\.\d+\.\d+\n$/);
    const typo = await keywardToEnd(["serve", "--app-id", "a", "--enable-api-loging"]);
    assert.equal(typo.code, 2);
    assert.match(typo.output, /unknown flag --enable-api-loging; did you mean --enable-api-logging\?/);
  });
});
