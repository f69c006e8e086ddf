/**
 * Fixtures for the `keyward run --env/--template` tests: a scoped multi-valued store, small apps that
 * report what they received, and unique canary values that must never appear in Keyward's output.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { componentYaml } from "./sidecar.js";
import { keywardToEnd, workFolder, writeFiles } from "./keyward-run.js";

export const node = process.execPath;
/** Holds the apps below; each test file that imports this gets its own. */
export const dir = workFolder("run-secrets");
export const canary = (label: string) => `${label}-${randomBytes(8).toString("hex")}`;

/** A multi-valued local.file store `vault` over `file`, and a Configuration denying secret `denied`. */
export function setup(values: Record<string, Record<string, string>>): {
  resources: string;
  config: string;
  root: string;
} {
  const root = join(dir, randomBytes(4).toString("hex"));
  const resources = join(root, "resources");
  mkdirSync(resources, { recursive: true });
  writeFileSync(join(root, "secrets.json"), JSON.stringify(values));
  writeStore(resources, join(root, "secrets.json"));
  const config = join(root, "config.yaml");
  writeFileSync(
    config,
    "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: c\nspec:\n  secrets:\n    scopes:\n      - storeName: vault\n        defaultAccess: allow\n        deniedSecrets: [denied]\n",
  );
  return { resources, config, root };
}

export type Setup = ReturnType<typeof setup>;

/** `keyward run` over a setup's store and Configuration with the given --env/--template flags. */
export const runWith = (s: Setup, inject: string[], cmd: string[], env: Record<string, string> = {}) =>
  keywardToEnd(["run", "--resources-path", s.resources, "--config", s.config, ...inject, "--", ...cmd], {
    cwd: s.root,
    env,
  });
export const appStarted = [node, "-e", "console.log('app started')"];

export function writeStore(resources: string, secretsFile: string): void {
  writeFileSync(
    join(resources, "vault.yaml"),
    componentYaml("vault", "secretstores.local.file", { secretsFile, multiValued: "true" }),
  );
}

writeFiles(dir, {
  // Reports whether any other process holds the value of $WATCH in its environment or command line.
  "leak-check.mjs": `import { readdirSync, readFileSync, writeFileSync } from "node:fs";
const needle = process.env[process.env.WATCH];
let leaks = [];
for (const pid of readdirSync("/proc").filter((p) => /^\\d+$/.test(p) && Number(p) !== process.pid)) {
  for (const f of ["environ", "cmdline"]) {
    try { if (readFileSync("/proc/" + pid + "/" + f, "latin1").includes(needle)) leaks.push(pid + "/" + f); } catch {}
  }
}
writeFileSync(process.env.OUT, needle);
console.log("leaks: " + (leaks.join(",") || "none"));
`,
  "read-file.mjs": `import { readFileSync, statSync } from "node:fs";
const f = process.argv[2];
console.log("file at start: " + readFileSync(f).length + " bytes, mode " + (statSync(f).mode & 0o777).toString(8));
`,
  "restart.mjs": `import { appendFileSync } from "node:fs";
appendFileSync(process.env.OUT, "start " + process.env.TOKEN + "\\n");
setInterval(() => {}, 1000);
`,
  "hup.mjs": `import { appendFileSync, readFileSync } from "node:fs";
process.on("SIGHUP", () => appendFileSync(process.env.OUT, "hup " + readFileSync(process.argv[2], "utf8") + "\\n"));
console.log("hup app ready");
setInterval(() => {}, 1000);
`,
  "wait.mjs": `console.log("waiting app ready"); setInterval(() => {}, 1000);`,
});

export const waitUntil = async (what: string, ok: () => boolean, ms = 30_000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};
