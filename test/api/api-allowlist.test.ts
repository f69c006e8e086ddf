/** Configuration `spec.api` allow and deny lists (docs/compatibility.md §4.5), per protocol. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { daprGrpcClient, unary } from "../helpers/clients.js";
import { get } from "../helpers/raw-http.js";
import { componentYaml, startSidecar, type Sidecar } from "../helpers/sidecar.js";
import { writeJson } from "./fixtures.js";

const config = (api: string) =>
  `apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: c\nspec:\n  api:\n${api}`;
const components = { "s.yaml": componentYaml("s", "secretstores.local.file", { secretsFile: writeJson({ k: "v" }) }) };

describe("an HTTP allow-list without secrets", () => {
  let s: Sidecar;
  before(async () => {
    s = await startSidecar({
      components,
      config: config("    allowed:\n    - name: metadata\n      version: v1.0\n      protocol: http\n"),
    });
  });
  after(async () => {
    await s.stop();
  });

  it("takes the HTTP secrets routes away (404 fallback); healthz and listed APIs stay", async () => {
    const r = await get(s.httpPort, "/v1.0/secrets/s/k");
    assert.equal(r.status, 404);
    assert.match(r.body, /ERR_DIRECT_INVOKE/);
    assert.equal((await get(s.httpPort, "/v1.0/metadata")).status, 200);
    assert.equal((await get(s.httpPort, "/v1.0/healthz")).status, 204);
  });

  it("leaves gRPC open", async () => {
    const c = daprGrpcClient(s.grpcAddress);
    const { res } = await unary(c, "GetSecret", { store_name: "s", key: "k" });
    assert.deepEqual(res!.data, { k: "v" });
    c.close();
  });
});

describe("a gRPC deny-list with secrets", () => {
  let s: Sidecar;
  before(async () => {
    s = await startSidecar({
      components,
      config: config("    denied:\n    - name: secrets\n      version: v1\n      protocol: grpc\n"),
    });
  });
  after(async () => {
    await s.stop();
  });

  it("answers UNIMPLEMENTED 'Not Implemented' on gRPC and keeps HTTP", async () => {
    const c = daprGrpcClient(s.grpcAddress);
    const { err } = await unary(c, "GetSecret", { store_name: "s", key: "k" });
    assert.equal(err!.code, status.UNIMPLEMENTED);
    assert.equal(err!.details, "Not Implemented");
    assert.match(String(err!.metadata.get("grpc-status-details-bin")[0]), /requested endpoint is not available/);
    assert.equal((await unary(c, "GetMetadata", {})).err, undefined);
    c.close();
    assert.equal((await get(s.httpPort, "/v1.0/secrets/s/k")).status, 200);
  });
});
