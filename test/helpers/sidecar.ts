/** Starts the real `bin/keyward serve` on free ports and talks to it over sockets, as users do. */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KEYWARD_BIN } from "./paths.js";

export interface SidecarOptions {
  /** File name → YAML text, written into a fresh resources folder. */
  components?: Record<string, string>;
  /** Configuration YAML, passed with --config. */
  config?: string;
  env?: Record<string, string | undefined>;
  /** Extra flags for `keyward serve`. */
  args?: string[];
  cwd?: string;
  appId?: string;
  /** Replace the default resources folder flag entirely (e.g. several folders). */
  resourcesArgs?: string[];
  /** The `keyward` script to start (default: this checkout's bin/keyward), e.g. an installed package's. */
  bin?: string;
}

export interface Sidecar {
  httpUrl: string;
  httpPort: number;
  grpcPort: number;
  grpcAddress: string;
  metricsPort: number | undefined;
  dir: string;
  process: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number>;
  exited: Promise<number>;
}

const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const p of running) p.kill("SIGKILL");
});

function prepare(opts: SidecarOptions): { dir: string; argv: string[] } {
  const dir = mkdtempSync(join(tmpdir(), "keyward-sidecar-"));
  const resources = join(dir, "resources");
  mkdirSync(resources);
  for (const [name, yaml] of Object.entries(opts.components ?? {})) writeFileSync(join(resources, name), yaml);
  const argv = [
    opts.bin ?? KEYWARD_BIN,
    "serve",
    "--app-id",
    opts.appId ?? "test-app",
    ...(opts.resourcesArgs ?? ["--resources-path", resources]),
  ];
  if (opts.config !== undefined) {
    writeFileSync(join(dir, "config.yaml"), opts.config);
    argv.push("--config", join(dir, "config.yaml"));
  }
  argv.push("--dapr-http-port", "0", "--dapr-grpc-port", "0", "--metrics-port", "0", ...(opts.args ?? []));
  return { dir, argv };
}

function launch(
  opts: SidecarOptions,
  argv: string[],
): { child: ChildProcess; out: () => string; exited: Promise<number> } {
  const env: Record<string, string | undefined> = {
    ...process.env,
    DAPR_API_TOKEN: undefined,
    NAMESPACE: undefined,
    ...opts.env,
  };
  const child = spawn(process.execPath, argv, {
    cwd: opts.cwd,
    env: env as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let buf = "";
  child.stdout!.on("data", (d: Buffer) => (buf += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (buf += d.toString()));
  const exited = new Promise<number>((resolve) =>
    child.on("exit", (code, signal) => {
      running.delete(child);
      resolve(code ?? (signal ? 128 : 1));
    }),
  );
  return { child, out: () => buf, exited };
}

/** Starts a sidecar and resolves once it reports its ports; rejects with its output if it exits first. */
export async function startSidecar(opts: SidecarOptions = {}): Promise<Sidecar> {
  const { dir, argv } = prepare(opts);
  const { child, out, exited } = launch(opts, argv);
  const ports = await new Promise<{ http: number; grpc: number; metrics: number | undefined }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sidecar did not start in 30 s:\n${out()}`)), 30_000);
    const check = () => {
      const m = /http_port=(\d+) grpc_port=(\d+) metrics_port=(\d+|off)/.exec(out());
      if (m) {
        clearTimeout(timer);
        resolve({ http: Number(m[1]), grpc: Number(m[2]), metrics: m[3] === "off" ? undefined : Number(m[3]) });
      }
    };
    child.stdout!.on("data", check);
    void exited.then((code) => {
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      reject(new Error(`sidecar exited with ${code} before it was ready:\n${out()}`));
    });
  });
  return {
    httpUrl: `http://127.0.0.1:${ports.http}`,
    httpPort: ports.http,
    grpcPort: ports.grpc,
    grpcAddress: `127.0.0.1:${ports.grpc}`,
    metricsPort: ports.metrics,
    dir,
    process: child,
    output: out,
    exited,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      const code = await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}

/** Runs `keyward serve` expecting it to stop on its own (start-up errors); returns exit code and output. */
export async function runKeyward(
  opts: SidecarOptions = {},
  rawArgs?: string[],
): Promise<{ code: number; output: string }> {
  const prepared = rawArgs ? undefined : prepare(opts);
  const argv = prepared ? prepared.argv : [KEYWARD_BIN, ...(rawArgs ?? [])];
  const { child, out, exited } = launch(opts, argv);
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const code = await exited;
  clearTimeout(timer);
  if (prepared) rmSync(prepared.dir, { recursive: true, force: true });
  return { code, output: out() };
}

/** A Component manifest in YAML, for tests. */
export function componentYaml(name: string, type: string, metadata: Record<string, string> = {}, extra = ""): string {
  const items = Object.entries(metadata)
    .map(([k, v]) => `  - name: ${k}\n    value: ${JSON.stringify(v)}`)
    .join("\n");
  return `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${name}\nspec:\n  type: ${type}\n  version: v1\n  metadata:${items ? `\n${items}` : " []"}\n${extra}`;
}
