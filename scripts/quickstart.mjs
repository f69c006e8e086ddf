// `npm start`: runs the sidecar on the bundled quickstart and says how to query it.
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const cwd = join(root, "examples/quickstart/order-processor");
console.log(`Keyward quickstart: store "localsecretstore" over examples/quickstart/order-processor/secrets.json
  curl http://localhost:3500/v1.0/secrets/localsecretstore/secret
  curl http://localhost:3500/v1.0/secrets/localsecretstore/bulk
  node examples/quickstart/order-processor/index.js      (the Dapr JS SDK, over HTTP)
Press Ctrl+C to stop.
`);
const child = spawn(
  process.execPath,
  [
    join(root, "bin/keyward"),
    "serve",
    "--app-id",
    "order-processor",
    "--resources-path",
    "../components",
    ...process.argv.slice(2),
  ],
  { cwd, stdio: "inherit" },
);
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
child.on("exit", (code) => process.exit(code ?? 0));
