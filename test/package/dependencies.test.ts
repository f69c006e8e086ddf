/**
 * The production install stays lean and reproducible: the code under src/ reaches only runtime
 * dependencies (so `npm ci --omit=dev` runs it), and every runtime dependency, the legacy SDK and the AWS
 * SDK packages are pinned to exact versions that a lock refresh cannot move.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT } from "../helpers/paths.js";
import { sources } from "../helpers/source-files.js";

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

  it("src/ loads only declared runtime dependencies, never a devDependency", () => {
    const stray: string[] = [];
    for (const file of sources(join(REPO_ROOT, "src"))) {
      for (const spec of runtimeSpecifiers(readFileSync(file, "utf8"))) {
        const name = packageOf(spec);
        if (name !== undefined && !(name in pkg.dependencies)) stray.push(`${relative(REPO_ROOT, file)}: ${spec}`);
      }
    }
    assert.deepEqual(stray, []);
  });

  it("the SDKs and proto-loader are devDependencies only", () => {
    for (const name of ["@dapr/dapr", "dapr-sdk-legacy", "@grpc/proto-loader"]) {
      assert.ok(!(name in pkg.dependencies), `${name} is not a runtime dependency`);
      assert.ok(name in pkg.devDependencies, `${name} is a devDependency`);
    }
  });

  it("every runtime dependency is an exact version", () => {
    const loose = Object.entries(pkg.dependencies).filter(([, v]) => !EXACT.test(v));
    assert.deepEqual(loose, []);
  });

  it("the legacy SDK is pinned exactly and the AWS SDK packages share one version", () => {
    assert.match(pkg.devDependencies["dapr-sdk-legacy"] ?? "", /^npm:@dapr\/dapr@\d+\.\d+\.\d+$/);
    const aws = Object.entries(pkg.dependencies).filter(([name]) => name.startsWith("@aws-sdk/"));
    assert.ok(aws.length > 0);
    assert.equal(new Set(aws.map(([, v]) => v)).size, 1, JSON.stringify(aws));
  });
});
