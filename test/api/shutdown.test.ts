/** Graceful shutdown (docs/compatibility.md §8.2): in-flight requests finish, then exit 0 in the grace period. */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { describe, it } from "node:test";
import { get } from "../helpers/raw-http.js";
import { startApiSidecar } from "./fixtures.js";

function openRequest(port: number) {
  // A request whose body is still arriving is in flight inside the sidecar.
  const sock = connect(port, "127.0.0.1");
  let data = "";
  sock.on("data", (d) => (data += d.toString()));
  const closed = new Promise<void>((r) => sock.on("close", () => r()));
  sock.write(
    "GET /v1.0/secrets/filestore/secret HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{",
  );
  return { finish: () => sock.write("}"), response: () => data, closed, sock };
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  describe(`shutdown on ${signal}`, () => {
    it("stops gracefully when the signal comes the moment the ready line is read", async () => {
      // The ready line reaches a pipe synchronously, before the rest of start-up has run: a supervisor
      // that stops the sidecar right then must still get a graceful stop, not Node's default exit.
      for (let i = 0; i < 3; i++) {
        const s = await startApiSidecar();
        assert.equal(await s.stop(signal), 0);
        assert.match(s.output(), /Keyward stopped/);
      }
    });

    it("lets an in-flight request finish, refuses new connections, exits 0", async () => {
      const s = await startApiSidecar();
      const req = openRequest(s.httpPort);
      await wait(150);
      s.process.kill(signal);
      await wait(300);
      await assert.rejects(fetch(`${s.httpUrl}/v1.0/healthz`), "no new connections while shutting down");
      req.finish();
      await req.closed;
      assert.match(req.response(), /^HTTP\/1\.1 200 OK/);
      assert.match(req.response(), /\{"secret":"v1"\}/);
      assert.equal(await s.exited, 0);
      assert.match(s.output(), /Keyward stopped/);
    });
  });
}

describe("shutdown endpoints and the grace period", () => {
  it("POST /v1.0/shutdown answers 204, then the sidecar exits 0", async () => {
    const s = await startApiSidecar();
    const r = await get(s.httpPort, "/v1.0/shutdown", "", "POST");
    assert.equal(r.status, 204);
    assert.equal(await s.exited, 0);
  });

  it("a request that never completes does not hold the exit past the grace period", async () => {
    const s = await startApiSidecar({ args: ["--dapr-graceful-shutdown-seconds", "1"] });
    const req = openRequest(s.httpPort);
    await wait(100);
    const started = Date.now();
    s.process.kill("SIGTERM");
    assert.equal(await s.exited, 0);
    const took = Date.now() - started;
    assert.ok(took < 4000, `exited after ${took} ms`);
    req.sock.destroy();
  });
});
