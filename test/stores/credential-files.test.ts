/**
 * Credential, CA and kubeconfig files a store reads itself must be regular files: a FIFO is refused at
 * once with what it is (reading one would block until a writer came, for ever).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { KeyVaultSecretStore } from "../../src/stores/azure/keyvault.js";
import { VaultSecretStore } from "../../src/stores/hashicorp/vault.js";
import { KubernetesSecretStore } from "../../src/stores/kubernetes/kubernetes.js";
import type { ComponentMetadata, SecretStore } from "../../src/stores/types.js";
import { mkfifo } from "../helpers/reload.js";
import { storeContext } from "../helpers/store-context.js";

const dir = mkdtempSync(join(tmpdir(), "keyward-cred-files-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const fifo = mkfifo(join(dir, "credential.fifo"));

async function refuses(store: SecretStore, metadata: ComponentMetadata, message: RegExp): Promise<void> {
  try {
    await assert.rejects(store.init(metadata, storeContext("s", 60_000)), message);
  } finally {
    await store.close();
  }
}

describe("files stores read themselves", () => {
  it("Vault token file and CA file", async () => {
    await refuses(
      new VaultSecretStore(),
      { vaultAddr: "http://127.0.0.1:9", vaultTokenMountPath: fifo },
      /credential\.fifo: a FIFO, not a regular file/,
    );
    await refuses(
      new VaultSecretStore(),
      { vaultAddr: "https://127.0.0.1:9", vaultToken: "t", caCert: fifo },
      /couldn't read CA file from disk: \S+credential\.fifo: a FIFO, not a regular file/,
    );
  });

  it("kubeconfig file", async () => {
    await refuses(
      new KubernetesSecretStore(),
      { kubeconfigPath: fifo },
      /cannot load kubeconfig \S+credential\.fifo .*: a FIFO, not a regular file/,
    );
  });

  it("Azure certificate file", async () => {
    await refuses(
      new KeyVaultSecretStore(),
      { vaultName: "v", azureTenantId: "t", azureClientId: "c", azureCertificateFile: fifo },
      /cannot read azureCertificateFile \S+credential\.fifo: a FIFO, not a regular file/,
    );
  });
});
