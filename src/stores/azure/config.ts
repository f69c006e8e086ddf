/** @module Reading an azure.keyvault component's metadata the way daprd does (names, aliases, clouds), plus Keyward's extensions. */
import { isTruthy, metadataValue } from "../metadata.js";
import { SecretStoreError, type ComponentMetadata, type StoreEnv } from "../types.js";

/** An Azure cloud: where its vaults live and where its tokens come from. */
export interface AzureCloud {
  /** daprd's canonical name, e.g. AzurePublicCloud. */
  name: string;
  /** DNS suffix of vaults, without the leading dot. */
  vaultSuffix: string;
  /** Microsoft Entra ID authority host. */
  authorityHost: string;
}

const PUBLIC: AzureCloud = {
  name: "AzurePublicCloud",
  vaultSuffix: "vault.azure.net",
  authorityHost: "https://login.microsoftonline.com",
};
const CHINA: AzureCloud = {
  name: "AzureChinaCloud",
  vaultSuffix: "vault.azure.cn",
  authorityHost: "https://login.chinacloudapi.cn",
};
const USGOV: AzureCloud = {
  name: "AzureUSGovernmentCloud",
  vaultSuffix: "vault.usgovcloudapi.net",
  authorityHost: "https://login.microsoftonline.us",
};

/** Names daprd accepts for `azureEnvironment` (case-insensitive). */
const CLOUD_NAMES: Record<string, AzureCloud> = {
  "": PUBLIC,
  azurepubliccloud: PUBLIC,
  azurepublic: PUBLIC,
  azurechinacloud: CHINA,
  azurechina: CHINA,
  azureusgovernmentcloud: USGOV,
  azureusgovernment: USGOV,
};

const KNOWN_CLOUDS = [PUBLIC, CHINA, USGOV];

/** Authority hosts of the real clouds: instance discovery works for them, and only for them. */
export const KNOWN_AUTHORITY_HOSTS = new Set(KNOWN_CLOUDS.map((c) => new URL(c.authorityHost).host));

/** daprd's metadata aliases (components-contrib `common/authentication/azure`), first match wins. */
export const AZURE_KEYS = {
  tenantId: ["azureTenantId", "spnTenantId", "tenantId"],
  clientId: ["azureClientId", "spnClientId", "clientId"],
  clientSecret: ["azureClientSecret", "spnClientSecret", "clientSecret"],
  certificate: ["azureCertificate", "spnCertificate"],
  certificateFile: ["azureCertificateFile", "spnCertificateFile"],
  certificatePassword: ["azureCertificatePassword", "spnCertificatePassword"],
  environment: ["azureEnvironment", "azureCloud"],
  authMethods: ["azureAuthMethods", "azureADAuthMethods", "entraIDAuthMethods", "microsoftEntraIDAuthMethods"],
  disableInstanceDiscovery: ["azureDisableInstanceDiscovery"],
} as const;

/** Auth methods in daprd's default order. */
export type AuthMethod = "clientcredentials" | "clientcertificate" | "workloadidentity" | "managedidentity" | "cli";
export const DEFAULT_AUTH_ORDER: readonly AuthMethod[] = [
  "clientcredentials",
  "clientcertificate",
  "workloadidentity",
  "managedidentity",
  "cli",
];

const METHOD_NAMES: Record<string, AuthMethod | "none"> = {
  clientcredentials: "clientcredentials",
  creds: "clientcredentials",
  clientcertificate: "clientcertificate",
  cert: "clientcertificate",
  workloadidentity: "workloadidentity",
  wi: "workloadidentity",
  managedidentity: "managedidentity",
  mi: "managedidentity",
  commandlineinterface: "cli",
  cli: "cli",
  none: "none",
};

export interface AuthSettings {
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  /** Inline certificate: PEM text, or a base64 PKCS#12 (PFX) bundle. */
  certificate?: string;
  certificateFile?: string;
  certificatePassword?: string;
  /** Methods to try, in order. */
  methods: readonly AuthMethod[];
  /** True when the component listed the methods (so a missing prerequisite is an error, not a skip). */
  explicitMethods: boolean;
  authorityHost: string;
  disableInstanceDiscovery: boolean;
}

export interface KeyVaultConfig {
  /** `https://host[:port]`, no trailing slash. */
  vaultUrl: string;
  /** A short name for messages: the vault name, or the URL's host. */
  vaultLabel: string;
  cloud: AzureCloud;
  /** True when the vault host is not under the cloud's vault suffix (private endpoint, test server). */
  customVaultHost: boolean;
  auth: AuthSettings;
}

function invalid(message: string): SecretStoreError {
  return new SecretStoreError("invalid_config", message);
}

function nonEmpty(md: ComponentMetadata, names: readonly string[]): string | undefined {
  const v = metadataValue(md, ...names);
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

/** Resolves the cloud from `azureEnvironment`/`azureCloud`, as daprd does. */
export function cloudFromName(name: string | undefined): AzureCloud {
  const cloud = CLOUD_NAMES[(name ?? "").trim().toLowerCase()];
  if (!cloud) {
    throw invalid(`invalid Azure cloud: ${name} (use AzurePublicCloud, AzureChinaCloud or AzureUSGovernmentCloud)`);
  }
  return cloud;
}

/** `azureAuthMethods` → methods in order; daprd's names, case-insensitive, comma-separated. */
export function parseAuthMethods(raw: string | undefined): { methods: readonly AuthMethod[]; explicit: boolean } {
  if (raw === undefined || raw.trim() === "") return { methods: DEFAULT_AUTH_ORDER, explicit: false };
  const methods: AuthMethod[] = [];
  for (const part of raw.split(",")) {
    const name = part.trim().toLowerCase();
    const method = METHOD_NAMES[name];
    if (!method) {
      throw invalid(
        `invalid Azure auth method: ${part.trim()} (use ClientCredentials, ClientCertificate, WorkloadIdentity, ManagedIdentity, CommandLineInterface or None)`,
      );
    }
    if (method === "none") throw invalid("all Azure auth methods have been disabled with auth method 'None'");
    if (!methods.includes(method)) methods.push(method);
  }
  return { methods, explicit: true };
}

/**
 * Where tokens come from: Keyward's `azureAuthorityHost`, else `AZURE_AUTHORITY_HOST` (set by the AKS workload
 * identity webhook), else the cloud's authority.
 */
function authorityHost(md: ComponentMetadata, cloud: AzureCloud, env: StoreEnv): string {
  const raw =
    nonEmpty(md, ["azureAuthorityHost"]) ?? (env.AZURE_AUTHORITY_HOST?.trim() || undefined) ?? cloud.authorityHost;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid(`Azure authority host ${JSON.stringify(raw)} is not a URL`);
  }
  if (url.protocol !== "https:") throw invalid(`Azure authority host ${raw} must use https`);
  return `${url.protocol}//${url.host}`;
}

export function parseKeyVaultConfig(md: ComponentMetadata, env: StoreEnv): KeyVaultConfig {
  let envName = metadataValue(md, ...AZURE_KEYS.environment);
  let vaultName = nonEmpty(md, ["vaultName"]);
  const vaultUrlRaw = nonEmpty(md, ["vaultUrl"]);

  // daprd 1.3 accepted a vault FQDN as vaultName; the suffix picks the cloud (and wins over azureEnvironment).
  if (vaultName) {
    const bare = vaultName.replace(/^https:\/\//i, "").replace(/\/+$/, "");
    for (const cloud of KNOWN_CLOUDS) {
      const suffix = `.${cloud.vaultSuffix}`;
      if (bare.toLowerCase().endsWith(suffix)) {
        envName = cloud.name;
        vaultName = bare.slice(0, -suffix.length);
        break;
      }
    }
  }
  let url: URL | undefined;
  if (vaultUrlRaw) {
    try {
      url = new URL(vaultUrlRaw);
    } catch {
      throw invalid(`vaultUrl ${JSON.stringify(vaultUrlRaw)} is not a URL`);
    }
    if (url.protocol !== "https:")
      throw invalid(`vaultUrl ${vaultUrlRaw} must use https (Key Vault only accepts tokens over TLS)`);
    if (url.pathname !== "/" && url.pathname !== "")
      throw invalid(`vaultUrl ${vaultUrlRaw} must be the vault's base URL, without a path`);
  }
  const hostCloud = url && KNOWN_CLOUDS.find((c) => url.hostname.toLowerCase().endsWith(`.${c.vaultSuffix}`));
  // A vaultUrl in a known cloud's domain picks that cloud unless azureEnvironment says otherwise.
  const cloud = cloudFromName(envName?.trim() ? envName : hostCloud?.name);

  let vaultUrl: string;
  let vaultLabel: string;
  let customVaultHost = false;
  if (url) {
    vaultUrl = `https://${url.host}`;
    vaultLabel = vaultName ?? url.host;
    customVaultHost = !hostCloud;
  } else {
    if (!vaultName) throw invalid("missing vaultName in metadata (the Azure Key Vault name, e.g. mykeyvault)");
    if (!/^[A-Za-z0-9-]+$/.test(vaultName)) {
      throw invalid(
        `vaultName ${JSON.stringify(vaultName)} is not a Key Vault name (letters, digits and hyphens); use vaultUrl for a full URL`,
      );
    }
    vaultUrl = `https://${vaultName}.${cloud.vaultSuffix}`;
    vaultLabel = vaultName;
  }

  const { methods, explicit } = parseAuthMethods(metadataValue(md, ...AZURE_KEYS.authMethods));
  const host = authorityHost(md, cloud, env);
  const discoveryOff =
    isTruthy(metadataValue(md, ...AZURE_KEYS.disableInstanceDiscovery)) ||
    !KNOWN_AUTHORITY_HOSTS.has(new URL(host).host);
  const auth: AuthSettings = {
    tenantId: nonEmpty(md, AZURE_KEYS.tenantId),
    clientId: nonEmpty(md, AZURE_KEYS.clientId),
    clientSecret: metadataValue(md, ...AZURE_KEYS.clientSecret) || undefined,
    certificate: metadataValue(md, ...AZURE_KEYS.certificate) || undefined,
    certificateFile: nonEmpty(md, AZURE_KEYS.certificateFile),
    certificatePassword: metadataValue(md, ...AZURE_KEYS.certificatePassword) || undefined,
    methods,
    explicitMethods: explicit,
    authorityHost: host,
    disableInstanceDiscovery: discoveryOff,
  };
  return { vaultUrl, vaultLabel, cloud, customVaultHost, auth };
}
