/** Fixtures for the `keyward run -- CMD` tests: a store `store` and small apps that report what they see. */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { componentYaml } from "./sidecar.js";
import { keywardToEnd, workFolder, writeFiles } from "./keyward-run.js";

/** Each test file that imports this gets its own folder. */
export const dir = workFolder("run-app");
writeFiles(dir, {
  "secrets.json": JSON.stringify({ greeting: "hello" }),
  // The quickstart read over gRPC, finding the sidecar only through the variables keyward run sets.
  "grpc-app.mjs": `import { DaprClient, CommunicationProtocolEnum } from "@dapr/dapr";
const client = new DaprClient({ communicationProtocol: CommunicationProtocolEnum.GRPC });
console.log("gRPC Fetched Secret: " + JSON.stringify(await client.secret.get("store", "greeting")));
await client.stop();
`,
  "trap.mjs": `process.on("SIGTERM", () => { console.log("app got SIGTERM"); process.exit(3); });
console.log("app ready " + process.env.APP_ID);
setInterval(() => {}, 1000);
`,
  "shutdown-sidecar.mjs": `console.log("app ready");
process.on("SIGTERM", () => { console.log("app told to stop"); process.exit(0); });
await fetch(process.env.DAPR_HTTP_ENDPOINT + "/v1.0/shutdown", { method: "POST", headers: { "dapr-force-shutdown": "true" } });
setInterval(() => {}, 1000);
`,
  "noisy.mjs": `process.stdout.write("x".repeat(200000));
console.error("to stderr");
`,
});
export const resources = join(dir, "resources");
mkdirSync(resources);
writeFiles(resources, {
  "store.yaml": componentYaml("store", "secretstores.local.file", { secretsFile: join(dir, "secrets.json") }),
});
/** `keyward run --app-id runner` over `store`, from `dir`. */
export const run = (args: string[], cmd: string[]) =>
  keywardToEnd(["run", "--app-id", "runner", "--resources-path", resources, ...args, "--", ...cmd], { cwd: dir });
