/** End to end: change notifications of an Azure Key Vault component, polled through the secret's version. */
import { describeNotifyCases } from "../helpers/notify-cases.js";
import { startAzureTestEnvironment, type AzureTestEnvironment } from "../servers/azure/index.js";

const CLIENT_SECRET = `notify-client-secret-${process.pid}-canary`;
let env: AzureTestEnvironment;
describeNotifyCases("Azure Key Vault", {
  async start() {
    env = await startAzureTestEnvironment();
    const app = env.directory.addApp({ secret: CLIENT_SECRET });
    env.vault.grant(app, ["get", "list"]);
    return {
      type: "secretstores.azure.keyvault",
      metadata: {
        vaultName: "notify-kv",
        vaultUrl: env.vault.url,
        azureTenantId: env.directory.tenantId,
        azureClientId: app.clientId,
        azureClientSecret: CLIENT_SECRET,
      },
      env: { NODE_EXTRA_CA_CERTS: env.tls.caPath, AZURE_AUTHORITY_HOST: env.authority.url },
    };
  },
  put: (name, value) => void env.vault.setSecret(name, value),
  remove: (name) => env.vault.deleteSecret(name),
  field: (name) => name,
  // Authenticated only: the SDK first sends each new request without a token to learn the challenge.
  calls: (name) =>
    env.vault.requests.filter((r) => r.authenticated && r.method === "GET" && r.path.startsWith(`/secrets/${name}/`))
      .length,
  delayMs: 1000,
  close: () => env.close(),
});
