/**
 * When the HTTP server metrics are taken: as daprd's middleware does, once the handler is done with a request.
 * An answered request is counted exactly once, whichever route answered it; a subscription only when it ends.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseExposition, scrape, type ExpositionSample } from "../helpers/metrics.js";
import { componentYaml, startSidecar, type Sidecar } from "../helpers/sidecar.js";
import { sseSubscribe } from "../helpers/subscribe-clients.js";

const CANARY = `recording-canary-${process.pid}-${Date.now()}`;
let sidecar: Sidecar;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), "keyward-http-metrics-"));
  const secretsFile = join(dir, "secrets.json");
  writeFileSync(secretsFile, JSON.stringify({ db: CANARY }));
  sidecar = await startSidecar({
    components: { "files.yaml": componentYaml("files", "secretstores.local.file", { secretsFile }) },
  });
});

after(async () => {
  await sidecar?.stop();
  assert.ok(!sidecar.output().includes(CANARY), "a secret value reached the log");
});

/** A GET sent with its path exactly as written (fetch would resolve dot segments first). */
function rawGet(path: string): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    request({ host: "127.0.0.1", port: sidecar.httpPort, path }, (res) => {
      let bytes = 0;
      res.on("data", (c: Buffer) => (bytes += c.length));
      res.on("end", () => resolve({ status: res.statusCode!, bytes }));
    })
      .on("error", reject)
      .end();
  });
}

async function samples() {
  return parseExposition(await scrape(sidecar.metricsPort!));
}

/** The sum of the samples of `name` whose labels include `labels`. */
function total(all: ExpositionSample[], name: string, labels: Record<string, string> = {}): number {
  return all
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0);
}

describe("HTTP server metrics recording", () => {
  it("counts every answered request once, with its status and body size, on either route", async () => {
    const paths = [
      "/v1.0/secrets/files/db",
      "/v1.0/secrets/files/db?metadata.a=b",
      "/v1.0/secrets/%66iles/db",
      "/v1.0/secrets/files/./db",
      "/v1.0/secrets/./files/db",
      "/v1.0//secrets/files/db",
      "/v1.0/secrets/files/..",
      "/v1.0/secrets/files/missing",
      "/v1.0/secrets/nope/db",
      "/v1.0/secrets/files/bulk",
      "/v1.0/healthz",
    ];
    const answers = [];
    for (const p of paths) answers.push(await rawGet(p));
    // The plain route and the general one answer a read alike.
    assert.deepEqual(
      answers.slice(0, 6).map((a) => a.status),
      [200, 200, 200, 200, 200, 200],
    );
    // A ".." key is resolved as Go's path.Clean does, to a path with no route: never read as a secret named "..".
    const noRoute = await rawGet("/v1.0/secrets");
    assert.notEqual(noRoute.status, 200);
    assert.equal(answers[6]!.status, noRoute.status);
    const all = await samples();
    const requests = paths.length + 1;
    assert.equal(total(all, "dapr_http_server_request_count"), requests, "one count per request");
    assert.equal(total(all, "dapr_http_server_response_count"), requests);
    const sent = answers.reduce((n, a) => n + a.bytes, noRoute.bytes);
    assert.equal(total(all, "dapr_http_server_response_bytes_sum"), sent, "the body sizes of the answers");
    const reads = { method: "GET", path: "/v1.0/secrets/files", status: "200" };
    // Four of the six reads, and the bulk read; the two with a "." segment are labelled "unmatched".
    assert.equal(total(all, "dapr_http_server_request_count", reads), 5, "the reads labelled by their store");
    assert.equal(total(all, "dapr_http_server_request_count", { path: "unmatched", status: "200" }), 2);
  });

  it("records a subscription when it ends, not when it starts", async () => {
    const label = { method: "GET", path: "/v1.0-alpha1/secrets/files/subscribe", status: "200" };
    const count = (all: ExpositionSample[]) => total(all, "dapr_http_server_request_count", label);
    const sub = await sseSubscribe(`${sidecar.httpUrl}/v1.0-alpha1/secrets/files/db/subscribe`);
    assert.equal(sub.status, 200);
    await sub.waitFor((e) => e.event === "update", 5000);
    assert.equal(count(await samples()), 0, "not counted while the stream is open");
    sub.close();
    let seen = 0;
    for (let i = 0; i < 100 && seen === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      seen = count(await samples());
    }
    assert.equal(seen, 1, "counted once when it closed");
  });
});
