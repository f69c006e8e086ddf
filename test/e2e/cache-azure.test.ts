/** End to end: the answer cache of Azure Key Vault components against the Key Vault test server (throttled is failing). */
import { describeCacheCases } from "../helpers/cache-cases.js";
import { startAzureTestEnvironment, type AzureTestEnvironment } from "../servers/azure/index.js";

const CLIENT_SECRET = `cache-client-secret-${process.pid}-canary`;
let env: AzureTestEnvironment;
describeCacheCases("Azure Key Vault", {
  async start() {
    env = await startAzureTestEnvironment();
    const app = env.directory.addApp({ secret: CLIENT_SECRET });
    env.vault.grant(app, ["get", "list"]);
    return {
      type: "secretstores.azure.keyvault",
      metadata: {
        vaultName: "cache-kv",
        vaultUrl: env.vault.url,
        azureTenantId: env.directory.tenantId,
        azureClientId: app.clientId,
        azureClientSecret: CLIENT_SECRET,
      },
      env: { NODE_EXTRA_CA_CERTS: env.tls.caPath, AZURE_AUTHORITY_HOST: env.authority.url },
    };
  },
  put: (name, value) => void env.vault.setSecret(name, value),
  field: (name) => name,
  // Authenticated only: the SDK first sends each new request without a token to learn the challenge.
  reads: (name) =>
    env.vault.requests.filter((r) => r.authenticated && r.method === "GET" && r.path.startsWith(`/secrets/${name}/`))
      .length,
  fail: async () => env.vault.throttle(1_000_000, "0"),
  recover: async () => env.vault.throttle(0),
  close: () => env.close(),
});
