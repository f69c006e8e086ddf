/**
 * Runs `keyward validate` and `keyward serve` on part of the bad-components corpus and checks they agree:
 * validate reports a problem for a file exactly when serve refuses to start (before any backend I/O), at the
 * line of the field itself; warnings stop both only with --strict. Validate runs once per group (fewer
 * processes on a busy machine); serve once per file, as each is a separate start-up.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { REPO_ROOT } from "./paths.js";
import { runKeyward, startSidecar } from "./sidecar.js";

export const CORPUS = join(REPO_ROOT, "test", "fixtures", "bad-components");
const SEEDS = [/seed-7f3a9c/i, /SEED7F3A9C/];

export const corpusFiles = (): string[] => readdirSync(CORPUS).filter((f) => f.endsWith(".yaml"));

/** 1-based lines carrying a `# problem` / `# warning` marker. */
function marked(text: string, marker: "problem" | "warning"): number[] {
  return text.split("\n").flatMap((line, i) => (new RegExp(`#\\s*${marker}\\b`).test(line) ? [i + 1] : []));
}

/** The fixture with its component named after the file, so a group can share one resources folder. */
function fixture(name: string): string {
  return readFileSync(join(CORPUS, name), "utf8").replace(
    /^ {2}name: store$/m,
    `  name: ${name.replace(/\.yaml$/, "")}`,
  );
}

async function validateAll(names: readonly string[], strict: boolean) {
  const dir = mkdtempSync(join(tmpdir(), "keyward-corpus-"));
  try {
    for (const name of names) writeFileSync(join(dir, name), fixture(name));
    const args = ["validate", "--app-id", "app", "--resources-path", dir, ...(strict ? ["--strict"] : [])];
    const r = await runKeyward({ cwd: REPO_ROOT }, args);
    return {
      ...r,
      at: (name: string, kind: "problem" | "warning", line?: number) => `${kind}: ${join(dir, name)}:${line ?? ""}`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Whether serve starts (then it is stopped) or exits on its own with a non-zero code, with its output. */
async function serveOne(name: string, strict: boolean) {
  try {
    const s = await startSidecar({
      components: { [name]: fixture(name) },
      cwd: REPO_ROOT,
      args: strict ? ["--strict"] : [],
    });
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

/** Declares one test per file of `names`. */
export function corpusTests(names: readonly string[]): void {
  let plain: ReturnType<typeof validateAll> | undefined;
  let strict: ReturnType<typeof validateAll> | undefined;
  after(async () => {
    await plain?.catch(() => undefined);
    await strict?.catch(() => undefined);
  });
  for (const name of names) {
    it(name, async () => {
      const text = readFileSync(join(CORPUS, name), "utf8");
      const problems = marked(text, "problem");
      const warnings = marked(text, "warning");
      plain ??= validateAll(names, false);
      const [v, s] = await Promise.all([plain, serveOne(name, false)]);
      assertNoSeed(v.output, "validate");
      assertNoSeed(s.output, "serve");
      assert.equal(v.output.includes(v.at(name, "problem")), problems.length > 0, `validate:\n${v.output}`);
      assert.equal(s.started, problems.length === 0, `serve disagrees with validate:\n${v.output}\n${s.output}`);
      for (const line of problems)
        assert.ok(v.output.includes(`${v.at(name, "problem", line)}: `), `${line}:\n${v.output}`);
      for (const line of warnings)
        assert.ok(v.output.includes(`${v.at(name, "warning", line)}: `), `${line}:\n${v.output}`);
      if (problems.length > 0 || warnings.length === 0) return;
      // Only warnings: --strict makes both refuse.
      strict ??= validateAll(names, true);
      const [vs, ss] = await Promise.all([strict, serveOne(name, true)]);
      assert.equal(vs.code, 1, vs.output);
      for (const line of warnings) assert.ok(vs.output.includes(`${vs.at(name, "problem", line)}: `), vs.output);
      assert.equal(ss.started, false, ss.output);
      assert.match(ss.output, /--strict/);
    });
  }
}
