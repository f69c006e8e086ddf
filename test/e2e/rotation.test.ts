/**
 * End to end: rotation of a component reference. A Vault component reads its token through secretKeyRef
 * from a local.file component; when the file's token changes, the Vault component is re-initialised with
 * it (make-before-break) while a read loop runs, with zero failed reads; a reference that no longer
 * resolves keeps the old instance and says why.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { componentYaml, startSidecar, type Sidecar } from "../helpers/sidecar.js";
import { startVaultServer, type VaultTestServer } from "../servers/vault/server.js";

const CANARY = `rotation-${process.pid}-${Date.now()}`;
const dir = mkdtempSync(join(tmpdir(), "keyward-rotation-"));
const file = join(dir, "creds.json");
let vault: VaultTestServer;
let sidecar: Sidecar;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await pause(20);
  }
}

/** Reads the Vault secret in a loop from a few clients until stopped; counts answers that were not 200. */
function readLoop(url: string, clients = 3) {
  let running = true;
  const failures: string[] = [];
  let reads = 0;
  const loops = Array.from({ length: clients }, async () => {
    while (running) {
      const res = await fetch(url).catch((err: Error) => ({ status: 0, text: async () => err.message }));
      reads++;
      if (res.status !== 200) failures.push(`${res.status} ${await res.text()}`);
    }
  });
  return {
    failures,
    reads: () => reads,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

before(async () => {
  vault = await startVaultServer({ rootToken: `hvs.root-${CANARY}` });
  vault.put("dapr/db", { password: `pw-${CANARY}` });
  const first = vault.token({ policies: ["root"] });
  writeFileSync(file, JSON.stringify({ "vault-token": first.id }));
  sidecar = await startSidecar({
    components: {
      "creds.yaml": componentYaml("creds", "secretstores.local.file", { secretsFile: file }),
      "vault.yaml": `${componentYaml("vault", "secretstores.hashicorp.vault", { vaultAddr: vault.url })}  - name: vaultToken\n    secretKeyRef:\n      name: vault-token\nauth:\n  secretStore: creds\n`,
    },
  });
});

after(async () => {
  const output = sidecar?.output() ?? "";
  if (sidecar) assert.equal(await sidecar.stop(), 0, output);
  assert.ok(!output.includes(`pw-${CANARY}`), "a secret value reached the log");
  assert.ok(!output.includes("hvs."), "a Vault token reached the log");
  await vault?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("rotation of a secretKeyRef", () => {
  it("a new token in the file re-initialises the Vault component; reads never fail", async () => {
    const url = `${sidecar.httpUrl}/v1.0/secrets/vault/db`;
    const loop = readLoop(url);
    try {
      await pause(300);
      const old = vault.requests.at(-1)!.token!;
      const next = vault.token({ policies: ["root"] });
      writeFileSync(file, JSON.stringify({ "vault-token": next.id }));
      await until(() => vault.requests.some((r) => r.token === next.id), 10_000, "a read with the new token");
      // The old token stops working once the new one is in use, as a rotation would have it (reads the
      // replaced instance had already sent may still arrive: they are let finish first).
      await pause(200);
      vault.state.revokeToken(old);
      const mark = vault.requests.length;
      await pause(500);
      const after = vault.requests.slice(mark).filter((r) => r.path.endsWith("/dapr/db"));
      assert.ok(after.length > 0, "no read after the switch");
      assert.ok(
        after.every((r) => r.token === next.id),
        `a read after the switch used another token: ${JSON.stringify(after.map((r) => [r.path, r.token === old]))}`,
      );
    } finally {
      await loop.stop();
    }
    assert.deepEqual(loop.failures, [], `${loop.failures.length} of ${loop.reads()} reads failed`);
    assert.ok(loop.reads() > 20, `only ${loop.reads()} reads`);
    assert.match(sidecar.output(), /a secret this component's metadata references changed: re-initialising it/);
  });

  it("a reference that no longer resolves keeps the old instance serving, and the log says why", async () => {
    const url = `${sidecar.httpUrl}/v1.0/secrets/vault/db`;
    const loop = readLoop(url, 2);
    try {
      writeFileSync(file, JSON.stringify({ "vault-token": "" }));
      await until(
        () => /secretKeyRef|vault-token.*empty|empty value/.test(sidecar.output().split("re-initialising it").at(-1)!),
        10_000,
        "the failed re-init in the log",
      );
      await pause(300);
    } finally {
      await loop.stop();
    }
    assert.deepEqual(loop.failures, [], `${loop.failures.length} of ${loop.reads()} reads failed`);
    assert.match(sidecar.output(), /the previous instance keeps serving/);
  });
});
