/**
 * The package installs as npm users install CLIs: the tarball `npm pack` makes, installed with
 * `npm install --omit=dev` into an empty folder, runs `keyward serve` from node_modules/.bin, answers a
 * secret over HTTP, and that whole node_modules stays within 60 MB.
 *
 * The tarball is packed from the bundle `npm run build` made (`--ignore-scripts` skips prepare's full
 * tsc run; prepack only re-runs the same bundler). The install needs the npm registry or a warm npm
 * cache; with the cache it took 15 s here, so the test allows 4 minutes on a loaded machine.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { REPO_ROOT } from "../helpers/paths.js";
import { componentYaml, startSidecar } from "../helpers/sidecar.js";

const run = promisify(execFile);
const LIMIT_BYTES = 60 * 1024 * 1024;
const SECRET = `pack-install-${process.pid}-${Date.now()}`;

/** Disk usage as `du` counts it (allocated blocks), without following symlinks. */
function diskUsage(path: string): number {
  const st = lstatSync(path);
  let total = st.blocks * 512;
  if (st.isDirectory()) for (const name of readdirSync(path)) total += diskUsage(join(path, name));
  return total;
}

describe("npm pack, then npm install --omit=dev", { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "keyward-pack-"));
  const app = join(dir, "app");
  let tarball = "";

  before(async () => {
    const packed = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], {
      cwd: REPO_ROOT,
      maxBuffer: 16 * 1024 * 1024,
    });
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    tarball = join(dir, info!.filename);
    writeFileSync(join(dir, "files.json"), JSON.stringify(info!.files.map((f) => f.path)));
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "keyward-install-check", private: true }));
    await run("npm", ["install", "--omit=dev", "--no-audit", "--no-fund", "--no-save", tarball], {
      cwd: app,
      maxBuffer: 16 * 1024 * 1024,
    });
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it("packs the bundle, bin and protos, and no tsc output or sources", () => {
    const files = JSON.parse(readFileSync(join(dir, "files.json"), "utf8")) as string[];
    for (const f of ["bin/keyward", "dist/keyward/main.js", "proto/dapr/proto/runtime/v1/dapr.proto", "package.json"])
      assert.ok(files.includes(f), `${f} is packed`);
    assert.ok(
      files.some((f) => f.startsWith("dist/keyward/chunks/")),
      "the chunks are packed",
    );
    const stray = files.filter((f) => /^(src|test|bench|dist\/src|dist\/test)\//.test(f) || f.endsWith(".ts"));
    assert.deepEqual(stray, []);
  });

  it("the installed keyward serve answers a secret over HTTP", async () => {
    const bin = join(app, "node_modules", ".bin", "keyward");
    assert.ok(existsSync(bin), "npm linked node_modules/.bin/keyward");
    const secrets = join(dir, "secrets.json");
    writeFileSync(secrets, JSON.stringify({ token: SECRET }));
    const sidecar = await startSidecar({
      bin,
      cwd: app,
      components: { "store.yaml": componentYaml("local", "secretstores.local.file", { secretsFile: secrets }) },
    });
    try {
      const res = await fetch(`${sidecar.httpUrl}/v1.0/secrets/local/token`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { token: SECRET });
    } finally {
      await sidecar.stop();
    }
    assert.ok(!sidecar.output().includes(SECRET), "the secret value is not in the output");
  });

  it("node_modules of the install is within 60 MB", (t) => {
    const bytes = diskUsage(join(app, "node_modules"));
    t.diagnostic(`node_modules: ${(bytes / 1024 / 1024).toFixed(1)} MB`);
    assert.ok(bytes <= LIMIT_BYTES, `${(bytes / 1024 / 1024).toFixed(1)} MB > 60 MB`);
  });
});
