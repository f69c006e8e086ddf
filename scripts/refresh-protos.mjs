// Refreshes the vendored Dapr .proto files under proto/: dapr/proto/runtime/v1/dapr.proto and every file it
// imports, nothing else. The source is a folder laid out like Dapr's proto tree, by default the one inside
// the installed @dapr/dapr SDK (a devDependency), which ships the protos of one Dapr release.
//   node scripts/refresh-protos.mjs --dapr-release v1.17.0 [--from DIR]   copy, then record the release
//   node scripts/refresh-protos.mjs --check [--from DIR]                  exit 1 when proto/ differs
// The release tag cannot be read from the SDK, so it is given by whoever refreshes (compare the files with
// the tags of github.com/dapr/dapr) and written to proto/VERSION with the SDK version it came from.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const target = join(root, "proto");
const ENTRY = "dapr/proto/runtime/v1/dapr.proto";
/** Files of proto/ the script owns besides the .proto files. */
// keyward/ holds Keyward's own protos, not Dapr's: a refresh leaves them alone.
const KEEP = new Set(["README.md", "VERSION", "keyward"]);

const { values: args } = parseArgs({
  options: { "dapr-release": { type: "string" }, from: { type: "string" }, check: { type: "boolean" } },
});
const sdkDir = dirname(createRequire(join(root, "package.json")).resolve("@dapr/dapr/package.json"));
const source = args.from ?? join(sdkDir, "proto");

/** `import "x.proto";` lines, comments dropped. */
function imports(text) {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, " ").replace(/\/\/[^\n]*/g, " ");
  return [...code.matchAll(/^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;/gm)].map((m) => m[1]);
}

/** The entry file and its imports, transitively: relative path → text. */
function closure(dir) {
  const files = new Map();
  const pending = [ENTRY];
  while (pending.length > 0) {
    const file = pending.pop();
    if (files.has(file)) continue;
    const path = join(dir, file);
    if (!existsSync(path)) throw new Error(`${file} (imported from the Dapr protos) is missing in ${dir}`);
    const text = readFileSync(path, "utf8");
    files.set(file, text);
    pending.push(...imports(text));
  }
  return files;
}

function listed(dir, out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) listed(path, out);
    else out.push(relative(target, path));
  }
  return out;
}

const wanted = closure(source);
if (args.check) {
  const have = existsSync(target) ? listed(target).filter((f) => !KEEP.has(f.split(/[\\/]/)[0])) : [];
  const differ = [
    ...[...wanted].filter(
      ([f, text]) => !existsSync(join(target, f)) || readFileSync(join(target, f), "utf8") !== text,
    ),
    ...have.filter((f) => !wanted.has(f)).map((f) => [f]),
  ].map(([f]) => f);
  if (differ.length > 0) {
    console.error(`proto/ differs from ${source}: ${differ.sort().join(", ")}`);
    process.exit(1);
  }
  console.log(`proto/ equals ${source} (${wanted.size} files)`);
} else {
  const release = args["dapr-release"];
  if (!release || !/^v\d+\.\d+\.\d+(-rc\.\d+)?$/.test(release)) {
    console.error("usage: node scripts/refresh-protos.mjs --dapr-release vX.Y.Z [--from DIR] | --check [--from DIR]");
    process.exit(2);
  }
  mkdirSync(target, { recursive: true });
  for (const entry of readdirSync(target)) if (!KEEP.has(entry)) rmSync(join(target, entry), { recursive: true });
  for (const [file, text] of wanted) {
    mkdirSync(dirname(join(target, file)), { recursive: true });
    writeFileSync(join(target, file), text);
  }
  const from = args.from
    ? "a local copy"
    : `@dapr/dapr ${JSON.parse(readFileSync(join(sdkDir, "package.json"))).version}`;
  writeFileSync(join(target, "VERSION"), `dapr ${release}\nfrom ${from}\n`);
  console.log(`proto/: ${wanted.size} files of Dapr ${release} from ${source}`);
}
