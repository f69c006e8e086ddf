/**
 * @module One app under `keyward run`: its sidecar, its injected secrets (--env, --template), the app
 * process, signals, re-rendering on change, and the exit code. Secret values live only in this
 * process's memory, the app's environment and the template files: never in Keyward's own environment,
 * argv, logs or error messages.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { ChangeSource } from "./change-source.js";
import { pipeLines } from "./prefixed-output.js";
import { SecretBatch, SecretReadError, SidecarSecretSource, type EnvRef, type SecretSource } from "./secret-source.js";
import { SidecarStartError, signalNumber, startSidecar, type SidecarProcess } from "./sidecar-process.js";
import { digest, SecretTemplate, writeAtomically, type TemplateSpec } from "./templates.js";

export type OnChange = { kind: "restart" } | { kind: "signal"; signal: NodeJS.Signals } | { kind: "none" };

export interface AppPlan {
  appId: string;
  /** Where the sidecar and the app run; relative paths in their flags start here. */
  cwd: string;
  /** Empty: a sidecar alone, until a signal. */
  command: string[];
  serveArgs: string[];
  /** Plain variables for the app (a run file's `env`). */
  env: Record<string, string>;
  /** `--app-port`, passed on as APP_PORT. */
  appPort: string;
  envRefs: EnvRef[];
  templates: TemplateSpec[];
  onChange?: OnChange;
  changes?: ChangeSource;
  graceMs: number;
  prefixes: { app: string; sidecar: string };
}

/** Says something about the run on stderr, as `keyward run` (never a secret value). */
export function say(appId: string, text: string): void {
  process.stderr.write(`keyward run: ${appId ? `[${appId}] ` : ""}${text}\n`);
}

export class AppRunner {
  private sidecar?: SidecarProcess;
  private app?: ChildProcess;
  private appExited?: Promise<number>;
  private stopping = false;
  /** The signal that asked `keyward run` to stop, if one did. */
  private stopSignal?: NodeJS.Signals;
  private restarting = false;
  private stopWatching?: () => void;
  private templates: SecretTemplate[] = [];
  private lastDigest = "";
  private baseEnv: NodeJS.ProcessEnv = {};

  constructor(private readonly plan: AppPlan) {}

  /** Runs to the end; resolves with the exit code `keyward run` should return for this app. */
  async run(): Promise<number> {
    const { plan } = this;
    try {
      this.templates = await Promise.all(plan.templates.map((t) => SecretTemplate.load(t)));
      this.sidecar = await startSidecar(plan.serveArgs, {
        cwd: plan.cwd,
        env: process.env,
        prefix: plan.prefixes.sidecar,
      });
    } catch (err) {
      if (err instanceof SecretReadError || err instanceof SidecarStartError) {
        say(plan.appId, err.message);
        return 1;
      }
      throw err;
    }
    const { ports } = this.sidecar;
    const token = process.env.DAPR_API_TOKEN || undefined;
    const baseUrl = `http://127.0.0.1:${ports.http}`;
    const sidecarSource = new SidecarSecretSource(baseUrl, token);
    // The secrets the values came from (templates name theirs as they render): what --on-change follows.
    const read = new Map<string, { store: string; name: string }>();
    const source: SecretSource = {
      get: (store, name) => {
        read.set(`${store}\u0000${name}`, { store, name });
        return sidecarSource.get(store, name);
      },
    };
    this.baseEnv = {
      ...process.env,
      ...plan.env,
      APP_ID: plan.appId,
      DAPR_HTTP_PORT: String(ports.http),
      DAPR_GRPC_PORT: String(ports.grpc),
      DAPR_HTTP_ENDPOINT: `http://127.0.0.1:${ports.http}`,
      DAPR_GRPC_ENDPOINT: `http://127.0.0.1:${ports.grpc}`,
      ...(ports.metrics !== undefined ? { DAPR_METRICS_PORT: String(ports.metrics) } : {}),
      ...(plan.appPort !== "" ? { APP_PORT: plan.appPort } : {}),
      ...(token ? { DAPR_API_TOKEN: token } : {}),
    };
    let appEnv: NodeJS.ProcessEnv;
    try {
      ({ env: appEnv } = await this.inject(source, true));
    } catch (err) {
      if (!(err instanceof SecretReadError)) throw err;
      say(plan.appId, `${err.message}; the app was not started`);
      await this.sidecar.stop(plan.graceMs);
      return 1;
    }
    if (this.stopSignal) {
      // Asked to stop while the sidecar was starting: the app is never started.
      await this.sidecar.stop(plan.graceMs);
      return 128 + signalNumber(this.stopSignal);
    }
    if (plan.command.length === 0) {
      say(plan.appId, "no app command: the sidecar runs until keyward run gets SIGINT or SIGTERM");
      return this.untilSidecarStops(this.sidecar);
    }
    if (plan.onChange && plan.changes)
      this.stopWatching = plan.changes.watch(() => this.recheck(source), {
        baseUrl,
        token,
        secrets: () => [...read.values()],
      });
    let code = await this.superviseApp(appEnv);
    this.stopWatching?.();
    const sidecarCode = await this.sidecar.stop(plan.graceMs);
    if (code === -1) {
      say(plan.appId, `the sidecar stopped unexpectedly (exit code ${sidecarCode}); the app was stopped`);
      code = 1;
    }
    return code;
  }

  /** SIGINT/SIGTERM to `keyward run`: passed to the app, or stops a lone sidecar. */
  signal(sig: NodeJS.Signals): void {
    this.stopping = true;
    this.stopSignal ??= sig;
    if (this.app && this.app.exitCode === null && this.app.signalCode === null) this.app.kill(sig);
    else if (this.plan.command.length === 0) void this.sidecar?.stop(this.plan.graceMs);
  }

  /** Last resort when `keyward run` itself exits abnormally: the sidecar must not outlive it. */
  killNow(): void {
    if (this.sidecar) void this.sidecar.stop(0);
    if (this.app && this.app.exitCode === null) this.app.kill("SIGKILL");
  }

  private async untilSidecarStops(sidecar: SidecarProcess): Promise<number> {
    const code = await sidecar.exited;
    return this.stopping ? 0 : code;
  }

  /** Starts the app (again after a restart) until it exits for good; -1 when the sidecar died first. */
  private async superviseApp(env: NodeJS.ProcessEnv): Promise<number> {
    const sidecarDied = this.sidecar!.exited.then(() => "sidecar" as const);
    for (;;) {
      const exited = this.startApp(env);
      const first = await Promise.race([exited, sidecarDied]);
      if (first === "sidecar" && !this.stopping) {
        this.stopping = true;
        this.app?.kill("SIGTERM");
        const timer = setTimeout(() => this.app?.kill("SIGKILL"), this.plan.graceMs);
        await exited;
        clearTimeout(timer);
        return -1;
      }
      const code = await exited;
      if (this.restarting && !this.stopping) {
        this.restarting = false;
        env = this.nextEnv ?? env;
        say(this.plan.appId, "a secret changed: app restarted");
        continue;
      }
      return code;
    }
  }

  private nextEnv?: NodeJS.ProcessEnv;

  private startApp(env: NodeJS.ProcessEnv): Promise<number> {
    const [cmd, ...args] = this.plan.command;
    const child = spawn(cmd!, args, { cwd: this.plan.cwd, env, stdio: ["inherit", "pipe", "pipe"] });
    this.app = child;
    const outputDone = Promise.all([
      pipeLines(child.stdout!, process.stdout, this.plan.prefixes.app),
      pipeLines(child.stderr!, process.stderr, this.plan.prefixes.app),
    ]);
    this.appExited = new Promise<number>((resolve) => {
      child.on("error", (err: NodeJS.ErrnoException) => {
        say(
          this.plan.appId,
          `cannot start ${JSON.stringify(cmd)}: ${err.code === "ENOENT" ? "command not found" : err.message}`,
        );
        resolve(err.code === "ENOENT" ? 127 : 126);
      });
      child.on("close", (code, signal) => resolve(code ?? 128 + signalNumber(signal)));
    });
    return this.appExited.then(async (code) => {
      await outputDone;
      return code;
    });
  }

  /**
   * Reads every referenced secret once, writes the templates whose text changed and builds the app's
   * environment. Returns whether anything differs from the last time.
   */
  private async inject(source: SecretSource, first: boolean): Promise<{ env: NodeJS.ProcessEnv; changed: boolean }> {
    const batch = new SecretBatch(source);
    const env: NodeJS.ProcessEnv = { ...this.baseEnv };
    for (const ref of this.plan.envRefs) {
      const value = await batch.value(ref).catch((err: unknown) => {
        throw err instanceof SecretReadError ? new SecretReadError(`--env ${ref.variable}: ${err.message}`) : err;
      });
      // An environment cannot hold a NUL; Node's own error for it would quote the value.
      if (value.includes("\0"))
        throw new SecretReadError(
          `--env ${ref.variable}: the value holds a NUL byte, which no environment variable can`,
        );
      env[ref.variable] = value;
    }
    const texts = await Promise.all(this.templates.map((t) => t.renderWith(batch)));
    const all = digest(JSON.stringify([this.plan.envRefs.map((r) => env[r.variable]), texts]));
    const changed = !first && all !== this.lastDigest;
    if (first || changed) {
      const old = this.templateDigests;
      this.templateDigests = texts.map(digest);
      for (const [i, t] of this.templates.entries())
        if (first || old[i] !== this.templateDigests[i]) await writeAtomically(t.spec.dest, texts[i]!);
    }
    this.lastDigest = all;
    return { env, changed };
  }

  private templateDigests: string[] = [];

  /** One look at the secrets for --on-change; acts only when a value really changed. */
  private async recheck(source: SecretSource): Promise<void> {
    if (this.stopping) return;
    let result;
    try {
      result = await this.inject(source, false);
    } catch (err) {
      if (!(err instanceof SecretReadError)) throw err;
      say(this.plan.appId, `re-reading secrets failed: ${err.message}; the app and its files stay as they are`);
      return;
    }
    if (!result.changed || this.stopping) return;
    const mode = this.plan.onChange!;
    if (mode.kind === "none") say(this.plan.appId, "a secret changed: templates rendered again");
    else if (mode.kind === "signal") {
      say(this.plan.appId, `a secret changed: templates rendered again, ${mode.signal} sent to the app`);
      this.app?.kill(mode.signal);
    } else {
      this.nextEnv = result.env;
      this.restarting = true;
      const app = this.app;
      app?.kill("SIGTERM");
      const timer = setTimeout(() => app?.kill("SIGKILL"), this.plan.graceMs);
      void this.appExited?.then(() => clearTimeout(timer));
    }
  }
}
