/**
 * Two start-up savings of the bundled artefact, each checked for what it must not change:
 * - grpc-js's `node:net` is src/api/grpc/grpc-js-net.ts, whose IP checks must give Node's own answers;
 * - bin/keyward keeps Node's compile cache in the package's own `.compile-cache/` (never the shared temp
 *   folder), reads it on the next start, and leaves it off when NODE_DISABLE_COMPILE_CACHE is set; the
 *   image's build fills it with scripts/warm-compile-cache.mjs;
 * - the bundle requires node:http (and process, fs, util) rather than importing them as ESM, whose facade
 *   runs every lazy getter: node:http's WebSocket getter loads all of undici on Node 22+.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import module from "node:module";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import * as grpcJsNet from "../../src/api/grpc/grpc-js-net.js";
import { grpcSecretsClient } from "../helpers/clients.js";
import { startRecordedSidecar } from "../helpers/module-log.js";
import { REPO_ROOT } from "../helpers/paths.js";

const ADDRESSES = [
  "127.0.0.1",
  "0.0.0.0",
  "255.255.255.255",
  "256.1.1.1",
  "::",
  "::1",
  "[::1]",
  "::ffff:127.0.0.1",
  "fe80::1%eth0",
  "2001:db8::8a2e:370:7334",
  "2001:db8:::1",
  "1:2:3:4:5:6:7:8:9",
  "localhost",
  "dapr-sidecar.internal",
  "",
  " 127.0.0.1",
  "127.0.0.1\0",
  ":",
  "1.2.3.4:50001",
  "x".repeat(10_000) + ":",
];

describe("grpc-js's node:net in the bundle", () => {
  it("answers isIP, isIPv6 and isIPv4 exactly as Node does", () => {
    for (const a of ADDRESSES) {
      assert.equal(grpcJsNet.isIP(a), net.isIP(a), `isIP(${JSON.stringify(a.slice(0, 40))})`);
      assert.equal(grpcJsNet.isIPv6(a), net.isIPv6(a), `isIPv6(${JSON.stringify(a.slice(0, 40))})`);
      assert.equal(grpcJsNet.isIPv4(a), net.isIPv4(a), `isIPv4(${JSON.stringify(a.slice(0, 40))})`);
    }
  });

  it("is otherwise Node's net, and is what the bundle gives grpc-js", () => {
    assert.equal(grpcJsNet.createServer, net.createServer);
    assert.equal(grpcJsNet.Socket, net.Socket);
    const meta = JSON.parse(readFileSync(join(REPO_ROOT, "dist", "bundle-meta.json"), "utf8")) as {
      inputs: Record<string, { imports: { path: string; original?: string }[] }>;
    };
    const addressModule = Object.entries(meta.inputs).find(([p]) =>
      p.endsWith("@grpc/grpc-js/build/src/subchannel-address.js"),
    );
    assert.ok(addressModule, "grpc-js is bundled");
    const netImport = addressModule[1].imports.find((i) => i.original === "net");
    assert.equal(netImport?.path, "src/api/grpc/grpc-js-net.ts");
  });
});

describe("Node's built-in modules a started sidecar loads", () => {
  it("serve, an HTTP get and a gRPC get load none of undici", async () => {
    const secret = `builtins-${process.pid}-${Date.now()}`;
    const recorded = await startRecordedSidecar(secret);
    try {
      const res = await fetch(`${recorded.sidecar.httpUrl}/v1.0/secrets/local/token`);
      assert.deepEqual(await res.json(), { token: secret });
      const grpc = grpcSecretsClient(recorded.sidecar.grpcAddress);
      const o = await grpc.get("local", "token");
      grpc.close();
      assert.deepEqual(o.ok && o.data, { token: secret });
      assert.equal(await recorded.sidecar.stop(), 0);
      const loaded = recorded.modules.builtins();
      assert.ok(loaded.includes("NativeModule http") && loaded.includes("NativeModule http2"), loaded.join(", "));
      assert.deepEqual(
        loaded.filter((m) => /undici/.test(m)),
        [],
      );
    } finally {
      await recorded.stop();
    }
  });
});

const hasCompileCache = typeof module.enableCompileCache === "function";

describe("compile cache", { skip: hasCompileCache ? false : `Node ${process.version} has no compile cache` }, () => {
  // A copy of the package as npm installs it, so the test owns its .compile-cache/.
  const pkg = mkdtempSync(join(tmpdir(), "keyward-compile-cache-"));
  for (const p of ["package.json", "bin", "proto", join("dist", "keyward")])
    cpSync(join(REPO_ROOT, p), join(pkg, p), { recursive: true });
  symlinkSync(join(REPO_ROOT, "node_modules"), join(pkg, "node_modules"), "dir");
  const cache = join(pkg, ".compile-cache");
  after(() => rmSync(pkg, { recursive: true, force: true }));

  const keyward = (env: NodeJS.ProcessEnv = {}) => {
    const r = spawnSync(process.execPath, [join(pkg, "bin", "keyward"), "--version"], {
      encoding: "utf8",
      env: { ...process.env, NODE_COMPILE_CACHE: "", NODE_DEBUG_NATIVE: "COMPILE_CACHE", ...env },
    });
    assert.equal(r.status, 0, r.stderr);
    return r.stderr + r.stdout;
  };
  const cached = () => (existsSync(cache) ? readdirSync(cache).flatMap((d) => readdirSync(join(cache, d))) : []);

  it("is off with NODE_DISABLE_COMPILE_CACHE=1", () => {
    keyward({ NODE_DISABLE_COMPILE_CACHE: "1" });
    assert.deepEqual(cached(), []);
  });

  it("is kept in the package's .compile-cache/ and read on the next start", () => {
    const first = keyward();
    assert.match(first, new RegExp(`resolved path ${cache.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\+`));
    assert.ok(cached().length > 0, "the first start wrote the cache");
    const second = keyward();
    assert.match(second, /V8 code cache for ESM file:\/\/\S+\/dist\/keyward\/main\.js was accepted/);
  });

  it("is filled for the running user by scripts/warm-compile-cache.mjs", () => {
    rmSync(cache, { recursive: true, force: true });
    mkdirSync(cache);
    const r = spawnSync(process.execPath, [join(REPO_ROOT, "scripts", "warm-compile-cache.mjs"), pkg], {
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const uid = process.getuid?.() ?? 0;
    const dirs = readdirSync(cache);
    assert.ok(
      dirs.some((d) => d.endsWith(`-${uid}`)),
      `one folder for uid ${uid}: ${dirs.join(", ")}`,
    );
    // The stores' chunks too: a local.file and a local.env component were loaded.
    assert.ok(cached().length >= 10, `${cached().length} files`);
    assert.match(r.stdout, /warm-compile-cache: \d+ files in /);
  });
});
