/** Records every module URL a started sidecar resolves, through a module-resolution hook given in NODE_OPTIONS. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { pathToFileURL } from "node:url";
import { componentYaml, startSidecar, type Sidecar } from "./sidecar.js";

export interface ModuleLog {
  /** For the sidecar's env: NODE_OPTIONS that register the hook. */
  nodeOptions: string;
  /** The URLs resolved so far. */
  resolved(): string[];
  /** Node's own modules the process loaded (process.moduleLoadList), written when it exits. */
  builtins(): string[];
}

/** Writes the hook into `dir`; resolution hooks run off the main thread, so each URL is appended to a file. */
export function moduleLog(dir: string): ModuleLog {
  const log = join(dir, "resolved.txt");
  writeFileSync(log, "");
  const hooks = join(dir, "hooks.mjs");
  writeFileSync(
    hooks,
    `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, r.url + "\\n");
  return r;
}
`,
  );
  const builtins = join(dir, "builtins.txt");
  const register = join(dir, "register.mjs");
  writeFileSync(
    register,
    `import { register } from "node:module";
import { writeFileSync } from "node:fs";
register(${JSON.stringify(pathToFileURL(hooks).href)});
process.on("exit", () => writeFileSync(${JSON.stringify(builtins)}, process.moduleLoadList.join("\\n")));
`,
  );
  return {
    nodeOptions: `--import ${pathToFileURL(register).href}`,
    resolved: () => readFileSync(log, "utf8").split("\n").filter(Boolean),
    builtins: () => readFileSync(builtins, "utf8").split("\n").filter(Boolean),
  };
}

export interface Metafile {
  outputs: Record<string, { inputs: Record<string, unknown> }>;
}

export interface RecordedSidecar {
  sidecar: Sidecar;
  modules: ModuleLog;
  /** Stops the sidecar and removes its folder. */
  stop(): Promise<void>;
}

/**
 * Starts a sidecar whose resolved modules are recorded, with one `local.file` store named `local` that
 * holds `{ token: secret }`.
 */
export async function startRecordedSidecar(secret: string): Promise<RecordedSidecar> {
  const dir = mkdtempSync(join(tmpdir(), "keyward-modules-"));
  const modules = moduleLog(dir);
  const secrets = join(dir, "secrets.json");
  writeFileSync(secrets, JSON.stringify({ token: secret }));
  const sidecar = await startSidecar({
    components: { "store.yaml": componentYaml("local", "secretstores.local.file", { secretsFile: secrets }) },
    env: { NODE_OPTIONS: modules.nodeOptions },
  });
  return {
    sidecar,
    modules,
    stop: async () => {
      await sidecar.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** In a describe block: a recorded sidecar (startRecordedSidecar) started before its tests and stopped after. */
export function useRecordedSidecar(secret: string): { readonly sidecar: Sidecar; readonly modules: ModuleLog } {
  let recorded: RecordedSidecar | undefined;
  before(async () => {
    recorded = await startRecordedSidecar(secret);
  });
  after(() => recorded?.stop());
  return {
    get sidecar() {
      return recorded!.sidecar;
    },
    get modules() {
      return recorded!.modules;
    },
  };
}
