// Keeps the metadata tables in docs/stores/*.md equal to the stores' metadata declarations (the one source
// that parsing and `keyward validate` use). Reads the compiled stores from dist/, so run `npm run build`
// first. `node scripts/store-docs.mjs` rewrites the tables between `<!-- metadata:ID:begin/end -->`
// markers; `--check` exits 1 when one is out of date. Run scripts/readme-stores.mjs afterwards.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { findStoreDefinition } = await import(pathToFileURL(join(root, "dist/src/stores/registry.js")).href);

/** Marker id → which fields: one store's, the fields two stores share, or one store's own. */
const SECTIONS = {
  "local.file": { type: "local.file" },
  "local.env": { type: "local.env" },
  kubernetes: { type: "kubernetes" },
  "hashicorp.vault": { type: "hashicorp.vault" },
  "azure.keyvault": { type: "azure.keyvault" },
  "aws.shared": { type: "aws.secretmanager", shared: "aws.parameterstore" },
  "aws.secretmanager": { type: "aws.secretmanager", without: "aws.parameterstore" },
  "aws.parameterstore": { type: "aws.parameterstore", without: "aws.secretmanager" },
  "gcp.secretmanager": { type: "gcp.secretmanager" },
};

const fieldsOf = async (type) => (await findStoreDefinition(`secretstores.${type}`, "v1")).metadata;
const TYPE_NAMES = {
  bool: "boolean",
  int: "integer",
  duration: "duration",
  enum: "enum",
  json: "JSON",
  file: "path",
  string: "string",
};
const cell = (s) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

async function table(id) {
  const spec = SECTIONS[id];
  let fields = await fieldsOf(spec.type);
  if (spec.shared) {
    const other = new Set((await fieldsOf(spec.shared)).map((f) => f.name));
    fields = fields.filter((f) => other.has(f.name));
  }
  if (spec.without) {
    const other = new Set((await fieldsOf(spec.without)).map((f) => f.name));
    fields = fields.filter((f) => !other.has(f.name));
  }
  const rows = fields.map((f) => {
    const names = [`\`${f.name}\``, ...(f.aliases?.length ? [`(${f.aliases.map((a) => `\`${a}\``).join(", ")})`] : [])];
    const type =
      TYPE_NAMES[f.type] +
      (f.type === "enum" ? `: ${f.values.map((v) => `\`${v}\``).join(", ")}` : "") +
      (f.sensitive ? ", secret" : "");
    const def = f.required ? "required" : f.default !== undefined && f.default !== "" ? `\`${f.default}\`` : "—";
    return `| ${names.join(" ")} | ${type} | ${cell(def)} | ${cell(f.description)} |`;
  });
  return [
    `<!-- metadata:${id}:begin -->`,
    "<!-- generated from the store's metadata declaration by scripts/store-docs.mjs: edit the declaration -->",
    "",
    "| name (aliases) | type | default | meaning |",
    "|---|---|---|---|",
    ...rows,
    "",
    `<!-- metadata:${id}:end -->`,
  ].join("\n");
}

const dir = join(root, "docs", "stores");
const seen = new Set();
let stale = [];
for (const name of readdirSync(dir)
  .filter((f) => f.endsWith(".md"))
  .sort()) {
  const path = join(dir, name);
  const text = readFileSync(path, "utf8");
  let next = text;
  for (const m of text.matchAll(/<!-- metadata:([\w.-]+):begin -->/g)) {
    const id = m[1];
    if (!SECTIONS[id]) throw new Error(`${path}: unknown metadata section ${id}`);
    if (seen.has(id)) throw new Error(`${path}: metadata section ${id} appears twice`);
    seen.add(id);
    const begin = next.indexOf(m[0]);
    const endMarker = `<!-- metadata:${id}:end -->`;
    const end = next.indexOf(endMarker, begin);
    if (end < 0) throw new Error(`${path}: metadata section ${id} has no end marker`);
    next = next.slice(0, begin) + (await table(id)) + next.slice(end + endMarker.length);
  }
  if (next !== text) {
    stale.push(`docs/stores/${name}`);
    if (!process.argv.includes("--check")) writeFileSync(path, next);
  }
}
const missing = Object.keys(SECTIONS).filter((id) => !seen.has(id));
if (missing.length) {
  console.error(`docs/stores has no metadata table for: ${missing.join(", ")}`);
  process.exit(1);
}
if (process.argv.includes("--check") && stale.length) {
  console.error(`metadata tables out of date in ${stale.join(", ")}: run npm run build && node scripts/store-docs.mjs`);
  process.exit(1);
}
