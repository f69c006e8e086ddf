/**
 * End to end: the answer cache of Vault components against the Vault test server (a stopped server is the
 * failing backend), and cache metadata that is not valid.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { describeCacheCases } from "../helpers/cache-cases.js";
import { componentYaml, runKeyward } from "../helpers/sidecar.js";
import { startVaultServer, type VaultTestServer } from "../servers/vault/server.js";

let vault: VaultTestServer;
describeCacheCases("Vault", {
  async start() {
    vault = await startVaultServer({ rootToken: `hvs.cache-${process.pid}-${Date.now()}` });
    return { type: "secretstores.hashicorp.vault", metadata: { vaultAddr: vault.url, vaultToken: vault.rootToken } };
  },
  put: (name, value) => void vault.put(`dapr/${name}`, { v: value }),
  field: () => "v",
  reads: (name) => vault.requests.filter((r) => r.path === `/v1/secret/data/dapr/${name}`).length,
  fail: () => vault.stop(),
  recover: () => vault.start(),
  close: () => vault.close(),
});

describe("cache metadata", () => {
  it("a cacheTTL that is not a duration stops start-up with a message naming it", async () => {
    const { code, output } = await runKeyward({
      components: { "bad.yaml": componentYaml("bad", "secretstores.local.env", { cacheTTL: "forever" }) },
    });
    assert.notEqual(code, 0);
    assert.match(output, /component bad.*metadata cacheTTL: \\?"forever\\?" is not a duration/);
  });
});
