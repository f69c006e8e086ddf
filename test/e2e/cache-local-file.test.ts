/**
 * End to end: the answer cache of a local.file component. Reads within the TTL are cache hits; a change
 * to the file (seen by the store's watch) drops the cached answers at once, subscribed or not.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { grpcSecretsClient, httpSecretsClient, type SecretsClient } from "../helpers/clients.js";
import { parseExposition, sampleValue, scrape } from "../helpers/metrics.js";
import { componentYaml, startSidecar, type Sidecar } from "../helpers/sidecar.js";

const CANARY = `cache-file-${process.pid}-${Date.now()}`;
const dir = mkdtempSync(join(tmpdir(), "keyward-cache-file-"));
const file = join(dir, "secrets.json");
let sidecar: Sidecar;
let clients: SecretsClient[];
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function hits(): Promise<number> {
  const samples = parseExposition(await scrape(sidecar.metricsPort!));
  return sampleValue(samples, "keyward_secret_cache_hits_total", { app_id: "test-app", component: "files" }) ?? 0;
}

before(async () => {
  writeFileSync(file, JSON.stringify({ db: `one-${CANARY}` }));
  sidecar = await startSidecar({
    components: {
      "files.yaml": componentYaml("files", "secretstores.local.file", { secretsFile: file, cacheTTL: "1h" }),
    },
  });
  clients = [httpSecretsClient(sidecar.httpUrl), grpcSecretsClient(sidecar.grpcAddress)];
});

after(async () => {
  for (const c of clients ?? []) c.close();
  const output = sidecar?.output() ?? "";
  if (sidecar) assert.equal(await sidecar.stop(), 0, output);
  assert.ok(!output.includes(CANARY), "a secret value reached the log");
  rmSync(dir, { recursive: true, force: true });
});

describe("cache of a local.file component", () => {
  it("reads within the TTL are answered from the cache over both transports", async () => {
    const before = await hits();
    for (let i = 0; i < 6; i++) {
      const o = await clients[i % 2]!.get("files", "db");
      assert.ok(o.ok, JSON.stringify(o));
      assert.deepEqual(o.data, { db: `one-${CANARY}` }, JSON.stringify(o));
    }
    assert.ok((await hits()) - before >= 5, "the reads were not cache hits");
  });

  it("a change to the file drops the cached answer without a subscriber or refresh_cache", async () => {
    writeFileSync(file, JSON.stringify({ db: `two-${CANARY}` }));
    const end = Date.now() + 5000;
    for (;;) {
      const o = await clients[0]!.get("files", "db");
      if (o.ok && JSON.stringify(o.data) === JSON.stringify({ db: `two-${CANARY}` })) break;
      assert.ok(Date.now() < end, `still the cached answer after 5 s: ${JSON.stringify(o)}`);
      await pause(50);
    }
    const o = await clients[1]!.get("files", "db");
    assert.ok(o.ok, JSON.stringify(o));
    assert.deepEqual(o.data, { db: `two-${CANARY}` });
  });
});
