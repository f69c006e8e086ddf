// Bundles the production artefact into dist/keyward/: main.js plus lazily loaded chunks, one per store
// module and its vendor SDK (the registry imports each store by a literal path), so a user of the local
// stores loads none of them. Run by `npm run build` and `npm pack` (prepack).
import { rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const OUT = join(ROOT, "dist", "keyward");

/**
 * Left to node_modules, so they are the package's runtime `dependencies`: packages loaded through
 * createRequire (protobufjs, @grpc/reflection) or that read their own data files next to their code at
 * run time (google-gax's protos under the GCP SDK). @grpc/grpc-js is bundled (loading it from one chunk
 * is faster at start-up) and installed too: @grpc/reflection and the GCP SDK load it from node_modules.
 */
const EXTERNAL = ["protobufjs", "@grpc/reflection", "@google-cloud/secret-manager"];

/**
 * The OTLP gRPC exporter takes grpc-js both through its own require (node_modules) and through `import()`,
 * which in the bundle would reach the server's chunk: a second copy whose credentials and client the first
 * rejects, and a CommonJS chunk that `import()` sees as `default` only. Its `import()` becomes the same
 * require, so the exporter uses one copy, the installed one.
 */
const oneGrpcForTheExporter = {
  name: "one-grpc-for-the-otlp-exporter",
  setup(b) {
    b.onLoad({ filter: /otlp-grpc-exporter-base[\\/]dist[\\/].*\.mjs$/ }, async (args) => {
      const text = await readFile(args.path, "utf8");
      const call = 'await import("@grpc/grpc-js")';
      if (!text.includes(call)) return undefined;
      return {
        contents:
          'import { createRequire as __otlpCreateRequire } from "node:module";\n' +
          text.replaceAll(call, '__otlpCreateRequire(import.meta.url)("@grpc/grpc-js")'),
        loader: "js",
      };
    });
  },
};

/**
 * grpc-js's `require("net")` gets src/api/grpc/grpc-js-net.ts: Node's net, with IP checks that skip Node's
 * IPv6 regular expression for strings without ":" (about 9 ms of start-up; the module says why).
 */
const grpcJsNet = {
  name: "grpc-js-net",
  setup(b) {
    b.onResolve({ filter: /^(node:)?net$/ }, (args) =>
      /[\\/]@grpc[\\/]grpc-js[\\/]/.test(args.importer)
        ? { path: join(ROOT, "src", "api", "grpc", "grpc-js-net.ts") }
        : undefined,
    );
  },
};

/**
 * Node built-ins whose ESM import costs more than their require: Node builds an ESM facade by reading every
 * export, which runs lazy getters (node:http's WebSocket, CloseEvent and MessageEvent load all of undici:
 * about 21 ms of every start on Node 24; process, fs and util load less). Imported through a CommonJS
 * module of one line, the bundle reads each export where it is used and runs no getter it does not use.
 */
const REQUIRED_BUILTINS = ["http", "process", "fs", "util"];
const builtinsByRequire = {
  name: "builtins-by-require",
  setup(b) {
    const filter = new RegExp(`^(node:)?(${REQUIRED_BUILTINS.join("|")})$`);
    // An import() stays one: of a CommonJS module across chunks it would see only `default`.
    b.onResolve({ filter }, (args) => {
      const name = args.path.replace(/^node:/, "");
      return args.namespace === "builtin-by-require" || args.kind === "dynamic-import"
        ? { path: `node:${name}`, external: true }
        : { path: name, namespace: "builtin-by-require" };
    });
    b.onLoad({ filter: /.*/, namespace: "builtin-by-require" }, (args) => ({
      contents: `module.exports = require("node:${args.path}");`,
      loader: "js",
    }));
  },
};

rmSync(OUT, { recursive: true, force: true });
const result = await build({
  absWorkingDir: ROOT,
  entryPoints: { main: "src/main.ts" },
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node22",
  external: EXTERNAL,
  chunkNames: "chunks/[name]-[hash]",
  // CommonJS packages inside an ESM bundle still call require() for Node built-ins and read __dirname.
  banner: {
    js: [
      'import { createRequire as __keywardCreateRequire } from "node:module";',
      'import { fileURLToPath as __keywardFileURLToPath } from "node:url";',
      "const require = __keywardCreateRequire(import.meta.url);",
      "const __filename = __keywardFileURLToPath(import.meta.url);",
      'const __dirname = __keywardFileURLToPath(new URL(".", import.meta.url));',
    ].join(" "),
  },
  minify: process.env.KEYWARD_BUNDLE_DEBUG === undefined,
  keepNames: false,
  legalComments: "linked",
  metafile: true,
  plugins: [oneGrpcForTheExporter, grpcJsNet, builtinsByRequire],
  logLevel: "warning",
});
// What went into which chunk, and what stayed external: read by the package tests, not shipped.
writeFileSync(join(ROOT, "dist", "bundle-meta.json"), JSON.stringify(result.metafile));
