/**
 * The official Dapr JavaScript SDK against a started sidecar: the newest (gRPC over ConnectRPC,
 * application/grpc+proto) and 3.6 (gRPC over grpc-js), each over HTTP and gRPC, with and without a token.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import * as current from "@dapr/dapr";
import * as legacy from "dapr-sdk-legacy";
import { REPO_ROOT } from "../helpers/paths.js";
import { componentYaml, startSidecar, type Sidecar } from "../helpers/sidecar.js";
import { startApiSidecar } from "./fixtures.js";

const run = promisify(execFile);
type Sdk = typeof current;
const SDKS: [string, Sdk][] = [
  ["@dapr/dapr (newest)", current],
  ["@dapr/dapr 3.6", legacy as unknown as Sdk],
];
const TOKEN = "sdk-token-for-tests";

function client(sdk: Sdk, proto: "HTTP" | "GRPC", s: Sidecar, token?: string) {
  return new sdk.DaprClient({
    daprHost: "127.0.0.1",
    daprPort: String(proto === "HTTP" ? s.httpPort : s.grpcPort),
    communicationProtocol: sdk.CommunicationProtocolEnum[proto],
    daprApiToken: token,
    logger: { level: sdk.LogLevel.Error },
  });
}

for (const withToken of [false, true]) {
  describe(`Dapr SDK compatibility${withToken ? " with DAPR_API_TOKEN" : ""}`, () => {
    let s: Sidecar;
    before(async () => {
      s = await startApiSidecar({
        env: {
          TEST_SECRET_1: "secret_val_1",
          TEST_SECRET_2: "secret_val_2",
          ...(withToken ? { DAPR_API_TOKEN: TOKEN } : {}),
        },
        components: { "envvars.yaml": componentYaml("secret-envvars", "secretstores.local.env") },
      });
    });
    after(async () => {
      await s.stop();
    });

    for (const [sdkName, sdk] of SDKS) {
      for (const proto of ["HTTP", "GRPC"] as const) {
        it(`${sdkName} over ${proto}: get, bulk and errors`, async () => {
          const c = client(sdk, proto, s, withToken ? TOKEN : undefined);
          try {
            // The SDK's own e2e expectations (docs/compatibility.md §10.2).
            assert.equal(
              JSON.stringify(await c.secret.get("secret-envvars", "TEST_SECRET_1")),
              '{"TEST_SECRET_1":"secret_val_1"}',
            );
            assert.deepEqual(await c.secret.get("filestore", "secret"), { secret: "v1" });
            const bulk = (await c.secret.getBulk("secret-envvars")) as Record<string, unknown> | undefined;
            if (!(sdkName.includes("3.6") && proto === "GRPC")) {
              // 3.6 over gRPC returns google-protobuf's private map storage, which newer google-protobuf renamed.
              assert.ok(bulk && Object.keys(bulk).length > 1);
              const files = (await c.secret.getBulk("multistore")) as Record<string, unknown>;
              assert.deepEqual(files.parent, { child1: "12345", "child2:child3": "67890" });
            }
            await assert.rejects(
              c.secret.get("filestore", "nope"),
              /failed getting secret with key nope from secret store filestore: secret nope not found/,
            );
            await assert.rejects(
              c.secret.get("scoped", "other"),
              /access denied by policy to get \W+other\W+ from \W+scoped/,
            );
            await assert.rejects(c.secret.get("nostore", "x"), /failed finding secret store with key nostore/);
          } finally {
            await c.stop().catch(() => undefined);
          }
        });
      }
    }
  });
}

describe("the Dapr quickstart, run as its README runs it", () => {
  let s: Sidecar;
  const app = join(REPO_ROOT, "examples/quickstart/order-processor");
  before(async () => {
    // From order-processor/, so the component's relative secrets.json resolves as in the quickstart.
    s = await startSidecar({
      cwd: app,
      appId: "order-processor",
      resourcesArgs: ["--resources-path", "../components"],
    });
  });
  after(async () => {
    await s.stop();
  });

  it("the JavaScript SDK app prints the secret", async () => {
    const { stdout } = await run(process.execPath, ["index.js"], {
      cwd: app,
      env: { ...process.env, DAPR_HTTP_PORT: String(s.httpPort) },
      timeout: 30_000,
    });
    assert.match(stdout, /^Fetched Secret: \{"secret":"YourPasskeyHere"\}$/m);
  });

  it("the plain HTTP app prints the secret", async () => {
    const { stdout } = await run(process.execPath, ["http.js"], {
      cwd: app,
      env: { ...process.env, DAPR_HTTP_PORT: String(s.httpPort) },
      timeout: 30_000,
    });
    assert.match(stdout, /Fetched Secret: +\{ secret: 'YourPasskeyHere' \}/);
  });

  it("curl gets the secret", async () => {
    const { stdout } = await run("curl", ["-s", `http://localhost:${s.httpPort}/v1.0/secrets/localsecretstore/secret`]);
    assert.equal(stdout, '{"secret":"YourPasskeyHere"}\n');
  });
});
