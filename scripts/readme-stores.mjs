// Keeps README.md's generated sections equal to their sources under docs/ (headings moved down two
// levels): the secret stores, and running on Kubernetes. `node scripts/readme-stores.mjs` rewrites them;
// `--check` exits 1 when one is out of date.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
/** Section → source files and the README heading level their top heading takes. */
const SECTIONS = {
  stores: {
    top: 3,
    files: [
      "stores/local",
      "stores/kubernetes",
      "stores/hashicorp-vault",
      "stores/azure-keyvault",
      "stores/aws",
      "stores/gcp-secretmanager",
    ],
  },
  cache: { top: 3, files: ["cache"] },
  notifications: { top: 3, files: ["notifications"] },
  deploy: { top: 3, files: ["deploy-kubernetes"] },
  performance: { top: 2, files: ["performance"] },
};

function section(name, { top, files }) {
  const parts = [];
  for (const file of files) {
    const text = readFileSync(join(root, "docs", `${file}.md`), "utf8");
    const raw = text.trimEnd().split("\n");
    let fenced = false;
    const isHeading = raw.map((line) => {
      if (line.startsWith("```")) fenced = !fenced;
      return !fenced && /^#{1,5} /.test(line);
    });
    const shift = top - Math.min(...raw.filter((_l, i) => isHeading[i]).map((l) => l.indexOf(" ")));
    const lines = raw.map((line, i) =>
      isHeading[i] ? "#".repeat(line.indexOf(" ") + shift) + line.slice(line.indexOf(" ")) : line,
    );
    parts.push(lines.join("\n"));
  }
  const sources = files.map((f) => `docs/${f}.md`).join(", ");
  return `<!-- ${name}:begin -->\n<!-- generated from ${sources} by scripts/readme-stores.mjs: edit those files -->\n${parts.join("\n\n")}\n<!-- ${name}:end -->`;
}

const readmePath = join(root, "README.md");
const readme = readFileSync(readmePath, "utf8");
let next = readme;
for (const [name, spec] of Object.entries(SECTIONS)) {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const start = next.indexOf(begin);
  const stop = next.indexOf(end);
  if (start < 0 || stop < 0) throw new Error(`README.md has no ${name} markers`);
  next = next.slice(0, start) + section(name, spec) + next.slice(stop + end.length);
}
if (process.argv.includes("--check")) {
  if (next !== readme) {
    console.error("README.md's store section is out of date: run node scripts/readme-stores.mjs");
    process.exit(1);
  }
} else writeFileSync(readmePath, next);
