/** Runs the real `bin/keyward run` (or `get`) as users do, with its app and sidecar as real processes. */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { KEYWARD_BIN, REPO_ROOT } from "./paths.js";

export interface RunHandle {
  child: ChildProcess;
  /** Both streams as they arrived: a long line on one can arrive in pieces with the other's between them. */
  output(): string;
  /** Each stream alone, whole lines intact. */
  stdout(): string;
  stderr(): string;
  /** Exit code, or 128+n when a signal ended `keyward run` itself. */
  exited: Promise<number>;
  /** Resolves once the output matches `re`; rejects with the output after `ms`. */
  waitFor(re: RegExp, ms?: number): Promise<RegExpExecArray>;
}

const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const p of running) p.kill("SIGKILL");
});

export function startKeyward(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): RunHandle {
  const child = spawn(process.execPath, [KEYWARD_BIN, ...args], {
    cwd: opts.cwd,
    env: {
      ...process.env,
      DAPR_API_TOKEN: "",
      NAMESPACE: "",
      APP_ID: "",
      NO_UPDATE_NOTIFIER: "1",
      npm_config_update_notifier: "false",
      ...opts.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let buf = "";
  const streams = { stdout: "", stderr: "" };
  const waiters = new Set<() => void>();
  const take = (stream: keyof typeof streams) => (d: Buffer) => {
    buf += d.toString();
    streams[stream] += d.toString();
    for (const w of waiters) w();
  };
  child.stdout!.on("data", take("stdout"));
  child.stderr!.on("data", take("stderr"));
  const exited = new Promise<number>((resolve) =>
    child.on("close", (code, signal) => {
      running.delete(child);
      resolve(code ?? (signal ? 128 : 1));
    }),
  );
  const kill = setTimeout(() => child.kill("SIGKILL"), 90_000);
  void exited.then(() => clearTimeout(kill));
  return {
    child,
    output: () => buf,
    stdout: () => streams.stdout,
    stderr: () => streams.stderr,
    exited,
    waitFor(re, ms = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = re.exec(buf);
          if (!m) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(m);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${re} within ${ms} ms:\n${buf}`));
        }, ms);
        waiters.add(check);
        void exited.then(() => setTimeout(check, 0));
        check();
      });
    },
  };
}

/** Runs `keyward ARGS` to its end: exit code and all output. */
export async function keywardToEnd(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; output: string }> {
  const h = startKeyward(args, opts);
  const code = await h.exited;
  return { code, output: h.output() };
}

/** A fresh folder removed after the file's tests; it can resolve the repository's packages (@dapr/dapr). */
export function workFolder(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `keyward-${prefix}-`));
  symlinkSync(join(REPO_ROOT, "node_modules"), join(dir, "node_modules"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes files (name → text) under `dir`; returns `dir`. */
export function writeFiles(dir: string, files: Record<string, string>): string {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}
