/**
 * The production install stays lean and reproducible: the shipped artefact is the bundle (dist/keyward/),
 * so what it leaves to node_modules, and what src/ loads through createRequire (invisible to the bundler),
 * must be runtime dependencies (so `npm install --omit=dev` of the packed tarball runs it); everything else
 * src/ loads is bundled from a devDependency. Every package src/ loads, the legacy SDK and the AWS SDK
 * packages are pinned to exact versions that a lock refresh cannot move.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT } from "../helpers/paths.js";
import { sources } from "../helpers/source-files.js";

/**
 * Optional add-ons bundled code probes for inside try/catch and works without (ws's bufferutil and
 * utf-8-validate, node-fetch's encoding): the bundler leaves them external, and nothing installs them.
 */
const OPTIONAL = new Set(["bufferutil", "utf-8-validate", "encoding"]);

interface Metafile {
  outputs: Record<string, { imports: { path: string; external?: boolean }[] }>;
}

interface PackageJson {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as PackageJson;
const EXACT = /^\d+\.\d+\.\d+$/;

/** Module specifiers a file loads at run time: static and dynamic imports, require and require.resolve. */
function runtimeSpecifiers(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, " ").replace(/^\s*\/\/[^\n]*/gm, " ");
  const found = [
    ...code.matchAll(/^\s*import\s+(?!type\b)[^"';]*?from\s+["']([^"']+)["']/gm),
    ...code.matchAll(/^\s*import\s+["']([^"']+)["']/gm),
    ...code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g),
    ...code.matchAll(/\brequire(?:\.resolve)?\(\s*["']([^"']+)["']\s*\)/g),
  ];
  return found.map((m) => m[1]!);
}

/** The package a bare specifier names (`@scope/name` or `name`), or undefined for relative and node: ones. */
function packageOf(spec: string): string | undefined {
  if (spec.startsWith(".") || spec.startsWith("node:") || builtinModules.includes(spec)) return undefined;
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

describe("runtime dependencies", () => {
  it("finds every kind of runtime load and skips type-only imports", () => {
    const text = [
      'import { a } from "pino";',
      'import type { B } from "@grpc/grpc-js";',
      'import "./side-effect.js";',
      'const m = await import("prom-client");',
      'const p = require("protobufjs"); require.resolve("@dapr/dapr/package.json");',
      '// import { c } from "commented-out";',
    ].join("\n");
    assert.deepEqual(runtimeSpecifiers(text).map(packageOf).filter(Boolean).sort(), [
      "@dapr/dapr",
      "pino",
      "prom-client",
      "protobufjs",
    ]);
  });

  /** Every package specifier src/ loads, and whether the bundler can see it (not a createRequire load). */
  function srcLoads(): { file: string; name: string; required: boolean }[] {
    const out: { file: string; name: string; required: boolean }[] = [];
    for (const file of sources(join(REPO_ROOT, "src"))) {
      const text = readFileSync(file, "utf8");
      const required = new Set(
        [...text.matchAll(/\brequire(?:\.resolve)?\(\s*["']([^"']+)["']\s*\)/g)].map((m) => packageOf(m[1]!)),
      );
      for (const spec of runtimeSpecifiers(text)) {
        const name = packageOf(spec);
        if (name !== undefined) out.push({ file: relative(REPO_ROOT, file), name, required: required.has(name) });
      }
    }
    return out;
  }

  it("src/ loads only declared packages", () => {
    const stray = srcLoads().filter(({ name }) => !(name in pkg.dependencies) && !(name in pkg.devDependencies));
    assert.deepEqual(stray, []);
  });

  it("what the bundle leaves to node_modules is a runtime dependency, and every runtime dependency is used so", () => {
    const meta = JSON.parse(readFileSync(join(REPO_ROOT, "dist", "bundle-meta.json"), "utf8")) as Metafile;
    const external = new Set<string>();
    for (const output of Object.values(meta.outputs))
      for (const i of output.imports) {
        const name = i.external ? packageOf(i.path) : undefined;
        if (name !== undefined && !OPTIONAL.has(name)) external.add(name);
      }
    for (const { name, required } of srcLoads()) if (required) external.add(name);
    assert.deepEqual([...external].sort(), Object.keys(pkg.dependencies).sort());
  });

  it("the SDKs and proto-loader are devDependencies only", () => {
    for (const name of ["@dapr/dapr", "dapr-sdk-legacy", "@grpc/proto-loader"]) {
      assert.ok(!(name in pkg.dependencies), `${name} is not a runtime dependency`);
      assert.ok(name in pkg.devDependencies, `${name} is a devDependency`);
    }
  });

  it("every runtime dependency, and every package the bundle holds, is an exact version", () => {
    const loaded = new Set(srcLoads().map(({ name }) => name));
    const all: Record<string, string> = { ...pkg.devDependencies, ...pkg.dependencies };
    const loose = Object.keys(pkg.dependencies)
      .concat([...loaded])
      .filter((name) => !EXACT.test(all[name] ?? ""));
    assert.deepEqual(loose, []);
  });

  it("the legacy SDK is pinned exactly and the AWS SDK packages share one version", () => {
    assert.match(pkg.devDependencies["dapr-sdk-legacy"] ?? "", /^npm:@dapr\/dapr@\d+\.\d+\.\d+$/);
    const aws = Object.entries(pkg.devDependencies).filter(([name]) => name.startsWith("@aws-sdk/"));
    assert.ok(aws.length > 0);
    assert.equal(new Set(aws.map(([, v]) => v)).size, 1, JSON.stringify(aws));
  });
});
