/** @module The component metadata `secretstores.azure.keyvault` reads: daprd's names and aliases, plus Keyward's. */
import type { MetadataField } from "../types.js";
import { AZURE_KEYS } from "./config.js";

const aliases = (names: readonly string[]) => names.slice(1);

export const KEYVAULT_METADATA: readonly MetadataField[] = [
  {
    name: "vaultName",
    type: "string",
    description:
      "Required unless `vaultUrl` is set. The vault's name, e.g. `mykeyvault` → `https://mykeyvault.vault.azure.net`. A full host name as older daprd releases accepted (`mykeyvault.vault.azure.cn`, with or without `https://`) also works, and its suffix selects the cloud (overriding `azureEnvironment`).",
  },
  {
    name: AZURE_KEYS.environment[0],
    aliases: aliases(AZURE_KEYS.environment),
    type: "string",
    default: "AzurePublicCloud",
    description:
      "The Azure cloud: `AzurePublicCloud`/`AzurePublic`, `AzureChinaCloud`/`AzureChina`, `AzureUSGovernmentCloud`/`AzureUSGovernment` (any case). It sets the vault DNS suffix (`vault.azure.net`, `vault.azure.cn`, `vault.usgovcloudapi.net`) and the Microsoft Entra authority (`login.microsoftonline.com`, `login.chinacloudapi.cn`, `login.microsoftonline.us`). Anything else fails init with `invalid Azure cloud: <value>`.",
  },
  {
    name: AZURE_KEYS.tenantId[0],
    aliases: aliases(AZURE_KEYS.tenantId),
    type: "string",
    description:
      "Directory (tenant) id, for client secret and certificate (and workload identity, instead of `AZURE_TENANT_ID`).",
  },
  {
    name: AZURE_KEYS.clientId[0],
    aliases: aliases(AZURE_KEYS.clientId),
    type: "string",
    description:
      "Application (client) id for client secret and certificate; for managed identity, the client id of a **user-assigned** identity (absent → the system-assigned identity); for workload identity, overrides `AZURE_CLIENT_ID`.",
  },
  {
    name: AZURE_KEYS.clientSecret[0],
    aliases: aliases(AZURE_KEYS.clientSecret),
    type: "string",
    sensitive: true,
    description: "Client secret of the app registration.",
  },
  {
    name: AZURE_KEYS.certificate[0],
    aliases: aliases(AZURE_KEYS.certificate),
    type: "string",
    sensitive: true,
    description:
      "Inline client certificate: PEM text holding the certificate and its private key (PKCS#8, PKCS#1 or encrypted PKCS#8), or a base64-encoded PKCS#12 (PFX) bundle. PEM squeezed onto one line with literal `\\n` sequences is accepted.",
  },
  {
    name: AZURE_KEYS.certificateFile[0],
    aliases: aliases(AZURE_KEYS.certificateFile),
    type: "file",
    description:
      "Path to the client certificate: PEM (certificate + key) or PKCS#12/PFX (binary or base64). Wins over `azureCertificate`.",
  },
  {
    name: AZURE_KEYS.certificatePassword[0],
    aliases: aliases(AZURE_KEYS.certificatePassword),
    type: "string",
    sensitive: true,
    description: "Password of the PFX bundle or of an encrypted PEM key.",
  },
  {
    name: AZURE_KEYS.authMethods[0],
    aliases: aliases(AZURE_KEYS.authMethods),
    type: "string",
    description:
      "Default: all, in the order below. Comma-separated methods to try, in order (case-insensitive): `ClientCredentials`/`creds`, `ClientCertificate`/`cert`, `WorkloadIdentity`/`wi`, `ManagedIdentity`/`mi`, `CommandLineInterface`/`cli`. `None` fails init (`all Azure auth methods have been disabled with auth method 'None'`); an unknown name fails init (`invalid Azure auth method: <name>`).",
  },
  {
    name: AZURE_KEYS.disableInstanceDiscovery[0],
    type: "string",
    default: "false",
    description:
      "Any truthy value (`true`, `1`, `yes`, ...): Skip Microsoft Entra instance discovery (a call to `login.microsoftonline.com` that validates the authority). Keyward turns it off by itself for an authority host that is not one of the three clouds' (see `azureAuthorityHost`).",
  },
  {
    name: "vaultUrl",
    type: "string",
    description:
      "**Keyward extension.** The vault's full base URL, e.g. `https://mykeyvault.privatelink.vaultcore.azure.net` or `https://kv.internal.example:8443`: for private endpoints, sovereign or air-gapped clouds and tests. Wins over `vaultName` (which then only names the vault in messages). Must be `https://` with no path. A host under a cloud's vault suffix (e.g. `x.vault.azure.cn`) selects that cloud unless `azureEnvironment` is set. When the host is under no cloud's vault suffix, Keyward disables the SDK's check that the bearer challenge's resource matches the vault's domain (you named the host explicitly); keep such URLs pointing at hosts you trust.",
  },
  {
    name: "azureAuthorityHost",
    type: "string",
    description:
      "**Keyward extension.** Default: `AZURE_AUTHORITY_HOST`, else the cloud's authority. Microsoft Entra authority host (`https://...`) for client secret, certificate and workload identity tokens: an Entra-compatible authority on a private network, or a local test authority. A host that is not one of the three clouds' authorities gets instance discovery disabled.",
  },
];
