/**
 * The repository is self-contained: every "docs/compatibility.md §N" citation in code, tests and docs names
 * a section that exists, and nothing cites a document outside the repository or an issue number.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT } from "../helpers/paths.js";

const SOURCES = ["src", "test", "bench", "scripts", "docs", "proto/README.md", "README.md", ".ci/run", "Dockerfile"];
const TEXT = /\.(ts|mjs|md)$|^run$|^Dockerfile$/;

function files(path: string, out: string[] = []): string[] {
  const full = join(REPO_ROOT, path);
  let entries;
  try {
    entries = readdirSync(full, { withFileTypes: true });
  } catch {
    out.push(full);
    return out;
  }
  for (const e of entries) {
    if (e.isDirectory()) files(join(path, e.name), out);
    else if (TEXT.test(e.name)) out.push(join(full, e.name));
  }
  return out;
}

/** Section numbers of the `## N.` and `### N.M` headings. */
function sections(markdown: string): Set<string> {
  return new Set([...markdown.matchAll(/^#{2,4} (\d+(?:\.\d+)*)\.? /gm)].map((m) => m[1]!));
}

/** Every section a citation names: `§1.3`, `§1.3-1.4` (both ends), `§2, §3`. */
function citedSections(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/compatibility\.md((?:[ ,]*§\d+(?:\.\d+)*(?:-§?\d+(?:\.\d+)*)?)+)/g))
    for (const part of m[1]!.matchAll(/§(\d+(?:\.\d+)*)(?:-§?(\d+(?:\.\d+)*))?/g)) {
      out.push(part[1]!);
      if (part[2] !== undefined) out.push(part[2]);
    }
  return out;
}

describe("documentation citations", () => {
  const all = SOURCES.flatMap((p) => files(p));
  const known = sections(readFileSync(join(REPO_ROOT, "docs", "compatibility.md"), "utf8"));

  it("reads cited sections, ranges and lists", () => {
    assert.deepEqual(citedSections("see docs/compatibility.md §1.3-1.4, §2-§4 and compatibility.md §9.3."), [
      "1.3",
      "1.4",
      "2",
      "4",
      "9.3",
    ]);
    assert.ok(known.has("1.6") && known.has("11") && !known.has("12"));
  });

  it("every docs/compatibility.md citation names an existing section", () => {
    const broken: string[] = [];
    let count = 0;
    for (const file of all) {
      for (const s of citedSections(readFileSync(file, "utf8"))) {
        count++;
        if (!known.has(s)) broken.push(`${relative(REPO_ROOT, file)}: §${s}`);
      }
    }
    assert.deepEqual(broken, []);
    assert.ok(count >= 20, `only ${count} citations found`);
  });

  it("nothing cites a document outside the repository or an issue number", () => {
    const stray: string[] = [];
    for (const file of all) {
      if (file.endsWith("doc-citations.test.ts")) continue;
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/shared\/reference|\bcontract \d+(?:\.\d+)?|\bissue (?:item )?#?\d+/gi))
        stray.push(`${relative(REPO_ROOT, file)}: ${m[0]}`);
    }
    assert.deepEqual(stray, []);
  });
});
