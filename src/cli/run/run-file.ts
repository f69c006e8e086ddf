/**
 * @module `dapr run -f` multi-app run files (dapr.yaml): `version`, `common`, `apps`. Paths in `common`
 * are relative to the file's folder, an app's paths to its `appDirPath`, and precedence follows the
 * Dapr CLI (app > appDirPath/.dapr > common). Fields without meaning for Keyward are accepted and
 * named once.
 */
import { existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { parse } from "yaml";
import { UsageError } from "../flags.js";

/** A run file is a few dozen lines; anything this large is not one. */
const MAX_RUN_FILE_BYTES = 1024 * 1024;

/** Fields Keyward uses, and how each becomes a `keyward serve` flag (undefined: used another way). */
const USED: Readonly<Record<string, string | undefined>> = {
  appID: undefined,
  appDirPath: undefined,
  command: undefined,
  env: undefined,
  appPort: undefined,
  resourcesPath: undefined,
  resourcesPaths: undefined,
  configFilePath: undefined,
  daprHTTPPort: "dapr-http-port",
  daprGRPCPort: "dapr-grpc-port",
  metricsPort: "metrics-port",
  logLevel: "log-level",
  enableApiLogging: "enable-api-logging",
  apiListenAddresses: "dapr-listen-addresses",
  maxBodySize: "max-body-size",
};

/** Fields of the Dapr CLI's schema that mean nothing to a secrets sidecar. */
const IGNORED = new Set([
  "appProtocol",
  "appChannelAddress",
  "appSSL",
  "appMaxConcurrency",
  "enableAppHealthCheck",
  "appHealthCheckPath",
  "appHealthProbeInterval",
  "appHealthProbeTimeout",
  "appHealthThreshold",
  "enableProfiling",
  "profilePort",
  "placementHostAddress",
  "schedulerHostAddress",
  "readBufferSize",
  "daprInternalGRPCPort",
  "unixDomainSocket",
  "runtimePath",
  "daprdLogDestination",
  "appLogDestination",
  "containerImage",
  "containerImagePullPolicy",
  "createService",
  "componentsPath",
]);

export interface RunFileApp {
  appId: string;
  appDir: string;
  command: string[];
  env: Record<string, string>;
  appPort: string;
  /** Flags for the app's `keyward serve`, ports included only when the file sets them. */
  serveArgs: string[];
}

export interface RunFile {
  path: string;
  apps: RunFileApp[];
  /** Field names accepted without effect, each once. */
  ignored: string[];
  unknown: string[];
}

type Section = Record<string, unknown>;

export async function loadRunFile(fileOrDir: string, cwd: string): Promise<RunFile> {
  let path = resolve(cwd, fileOrDir);
  const bad = (why: string) => new UsageError(`run file ${path}: ${why}`);
  if (existsSync(path) && statSync(path).isDirectory()) path = join(path, "dapr.yaml");
  if (!existsSync(path)) throw bad("no such file");
  if (statSync(path).size > MAX_RUN_FILE_BYTES) throw bad(`larger than ${MAX_RUN_FILE_BYTES} bytes`);
  let doc: unknown;
  try {
    doc = parse(await readFile(path, "utf8"), { maxAliasCount: 100 });
  } catch (err) {
    throw bad(`YAML error: ${(err as Error).message.split("\n")[0]}`);
  }
  if (!isSection(doc)) throw bad("not a mapping with version, common and apps");
  if (doc.version === undefined || doc.version === 0) throw bad("required field 'version' not found");
  if (doc.version !== 1) throw bad(`version ${JSON.stringify(doc.version)} is not supported (use 1)`);
  const common = doc.common ?? {};
  if (!isSection(common)) throw bad("common must be a mapping");
  if (!Array.isArray(doc.apps) || doc.apps.length === 0) throw bad("apps must list at least one app");
  const base = dirname(path);
  const ignored = new Set<string>();
  const unknown = new Set<string>();
  for (const key of Object.keys(doc)) if (!["version", "common", "apps", "name"].includes(key)) unknown.add(key);
  const seen = new Set<string>();
  const apps = doc.apps.map((raw: unknown, i: number) => {
    if (!isSection(raw)) throw bad(`apps[${i}] must be a mapping`);
    for (const section of [common, raw])
      for (const key of Object.keys(section)) {
        if (IGNORED.has(key)) ignored.add(key);
        else if (!(key in USED)) unknown.add(key);
      }
    const app = appOf(raw, common, base, (why) => bad(`apps[${i}]: ${why}`));
    if (seen.has(app.appId)) throw bad(`two apps have appID ${app.appId}`);
    seen.add(app.appId);
    return app;
  });
  return { path, apps, ignored: [...ignored], unknown: [...unknown] };
}

function appOf(raw: Section, common: Section, base: string, bad: (why: string) => UsageError): RunFileApp {
  const text = (section: Section, key: string): string => {
    const v = section[key];
    if (v === undefined || v === null) return "";
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") {
      const s = String(v);
      if (s.includes("\0")) throw bad(`${key} contains a NUL byte`);
      return s;
    }
    throw bad(`${key} must be a single value`);
  };
  // Ports belong to one app; the rest may come from `common`.
  const pick = (key: string) => text(raw, key) || (/Port$/.test(key) ? "" : text(common, key));
  const dirField = text(raw, "appDirPath");
  if (dirField === "") throw bad("required field 'appDirPath' not found");
  const appDir = resolve(base, dirField);
  if (!existsSync(appDir) || !statSync(appDir).isDirectory()) throw bad(`appDirPath ${appDir} is not a folder`);
  const appId = text(raw, "appID") || basename(appDir);

  let command: string[] = [];
  if (raw.command !== undefined && raw.command !== null) {
    if (!Array.isArray(raw.command) || raw.command.some((c) => typeof c !== "string" || c.includes("\0")))
      throw bad('command must be a list of words, such as ["npm", "start"]');
    command = raw.command as string[];
    if (command.length > 0 && command[0]!.trim() === "") throw bad("command is empty");
  }

  const env: Record<string, string> = {};
  for (const section of [common, raw]) {
    const e = section.env;
    if (e === undefined || e === null) continue;
    if (!isSection(e)) throw bad("env must be a mapping of NAME: value");
    for (const k of Object.keys(e)) env[k] = text(e, k);
  }

  // Precedence as in the Dapr CLI: the app's own paths, then appDirPath/.dapr, then common's.
  const paths = (section: Section, from: string): string[] => {
    const list = section.resourcesPaths ?? [];
    if (!Array.isArray(list) || list.some((p) => typeof p !== "string")) throw bad("resourcesPaths must be a list");
    const all = [...(list as string[]), ...(text(section, "resourcesPath") ? [text(section, "resourcesPath")] : [])];
    return all.map((p) => resolve(from, p));
  };
  let resources = paths(raw, appDir);
  const local = join(appDir, ".dapr", "resources");
  if (resources.length === 0) resources = existsSync(local) ? [local] : paths(common, base);
  let config = text(raw, "configFilePath") ? resolve(appDir, text(raw, "configFilePath")) : "";
  const localConfig = join(appDir, ".dapr", "config.yaml");
  if (config === "")
    config = existsSync(localConfig)
      ? localConfig
      : text(common, "configFilePath")
        ? resolve(base, text(common, "configFilePath"))
        : "";
  for (const p of [...resources, ...(config ? [config] : [])]) if (!existsSync(p)) throw bad(`${p} does not exist`);

  const serveArgs = [`--app-id=${appId}`, ...resources.map((p) => `--resources-path=${p}`)];
  if (config) serveArgs.push(`--config=${config}`);
  for (const [field, flag] of Object.entries(USED)) {
    if (flag === undefined) continue;
    const v = pick(field);
    // The Dapr CLI writes -1 for "pick one"; so does a port left out.
    if (v !== "" && v !== "-1") serveArgs.push(`--${flag}=${v}`);
  }
  const appPort = pick("appPort");
  return { appId, appDir, command, env, appPort: appPort === "-1" ? "" : appPort, serveArgs };
}

function isSection(v: unknown): v is Section {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}
