/**
 * @module The sidecar `keyward run` starts: `keyward serve` as a child process in its own process group
 * (so a terminal's Ctrl+C reaches the app first and the sidecar outlives the app's shutdown), ready once
 * it announces its ports.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { constants } from "node:os";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../../package-root.js";
import { pipeLines } from "./prefixed-output.js";

/** The same entry the user started (bin/keyward runs the bundle when it is built). */
const MAIN = join(PACKAGE_ROOT, "bin", "keyward");

export interface SidecarPorts {
  http: number;
  grpc: number;
  metrics: number | undefined;
}

export interface SidecarProcess {
  ports: SidecarPorts;
  /** Resolves with the exit code once the sidecar has stopped, for whatever reason. */
  exited: Promise<number>;
  /** SIGTERM (graceful), then SIGKILL after `graceMs`. */
  stop(graceMs: number): Promise<number>;
}

export class SidecarStartError extends Error {}

/** The ready line of `keyward serve`, as text (`http_port=1`) or JSON (`"http_port":1`). */
const READY = /"?http_port"?[=:](\d+)\b.*"?grpc_port"?[=:](\d+)\b.*"?metrics_port"?[=:]"?(\d+|off)/;

export function startSidecar(
  serveArgs: readonly string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; prefix: string },
): Promise<SidecarProcess> {
  const child: ChildProcess = spawn(process.execPath, [MAIN, "serve", ...serveArgs], {
    cwd: opts.cwd,
    env: opts.env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number>((resolve) =>
    child.on("exit", (code, signal) => resolve(code ?? 128 + signalNumber(signal))),
  );
  // A failed spawn also emits 'exit'; without a listener its 'error' would be thrown.
  child.on("error", () => undefined);
  const stop = async (graceMs: number) => {
    signalGroup(child, "SIGTERM");
    const timer = setTimeout(() => signalGroup(child, "SIGKILL"), graceMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  return new Promise((resolve, reject) => {
    let ready = false;
    const onLine = (line: string) => {
      if (ready) return;
      const m = READY.exec(line);
      if (!m) return;
      ready = true;
      const ports = { http: Number(m[1]), grpc: Number(m[2]), metrics: m[3] === "off" ? undefined : Number(m[3]) };
      resolve({ ports, exited, stop });
    };
    void pipeLines(child.stdout!, process.stdout, opts.prefix, onLine);
    void pipeLines(child.stderr!, process.stderr, opts.prefix);
    void exited.then((code) => {
      if (!ready) reject(new SidecarStartError(`the sidecar stopped before it was ready (exit code ${code})`));
    });
  });
}

/** Signals the child's whole process group (it was started detached), or the child alone if that fails. */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

export function signalNumber(signal: NodeJS.Signals | null): number {
  return signal ? (constants.signals[signal] ?? 0) : 0;
}
