/** @module Child processes of the benchmark: the sidecar, the bare baselines and the load generators. */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const MAIN = fileURLToPath(new URL("../../src/main.js", import.meta.url));

/**
 * Compiled entry points, resolved next to this file so the same code runs from dist/ or a private build folder.
 * From dist/ the sidecar starts as users start it, through bin/keyward (and whatever node flags it sets), which runs
 * the bundled artefact; node flags of a variant go before bin/keyward.
 */
export const PATHS = {
  keywardMain:
    MAIN === join(REPO, "dist", "src", "main.js") && existsSync(join(REPO, "bin", "keyward"))
      ? join(REPO, "bin", "keyward")
      : MAIN,
  bareHttp: fileURLToPath(new URL("../servers/bare-http.js", import.meta.url)),
  bareGrpc: fileURLToPath(new URL("../servers/bare-grpc.js", import.meta.url)),
  bareConnect: fileURLToPath(new URL("../servers/bare-connect.js", import.meta.url)),
  httpLoad: fileURLToPath(new URL("../load/http-load.js", import.meta.url)),
  grpcLoad: fileURLToPath(new URL("../load/grpc-load.js", import.meta.url)),
  awsLoad: fileURLToPath(new URL("../load/aws-load.js", import.meta.url)),
};

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of live) c.kill("SIGKILL");
});

export interface Running {
  pid: number;
  child: ChildProcess;
  /** The regex match of the ready line. */
  match: RegExpExecArray;
  /** Milliseconds from spawn to the ready line. */
  readyMs: number;
  output(): string;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  ready: RegExp;
  nodeArgs?: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
}

/** Spawns `node script ...args` and resolves once stdout matches `ready`. */
export function spawnReady(script: string, args: string[], opts: SpawnOptions): Promise<Running> {
  const t0 = performance.now();
  // bin/keyward runs as an executable so the node flags on its #! line, if any, apply (env execs node: same pid).
  const direct = script.endsWith(join("bin", "keyward")) && !opts.nodeArgs?.length;
  const child = spawn(direct ? script : process.execPath, direct ? args : [...(opts.nodeArgs ?? []), script, ...args], {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  live.add(child);
  let out = "";
  const exited = new Promise<void>((r) =>
    child.once("exit", () => {
      live.delete(child);
      r();
    }),
  );
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(t);
    }
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${script} not ready in ${opts.timeoutMs ?? 30_000} ms:\n${out}`));
    }, opts.timeoutMs ?? 30_000);
    const onData = (d: Buffer) => {
      const before = out.length;
      out += d.toString();
      const m = opts.ready.exec(out.slice(Math.max(0, before - 200)));
      if (m && child.pid !== undefined) {
        clearTimeout(timer);
        resolve({ pid: child.pid, child, match: m, readyMs: performance.now() - t0, output: () => out, stop });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code} before it was ready:\n${out}`));
    });
  });
}

export interface Keyward extends Running {
  httpPort: number;
  grpcPort: number;
  /** Keyward's own "Init Elapsed" figure: from serve() to listening, without Node's boot and module loading. */
  initMs: number;
}

export async function startKeyward(
  resourcesDir: string,
  opts: { nodeArgs?: string[]; extraArgs?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<Keyward> {
  const args = [
    "serve",
    "--app-id",
    "bench",
    "--resources-path",
    resourcesDir,
    "--dapr-http-port",
    "0",
    "--dapr-grpc-port",
    "0",
    "--metrics-port",
    "0",
    ...(opts.extraArgs ?? []),
  ];
  const env = { ...process.env, ...opts.env };
  delete env.DAPR_API_TOKEN;
  const r = await spawnReady(PATHS.keywardMain, args, {
    ready: /Init Elapsed (\d+)ms.*http_port=(\d+) grpc_port=(\d+)/,
    nodeArgs: opts.nodeArgs,
    env,
  });
  return { ...r, initMs: Number(r.match[1]), httpPort: Number(r.match[2]), grpcPort: Number(r.match[3]) };
}

export async function startBare(script: string, spec: unknown): Promise<Running & { port: number }> {
  const r = await spawnReady(script, [JSON.stringify(spec)], { ready: /ready port=(\d+)/ });
  return { ...r, port: Number(r.match[1]) };
}

/** Runs a load generator to completion and parses its one JSON line. */
export function runJson<T>(script: string, spec: unknown, timeoutMs = 120_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, JSON.stringify(spec)], { stdio: ["ignore", "pipe", "pipe"] });
    live.add(child);
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("exit", (code) => {
      live.delete(child);
      clearTimeout(timer);
      const line = out.trim().split("\n").pop() ?? "";
      if (code !== 0 || !line) return reject(new Error(`${script} failed (${code}): ${err.trim() || out.trim()}`));
      try {
        resolve(JSON.parse(line) as T);
      } catch {
        reject(new Error(`${script} printed no JSON: ${line.slice(0, 200)}`));
      }
    });
  });
}

/** Resident set size in MB (10^6 bytes), from /proc/<pid>/status VmRSS (kB = KiB). */
export function rssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? (Number(m[1]) * 1024) / 1e6 : NaN;
}

/** User+system CPU time of a process in ms (clock ticks are 10 ms on Linux). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
