/** @module `keyward run`: one app from flags, or every app of a run file, each with its own sidecar. */
import { constants } from "node:os";
import { basename } from "node:path";
import { flagHelp, list, parseFlags, str, UsageError, type ParsedFlags } from "../flags.js";
import { serveSettings } from "../serve.js";
import { AppRunner, say, type AppPlan, type OnChange } from "./app-runner.js";
import { NotifiedChangeSource, parseDuration } from "./change-source.js";
import { loadRunFile } from "./run-file.js";
import { RUN_FLAGS, RUN_ONLY_FLAGS, RUN_USAGE, SIDECAR_FLAGS, splitCommand } from "./run-flags.js";
import { parseEnvRef } from "./secret-source.js";
import { parseTemplateSpec } from "./templates.js";

export function runHelp(): string {
  return RUN_USAGE.replace("%FLAGS%", flagHelp(RUN_FLAGS));
}

export async function run(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [flagArgs, command] = splitCommand(argv, RUN_FLAGS);
  const { flags } = parseFlags(flagArgs, RUN_FLAGS);
  if (flags.get("help") === true) {
    process.stdout.write(runHelp());
    return 0;
  }
  if (flags.get("kubernetes") === true)
    throw new UsageError("--kubernetes is not supported: keyward run runs the apps on this machine");
  const cwd = process.cwd();
  const plans = str(flags, RUN_FLAGS, "run-file")
    ? await plansFromRunFile(flags, command, cwd)
    : [planFromFlags(flags, command, cwd, env)];
  for (const p of plans) checkServeArgs(p.serveArgs, env);

  const runners = plans.map((p) => new AppRunner(p));
  const onSignal = (sig: NodeJS.Signals) => runners.forEach((r) => r.signal(sig));
  const onExit = () => runners.forEach((r) => r.killNow());
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("exit", onExit);
  try {
    const codes = await Promise.all(runners.map((r) => r.run()));
    return codes.find((c) => c !== 0) ?? 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("exit", onExit);
  }
}

function planFromFlags(flags: ParsedFlags, command: string[], cwd: string, env: NodeJS.ProcessEnv): AppPlan {
  const appId = str(flags, RUN_FLAGS, "app-id") || env.APP_ID || basename(cwd).replace(/[^A-Za-z0-9-]/g, "-") || "app";
  const envRefs = list(flags, "env").map(parseEnvRef);
  const seen = new Set<string>();
  for (const r of envRefs) {
    if (seen.has(r.variable)) throw new UsageError(`--env ${r.variable} is given twice`);
    seen.add(r.variable);
  }
  const templates = list(flags, "template").map((t) => parseTemplateSpec(t, cwd));
  const onChangeText = str(flags, RUN_FLAGS, "on-change");
  const onChange = onChangeText ? parseOnChange(onChangeText) : undefined;
  if (onChange && envRefs.length === 0 && templates.length === 0)
    throw new UsageError("--on-change needs --env or --template: there is nothing to watch");
  if (onChange?.kind === "none" && templates.length === 0)
    throw new UsageError("--on-change none re-renders templates only: give --template, or use restart");
  const intervalText = str(flags, RUN_FLAGS, "poll-interval");
  const interval = parseDuration(intervalText);
  if (interval === undefined || interval < 10)
    throw new UsageError(
      `invalid value ${JSON.stringify(intervalText)} for --poll-interval: use a duration such as 30s (10ms at least)`,
    );
  return {
    ...basePlan(flags, appId, cwd, command),
    serveArgs: [`--app-id=${appId}`, ...sidecarArgs(flags)],
    appPort: str(flags, RUN_FLAGS, "app-port"),
    envRefs,
    templates,
    ...(onChange ? { onChange, changes: new NotifiedChangeSource(interval) } : {}),
  };
}

async function plansFromRunFile(flags: ParsedFlags, command: string[], cwd: string): Promise<AppPlan[]> {
  if (command.length > 0) throw new UsageError("-f runs the commands of the run file: give no command after it");
  for (const f of RUN_ONLY_FLAGS)
    if (f.name !== "run-file" && f.name !== "poll-interval" && flags.has(f.name))
      throw new UsageError(`--${f.name} applies to one app: it cannot be used with -f`);
  const file = await loadRunFile(str(flags, RUN_FLAGS, "run-file"), cwd);
  if (file.ignored.length > 0)
    say("", `run file fields accepted and ignored (no meaning for Keyward): ${file.ignored.join(", ")}`);
  if (file.unknown.length > 0) say("", `run file fields not known to dapr run, ignored: ${file.unknown.join(", ")}`);
  // Flags on the command line apply to every app, after the file's own settings.
  const shared = sidecarArgs(flags).filter((a) => !/^--(app-id|dapr-http-port|dapr-grpc-port|metrics-port)=/.test(a));
  return file.apps.map((a) => ({
    ...basePlan(flags, a.appId, a.appDir, a.command),
    serveArgs: [...withFreePorts(a.serveArgs), ...shared],
    env: a.env,
    appPort: a.appPort,
    prefixes: { app: `== APP - ${a.appId} == `, sidecar: `== KEYWARD - ${a.appId} == ` },
  }));
}

function basePlan(flags: ParsedFlags, appId: string, cwd: string, command: string[]): AppPlan {
  const grace = Number(str(flags, RUN_FLAGS, "dapr-graceful-shutdown-seconds") || "5");
  return {
    appId,
    cwd,
    command,
    serveArgs: [],
    env: {},
    appPort: "",
    envRefs: [],
    templates: [],
    // The sidecar's own grace period, and a little more for it to close its stores.
    graceMs: (Math.max(0, grace) + 5) * 1000,
    prefixes: { app: "== APP == ", sidecar: "== KEYWARD == " },
  };
}

/** The sidecar's flags as given, in `--name=value` form; ports not given are picked free. */
function sidecarArgs(flags: ParsedFlags): string[] {
  const names = new Set(SIDECAR_FLAGS.map((s) => s.name));
  const out: string[] = [];
  for (const [name, value] of flags) {
    if (!names.has(name) || name === "app-id") continue;
    for (const v of Array.isArray(value) ? value : [value]) out.push(`--${name}=${String(v)}`);
  }
  return withFreePorts(out);
}

function withFreePorts(args: string[]): string[] {
  const out = [...args];
  for (const flag of ["dapr-http-port", "dapr-grpc-port", "metrics-port"])
    if (!out.some((a) => a.startsWith(`--${flag}=`))) out.push(`--${flag}=0`);
  return out;
}

/** Flag errors stop the run before anything starts, exactly as `keyward serve` would report them. */
function checkServeArgs(args: string[], env: NodeJS.ProcessEnv): void {
  const s = serveSettings(args, env);
  if (s === "help" || s === "version") throw new UsageError("--help and --version are not sidecar flags");
}

function parseOnChange(text: string): OnChange {
  if (text === "restart" || text === "none") return { kind: text };
  const m = /^signal:(?:SIG)?([A-Z0-9]+)$/i.exec(text);
  const name = m ? `SIG${m[1]!.toUpperCase()}` : "";
  if (m && name in constants.signals && name !== "SIGKILL" && name !== "SIGSTOP")
    return { kind: "signal", signal: name as NodeJS.Signals };
  throw new UsageError(
    `invalid value ${JSON.stringify(text)} for --on-change: use restart, none or signal:NAME (e.g. signal:SIGHUP)`,
  );
}
