/** `keyward run -- CMD`: the Dapr quickstart app unchanged, over HTTP and gRPC, and the app's environment. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { keywardToEnd } from "../helpers/keyward-run.js";
import { REPO_ROOT } from "../helpers/paths.js";
import { dir, resources, run } from "../helpers/run-app-fixtures.js";

const quickstart = join(REPO_ROOT, "examples/quickstart/order-processor");
const node = process.execPath;

describe("keyward run: the Dapr quickstart app, unchanged", () => {
  it("the HTTP SDK app reads its secret through the sidecar keyward run started", async () => {
    const { code, output } = await keywardToEnd(
      ["run", "--app-id", "order-processor", "--resources-path", "../components", "--", node, "index.js"],
      { cwd: quickstart },
    );
    assert.equal(code, 0, output);
    assert.match(output, /^== APP == Fetched Secret: \{"secret":"YourPasskeyHere"\}$/m);
    assert.match(output, /^== KEYWARD == .*dapr initialized/m);
    assert.match(output, /^== KEYWARD == .*Keyward stopped/m, "the sidecar stops when the app exits");
  });

  it("a gRPC SDK client finds the sidecar from DAPR_GRPC_ENDPOINT alone", async () => {
    const { code, output } = await run([], [node, "grpc-app.mjs"]);
    assert.equal(code, 0, output);
    assert.match(output, /^== APP == gRPC Fetched Secret: \{"greeting":"hello"\}$/m);
  });

  it("sets APP_ID, the ports, the endpoints and DAPR_API_TOKEN; ports not given are free ones", async () => {
    const script = `console.log([process.env.APP_ID, process.env.DAPR_HTTP_PORT, process.env.DAPR_GRPC_PORT, process.env.DAPR_HTTP_ENDPOINT, process.env.DAPR_GRPC_ENDPOINT, process.env.DAPR_API_TOKEN, process.env.APP_PORT].join(" "))`;
    const { code, output } = await keywardToEnd(
      ["run", "-a", "envy", "-d", resources, "-p", "8088", "--", node, "-e", script],
      { cwd: dir, env: { DAPR_API_TOKEN: "tok-123" } },
    );
    assert.equal(code, 0, output);
    const m = /^== APP == envy (\d+) (\d+) http:\/\/127\.0\.0\.1:(\d+) http:\/\/127\.0\.0\.1:(\d+) tok-123 8088$/m.exec(
      output,
    );
    assert.ok(m, output);
    assert.equal(m[1], m[3]);
    assert.equal(m[2], m[4]);
    assert.notEqual(m[1], "3500");
    assert.match(output, /daprd flags accepted and ignored \(no meaning for a secrets sidecar\): --app-port/);
  });
});
