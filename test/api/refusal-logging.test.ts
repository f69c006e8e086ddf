/** With --enable-api-logging every refused call is logged once, with its reason and never the token. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Metadata, status } from "@grpc/grpc-js";
import { daprGrpcClient, unary, type DaprGrpcClient } from "../helpers/clients.js";
import { get, rawRequest } from "../helpers/raw-http.js";
import type { Sidecar } from "../helpers/sidecar.js";
import { startApiSidecar } from "./fixtures.js";

const TOKEN = `refusal-token-${process.pid}-canary`;
let s: Sidecar;
let c: DaprGrpcClient;
before(async () => {
  s = await startApiSidecar({
    env: { DAPR_API_TOKEN: TOKEN },
    args: ["--enable-api-logging", "--max-body-size", "1Ki"],
  });
  c = daprGrpcClient(s.grpcAddress);
});
after(async () => {
  c.close();
  await s.stop();
  assert.ok(!s.output().includes(TOKEN), "the token never appears in the sidecar's output");
});

/** Waits for exactly one log line matching every pattern (lines are written asynchronously). */
async function logged(...patterns: RegExp[]): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const lines = s
      .output()
      .split("\n")
      .filter((l) => patterns.every((p) => p.test(l)));
    if (lines.length === 1) return lines[0]!;
    if (lines.length > 1) throw new Error(`${lines.length} lines match ${patterns.join(" ")}:\n${lines.join("\n")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no log line matches ${patterns.join(" ")}:\n${s.output()}`);
}

const auth = `dapr-api-token: ${TOKEN}\r\n`;

describe("refused HTTP calls are logged with the reason", () => {
  it("401 without a token, 403 by scope, 404 route, 400 body too large", async () => {
    assert.equal((await get(s.httpPort, "/v1.0/secrets/filestore/no-token-here")).status, 401);
    await logged(/msg="HTTP API called"/, /no-token-here/, /code=401/, /reason="invalid api token"/);
    assert.equal((await get(s.httpPort, "/v1.0/secrets/scoped/other", auth)).status, 403);
    await logged(/msg="HTTP API called"/, /scoped\/other/, /code=403/, /reason=ERR_PERMISSION_DENIED/);
    assert.equal((await get(s.httpPort, "/v1.0/nowhere-to-go", auth)).status, 404);
    await logged(/nowhere-to-go/, /code=404/, /reason=ERR_DIRECT_INVOKE/);
    const big = "x".repeat(2048);
    const put = await get(
      s.httpPort,
      "/v1.0/metadata/too-big",
      `${auth}Content-Length: ${big.length}\r\n\r\n${big}`,
      "PUT",
    );
    assert.equal(put.status, 400);
    await logged(/metadata\/too-big/, /code=400/, /reason=ERR_BODY_READ/);
  });

  it("requests the parser refuses (bad request line, huge headers) are logged too", async () => {
    assert.equal((await rawRequest(s.httpPort, "GET /a b c\r\n\r\n")).status, 400);
    await logged(/msg="HTTP API request refused"/, /code=400/, /reason=HPE_/);
    const huge = `GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\n${auth}X-Big: ${"y".repeat(20_000)}\r\n\r\n`;
    assert.equal((await rawRequest(s.httpPort, huge)).status, 431);
    await logged(/msg="HTTP API request refused"/, /code=431/, /reason=HPE_HEADER_OVERFLOW/);
  });
});

describe("refused gRPC calls are logged with the reason", () => {
  const md = (token?: string) => {
    const m = new Metadata();
    if (token !== undefined) m.set("dapr-api-token", token);
    return m;
  };

  it("UNAUTHENTICATED without or with a wrong token", async () => {
    const none = await unary(c, "GetSecret", { store_name: "filestore", key: "grpc-none" }, md());
    assert.equal(none.err?.code, status.UNAUTHENTICATED);
    await logged(/msg="gRPC API called"/, /GetSecret/, /code=UNAUTHENTICATED/, /reason="missing api token/);
    const wrong = await unary(c, "GetBulkSecret", { store_name: "filestore" }, md(`${TOKEN}-wrong`));
    assert.equal(wrong.err?.code, status.UNAUTHENTICATED);
    await logged(/GetBulkSecret/, /code=UNAUTHENTICATED/, /reason="authentication error: api token mismatch"/);
  });

  it("PERMISSION_DENIED, UNIMPLEMENTED and a message over the size limit", async () => {
    const denied = await unary(c, "GetSecret", { store_name: "scoped", key: "grpc-denied" }, md(TOKEN));
    assert.equal(denied.err?.code, status.PERMISSION_DENIED);
    await logged(/GetSecret/, /code=PERMISSION_DENIED/, /reason=.*grpc-denied/);
    const unimpl = await unary(c, "GetState", { store_name: "x", key: "y" }, md(TOKEN));
    assert.equal(unimpl.err?.code, status.UNIMPLEMENTED);
    await logged(/GetState/, /code=UNIMPLEMENTED/, /reason=/);
    const tooBig = await unary(c, "SetMetadata", { key: "k", value: "v".repeat(4096) }, md(TOKEN));
    assert.equal(tooBig.err?.code, status.RESOURCE_EXHAUSTED);
    await logged(/SetMetadata/, /code=CANCELLED/, /reason="ended by the gRPC layer/);
  });
});
