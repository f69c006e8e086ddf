// Keeps README.md's generated sections equal to their sources under docs/ (headings moved down two
// levels): the secret stores, and running on Kubernetes. `node scripts/readme-stores.mjs` rewrites them;
// `--check` exits 1 when one is out of date.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const SECTIONS = {
  stores: ["stores/local", "stores/kubernetes", "stores/hashicorp-vault", "stores/azure-keyvault", "stores/aws", "stores/gcp-secretmanager"],
  deploy: ["deploy-kubernetes"],
};

function section(name, files) {
  const parts = [];
  for (const file of files) {
    const text = readFileSync(join(root, "docs", `${file}.md`), "utf8");
    let fenced = false;
    const lines = text.trimEnd().split("\n").map((line) => {
      if (line.startsWith("```")) fenced = !fenced;
      return !fenced && /^#{1,4} /.test(line) ? `##${line}` : line;
    });
    parts.push(lines.join("\n"));
  }
  const sources = files.map((f) => `docs/${f}.md`).join(", ");
  return `<!-- ${name}:begin -->\n<!-- generated from ${sources} by scripts/readme-stores.mjs: edit those files -->\n${parts.join("\n\n")}\n<!-- ${name}:end -->`;
}

const readmePath = join(root, "README.md");
const readme = readFileSync(readmePath, "utf8");
let next = readme;
for (const [name, files] of Object.entries(SECTIONS)) {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const start = next.indexOf(begin);
  const stop = next.indexOf(end);
  if (start < 0 || stop < 0) throw new Error(`README.md has no ${name} markers`);
  next = next.slice(0, start) + section(name, files) + next.slice(stop + end.length);
}
if (process.argv.includes("--check")) {
  if (next !== readme) {
    console.error("README.md's store section is out of date: run node scripts/readme-stores.mjs");
    process.exit(1);
  }
} else writeFileSync(readmePath, next);
