/** DAPR_API_TOKEN on both transports (docs/compatibility.md §1.6, §2.3). */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Metadata, status } from "@grpc/grpc-js";
import { daprGrpcClient, unary, type DaprGrpcClient } from "../helpers/clients.js";
import { get } from "../helpers/raw-http.js";
import type { Sidecar } from "../helpers/sidecar.js";
import { startApiSidecar } from "./fixtures.js";

const TOKEN = `tok-${process.pid}-canary`;
let s: Sidecar;
let c: DaprGrpcClient;
before(async () => {
  s = await startApiSidecar({ env: { DAPR_API_TOKEN: TOKEN } });
  c = daprGrpcClient(s.grpcAddress);
});
after(async () => {
  c.close();
  await s.stop();
  assert.ok(!s.output().includes(TOKEN), "the token never appears in the sidecar's output");
});

describe("API token over HTTP", () => {
  it("a request without the token is a plain-text 401", async () => {
    const r = await get(s.httpPort, "/v1.0/secrets/filestore/secret");
    assert.equal(r.status, 401);
    assert.equal(r.headers["content-type"], "text/plain; charset=utf-8");
    assert.equal(r.body, "invalid api token\n");
  });

  it("a wrong token is refused, the right one accepted (header name in any case)", async () => {
    assert.equal(
      (await get(s.httpPort, "/v1.0/secrets/filestore/secret", `dapr-api-token: ${TOKEN}x\r\n`)).status,
      401,
    );
    assert.equal((await get(s.httpPort, "/v1.0/secrets/filestore/secret", `DAPR-API-TOKEN: ${TOKEN}\r\n`)).status, 200);
    assert.equal((await get(s.httpPort, "/v1.0/secrets/filestore/secret", "dapr-api-token: \r\n")).status, 401);
  });

  it("only GET healthz and healthz/outbound are exempt", async () => {
    assert.equal((await get(s.httpPort, "/v1.0/healthz")).status, 204);
    assert.equal((await get(s.httpPort, "/v1.0/healthz/outbound")).status, 204);
    assert.equal((await get(s.httpPort, "/v1.0/healthz", "", "POST")).status, 401);
    assert.equal((await get(s.httpPort, "/v1.0/metadata")).status, 401);
    assert.equal((await get(s.httpPort, "/v1.0/nothing/here")).status, 401);
    assert.equal((await get(s.httpPort, "/v1.0/shutdown", "", "POST")).status, 401);
    assert.equal((await get(s.httpPort, "/v1.0/metadata", `dapr-api-token: ${TOKEN}\r\n`)).status, 200);
  });
});

function detailOf(md: Metadata): string {
  const bin = md.get("grpc-status-details-bin")[0];
  return Buffer.isBuffer(bin) ? bin.toString("latin1") : "";
}

describe("API token over gRPC", () => {
  it("no token: Unauthenticated, 'Unauthorized', ErrorInfo detail", async () => {
    const { err } = await unary(c, "GetSecret", { store_name: "filestore", key: "secret" });
    assert.equal(err!.code, status.UNAUTHENTICATED);
    assert.equal(err!.details, "Unauthorized");
    const d = detailOf(err!.metadata);
    assert.match(d, /type\.googleapis\.com\/google\.rpc\.ErrorInfo/);
    assert.match(d, /missing api token in request metadata/);
    assert.match(d, /dapr\.io/);
    assert.match(d, /http\.code.*401/s);
  });

  it("a wrong token: api token mismatch; the right one works", async () => {
    const bad = new Metadata();
    bad.set("dapr-api-token", "nope");
    const { err } = await unary(c, "GetSecret", { store_name: "filestore", key: "secret" }, bad);
    assert.equal(err!.code, status.UNAUTHENTICATED);
    assert.match(detailOf(err!.metadata), /authentication error: api token mismatch/);
    const good = new Metadata();
    good.set("dapr-api-token", TOKEN);
    const ok = await unary(c, "GetSecret", { store_name: "filestore", key: "secret" }, good);
    assert.deepEqual(ok.res!.data, { secret: "v1" });
  });

  it("every method needs it, unimplemented ones and GetMetadata included", async () => {
    assert.equal((await unary(c, "GetMetadata", {})).err!.code, status.UNAUTHENTICATED);
    assert.equal((await unary(c, "GetState", {})).err!.code, status.UNAUTHENTICATED);
  });
});
