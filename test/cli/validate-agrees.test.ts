/**
 * `keyward validate` and `keyward serve` agree on a corpus of component files: validate reports a problem
 * exactly when serve refuses to start (before any backend I/O), at the line of the field itself; warnings
 * (unknown metadata names, skipped documents) stop both only with --strict.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { REPO_ROOT } from "../helpers/paths.js";
import { runKeyward, startSidecar } from "../helpers/sidecar.js";

const CORPUS = join(REPO_ROOT, "test", "fixtures", "bad-components");
const SEEDS = [/seed-7f3a9c/i, /SEED7F3A9C/];
const scratch = mkdtempSync(join(tmpdir(), "keyward-agree-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** 1-based lines carrying a `# problem` / `# warning` marker. */
function marked(text: string, marker: "problem" | "warning"): number[] {
  return text.split("\n").flatMap((line, i) => (new RegExp(`#\\s*${marker}\\b`).test(line) ? [i + 1] : []));
}

async function validateOne(name: string, text: string, strict: boolean) {
  const dir = mkdtempSync(join(scratch, "v-"));
  writeFileSync(join(dir, name), text);
  const args = ["validate", "--app-id", "app", "--resources-path", dir, ...(strict ? ["--strict"] : [])];
  const r = await runKeyward({ cwd: REPO_ROOT }, args);
  return { ...r, path: join(dir, name) };
}

/** Whether serve starts (then it is stopped) or exits on its own, with its output. */
async function serveOne(name: string, text: string, strict: boolean) {
  try {
    const s = await startSidecar({ components: { [name]: text }, cwd: REPO_ROOT, args: strict ? ["--strict"] : [] });
    const output = s.output();
    await s.stop();
    return { started: true, output };
  } catch (err) {
    const message = (err as Error).message;
    assert.match(message, /exited with [1-9]\d* before it was ready/, message);
    return { started: false, output: message };
  }
}

function assertNoSeed(output: string, what: string): void {
  for (const seed of SEEDS) assert.doesNotMatch(output, seed, `${what} shows a credential`);
}

const files = readdirSync(CORPUS).filter((f) => f.endsWith(".yaml"));

describe("keyward validate agrees with keyward serve on the bad-components corpus", () => {
  it("the corpus has files of every kind", () => {
    assert.ok(files.filter((f) => !f.startsWith("ok-") && !f.startsWith("warn-")).length >= 15);
    assert.ok(files.some((f) => f.startsWith("ok-")) && files.some((f) => f.startsWith("warn-")));
  });

  for (const name of files) {
    it(name, async () => {
      const text = readFileSync(join(CORPUS, name), "utf8");
      const problems = marked(text, "problem");
      const warnings = marked(text, "warning");
      const [v, s] = await Promise.all([validateOne(name, text, false), serveOne(name, text, false)]);
      assertNoSeed(v.output, "validate");
      assertNoSeed(s.output, "serve");
      assert.equal(v.code !== 0, problems.length > 0, `validate:\n${v.output}`);
      assert.equal(s.started, problems.length === 0, `serve disagrees with validate:\n${v.output}\n${s.output}`);
      for (const line of problems)
        assert.ok(v.output.includes(`problem: ${v.path}:${line}: `), `${line}:\n${v.output}`);
      for (const line of warnings)
        assert.ok(v.output.includes(`warning: ${v.path}:${line}: `), `${line}:\n${v.output}`);
      if (problems.length > 0 || warnings.length === 0) return;
      // Only warnings: --strict makes both refuse.
      const [vs, ss] = await Promise.all([validateOne(name, text, true), serveOne(name, text, true)]);
      assert.equal(vs.code, 1, vs.output);
      for (const line of warnings) assert.ok(vs.output.includes(`problem: ${vs.path}:${line}: `), vs.output);
      assert.equal(ss.started, false, ss.output);
      assert.match(ss.output, /--strict/);
    });
  }
});
