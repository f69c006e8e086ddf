// Keeps README.md's "Secret stores" section equal to docs/stores/*.md (headings moved down two levels).
// `node scripts/readme-stores.mjs` rewrites the section; `--check` exits 1 when it is out of date.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const ORDER = ["local", "kubernetes", "hashicorp-vault", "azure-keyvault", "aws", "gcp-secretmanager"];
const BEGIN = "<!-- stores:begin -->";
const END = "<!-- stores:end -->";

export function storesSection() {
  const parts = [];
  for (const name of ORDER) {
    let text;
    try {
      text = readFileSync(join(root, "docs/stores", `${name}.md`), "utf8");
    } catch {
      continue;
    }
    let fenced = false;
    const lines = text.trimEnd().split("\n").map((line) => {
      if (line.startsWith("```")) fenced = !fenced;
      return !fenced && /^#{1,4} /.test(line) ? `##${line}` : line;
    });
    parts.push(lines.join("\n"));
  }
  return `${BEGIN}\n<!-- generated from docs/stores/*.md by scripts/readme-stores.mjs: edit those files -->\n${parts.join("\n\n")}\n${END}`;
}

const readmePath = join(root, "README.md");
const readme = readFileSync(readmePath, "utf8");
const start = readme.indexOf(BEGIN);
const end = readme.indexOf(END);
if (start < 0 || end < 0) throw new Error("README.md has no stores markers");
const next = readme.slice(0, start) + storesSection() + readme.slice(end + END.length);
if (process.argv.includes("--check")) {
  if (next !== readme) {
    console.error("README.md's store section is out of date: run node scripts/readme-stores.mjs");
    process.exit(1);
  }
} else writeFileSync(readmePath, next);
