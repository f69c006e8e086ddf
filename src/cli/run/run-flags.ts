/**
 * @module The flags of `keyward run`: `dapr run`'s names (with its one-letter forms), every daprd flag
 * `keyward serve` takes, and Keyward's own --env, --template, --on-change and --poll-interval.
 */
import type { FlagSpec } from "../flags.js";
import { SERVE_FLAGS } from "../serve-flags.js";

/** `dapr run`'s one-letter forms. */
const SHORT: Readonly<Record<string, string>> = {
  "app-id": "a",
  "app-port": "p",
  config: "c",
  "dapr-http-port": "H",
  "dapr-grpc-port": "G",
  "dapr-internal-grpc-port": "I",
  "app-protocol": "P",
  "components-path": "d",
  "metrics-port": "M",
  "unix-domain-socket": "u",
};

/** Flags of `serve` that `run` passes on to the sidecar it starts. */
export const SIDECAR_FLAGS: readonly FlagSpec[] = SERVE_FLAGS.filter(
  (s) => !["help", "version", "build-info"].includes(s.name),
).map((s) => {
  const short = SHORT[s.name] ?? SHORT[s.aliases?.[0] ?? ""];
  const aliases = [...(s.aliases ?? []), ...(short ? [short] : [])];
  // `dapr run` picks free ports for the ones not given; the sidecar's defaults would clash between apps.
  const free = ["dapr-http-port", "dapr-grpc-port", "metrics-port"].includes(s.name);
  return { ...s, aliases, ...(free ? { default: "", help: `${s.help} (default: a free port)` } : {}) };
});

export const RUN_ONLY_FLAGS: readonly FlagSpec[] = [
  {
    name: "run-file",
    aliases: ["f"],
    kind: "string",
    value: "FILE|DIR",
    help: "a `dapr run` multi-app run file (dapr.yaml, or a folder holding one): one sidecar per app",
  },
  {
    name: "env",
    kind: "list",
    value: "NAME=STORE/SECRET[#KEY]",
    help: "put a secret in the app's environment only; repeatable",
  },
  {
    name: "template",
    kind: "list",
    value: "SRC:DEST",
    help: "render template SRC to file DEST (mode 0600) before the app starts; repeatable",
  },
  {
    name: "on-change",
    kind: "string",
    value: "MODE",
    help: "when a secret used by --env/--template changes: restart, signal:NAME or none (re-render only)",
  },
  {
    name: "poll-interval",
    kind: "string",
    default: "30s",
    value: "DURATION",
    help: "how often --on-change re-reads secrets whose store cannot notify changes (local.env)",
  },
  { name: "kubernetes", aliases: ["k"], kind: "bool", help: "not supported: keyward run runs apps on this machine" },
  { name: "help", aliases: ["h"], kind: "bool", help: "show this help" },
];

export const RUN_FLAGS: readonly FlagSpec[] = [...SIDECAR_FLAGS, ...RUN_ONLY_FLAGS];

export const RUN_USAGE = `Usage: keyward run [flags] -- CMD [ARGS...]
       keyward run -f FILE|DIR

Starts a Keyward sidecar, waits until it is ready, then runs CMD with APP_ID, DAPR_HTTP_PORT,
DAPR_GRPC_PORT, DAPR_HTTP_ENDPOINT, DAPR_GRPC_ENDPOINT (and DAPR_API_TOKEN when set) in its
environment. SIGINT and SIGTERM go to the app; when it exits the sidecar stops and keyward run exits
with the app's exit code (128+signal when a signal killed it).

Flags:
%FLAGS%

Examples:
  keyward run --app-id order-processor --resources-path ./components -- node app.js
  keyward run --resources-path ./components --env DB_PASSWORD=vault/db#password -- ./migrate.sh
  keyward run --resources-path ./components --template app.conf.hbs:/run/app.conf --on-change signal:SIGHUP -- ./server
  keyward run -f .
`;

/**
 * Splits `[flags] CMD ARGS...` at `--` or at the first word that is not a flag or a flag's value, so the
 * app's own flags (`node app.js --port 1`) are never read as Keyward's.
 */
export function splitCommand(argv: readonly string[], specs: readonly FlagSpec[]): [string[], string[]] {
  const takesValue = new Set<string>();
  for (const s of specs) if (s.kind !== "bool") for (const n of [s.name, ...(s.aliases ?? [])]) takesValue.add(n);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") return [argv.slice(0, i), argv.slice(i + 1)];
    if (!arg.startsWith("-") || arg === "-") return [argv.slice(0, i), argv.slice(i)];
    if (!arg.includes("=") && takesValue.has(arg.replace(/^--?/, ""))) i++;
  }
  return [[...argv], []];
}
