/**
 * The OpenTelemetry SDK is loaded only when the Configuration turns tracing on: no file under src/ imports
 * an @opentelemetry package statically, and the one module that loads them is itself imported dynamically.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT } from "../helpers/paths.js";
import { sources } from "../helpers/source-files.js";

const files = sources(join(REPO_ROOT, "src")).map((path) => ({
  path: relative(REPO_ROOT, path),
  text: readFileSync(path, "utf8"),
}));

describe("tracing is lazy", () => {
  it("src/ has no static value import of an @opentelemetry package", () => {
    const static_ = files.flatMap(({ path, text }) =>
      [...text.matchAll(/^\s*import\s+(?!type\b)[^"';]*?from\s+["'](@opentelemetry\/[^"']+)["']/gm)].map(
        (m) => `${path}: ${m[1]}`,
      ),
    );
    assert.deepEqual(static_, []);
  });

  it("only src/tracing/tracer.ts imports @opentelemetry packages, and it is imported only dynamically", () => {
    const loaders = files.filter(({ text }) => /\bimport\(\s*["']@opentelemetry\//.test(text)).map((f) => f.path);
    assert.deepEqual(loaders, ["src/tracing/tracer.ts"]);
    const importers = files.filter(({ text }) => /tracing\/tracer\.js["']/.test(text));
    assert.ok(importers.length > 0);
    for (const { path, text } of importers)
      assert.ok(
        !/^\s*import\s+(?!type\b)[^;]*tracing\/tracer\.js["']/m.test(text),
        `${path} imports tracer.js statically`,
      );
  });
});
