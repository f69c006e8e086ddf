// Fills the package's compile cache (.compile-cache/, see bin/keyward) for the user running this script: starts
// `keyward serve` with a local.file and a local.env component, connects to its gRPC port so the gRPC server
// (loaded on the first connection) is compiled too, stops it once that has loaded, and checks that Node wrote
// the cache. The image runs it at build time as the user the sidecar runs as, since Node keeps
// one cache per uid and the image's root file system is read-only at run time.
//   node scripts/warm-compile-cache.mjs [package root, default: this repository]
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import module from "node:module";

if (!module.enableCompileCache) {
  console.log(`warm-compile-cache: Node ${process.version} has no compile cache; nothing to do`);
  process.exit(0);
}
const root = resolve(process.argv[2] ?? join(fileURLToPath(import.meta.url), "..", ".."));
const cache = join(root, ".compile-cache");
const work = mkdtempSync(join(tmpdir(), "keyward-warm-"));
const resources = join(work, "components");
mkdirSync(resources);
const component = (name, type, metadata) =>
  `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${name}\nspec:\n  type: secretstores.${type}\n  version: v1\n  metadata:\n` +
  metadata.map(([k, v]) => `  - name: ${k}\n    value: ${JSON.stringify(v)}\n`).join("");
writeFileSync(join(work, "secrets.json"), '{"warm":"up"}');
writeFileSync(
  join(resources, "file.yaml"),
  component("file", "local.file", [["secretsFile", join(work, "secrets.json")]]),
);
writeFileSync(join(resources, "env.yaml"), component("env", "local.env", [["prefix", "KEYWARD_WARM_"]]));

const args = ["serve", "--app-id", "compile-cache", "--resources-path", resources];
for (const flag of ["--dapr-http-port", "--dapr-grpc-port", "--metrics-port"]) args.push(flag, "0");
const child = spawn(process.execPath, [join(root, "bin", "keyward"), ...args], {
  stdio: ["ignore", "pipe", "inherit"],
});
let out = "";
let grpc;
child.stdout.on("data", (d) => {
  out += d;
  const ready = /Init Elapsed.* grpc_port=(\d+)/.exec(out);
  if (ready && !grpc) grpc = connect(Number(ready[1]), "127.0.0.1").on("error", () => undefined);
  if (/gRPC API loaded/.test(out)) {
    grpc.destroy();
    child.kill("SIGTERM");
  }
});
const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
const code = await new Promise((r) => child.on("exit", (c) => r(c)));
clearTimeout(timer);
rmSync(work, { recursive: true, force: true });

let files = 0;
try {
  for (const dir of readdirSync(cache)) files += readdirSync(join(cache, dir)).length;
} catch {
  // no cache folder: reported below
}
if (code !== 0 || files === 0 || !/gRPC API loaded/.test(out)) {
  console.error(`warm-compile-cache: keyward exited with ${code}, ${files} files in ${cache}\n${out}`);
  process.exit(1);
}
console.log(`warm-compile-cache: ${files} files in ${cache}`);
