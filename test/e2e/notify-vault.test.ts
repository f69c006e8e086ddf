/** End to end: change notifications of a Vault component (KV v2), polled through the secret's metadata version. */
import { describeNotifyCases } from "../helpers/notify-cases.js";
import { startVaultServer, type VaultTestServer } from "../servers/vault/server.js";

let vault: VaultTestServer;
describeNotifyCases("Vault", {
  async start() {
    vault = await startVaultServer({ rootToken: `hvs.notify-${process.pid}-${Date.now()}` });
    return { type: "secretstores.hashicorp.vault", metadata: { vaultAddr: vault.url, vaultToken: vault.rootToken } };
  },
  put: (name, value) => void vault.put(`dapr/${name}`, { v: value }),
  field: () => "v",
  calls: (name) => vault.requests.filter((r) => r.path.endsWith(`/dapr/${name}`)).length,
  // One poll interval (250 ms in the test) plus a read.
  delayMs: 1000,
  close: () => vault.close(),
});
