/** @module Component metadata of `secretstores.hashicorp.vault`: daprd's fields and defaults, plus KV version, namespaces and login methods. */
import { declaredValue } from "../declared-metadata.js";
import { booleanOption, metadataValue, parseDuration } from "../metadata.js";
import { SecretStoreError, type ComponentMetadata } from "../types.js";
import { VAULT_METADATA } from "./metadata-fields.js";

export const DEFAULT_VAULT_ADDR = "https://127.0.0.1:8200";
export const DEFAULT_KUBERNETES_JWT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount/token";

export interface TlsSettings {
  skipVerify: boolean;
  caPem?: string;
  caPath?: string;
  caCert?: string;
  serverName?: string;
}

export type AuthSettings =
  | { method: "token"; token?: string; tokenFile?: string }
  | {
      method: "approle";
      mountPath: string;
      roleId?: string;
      roleIdFile?: string;
      secretId?: string;
      secretIdFile?: string;
    }
  | { method: "kubernetes"; mountPath: string; role: string; jwtFile: string };

export interface VaultConfig {
  /** Base address without a trailing slash. */
  address: string;
  /** KV mount path, without surrounding slashes. */
  enginePath: string;
  /** Folder under the mount that holds the store's secrets ("" for none). */
  prefix: string;
  valueType: "map" | "text";
  kvVersion: "auto" | 1 | 2;
  namespace?: string;
  /** Namespace for login and the token's own endpoints when it differs: undefined = `namespace`, null = root. */
  authNamespace?: string | null;
  tls: TlsSettings;
  auth: AuthSettings;
  requestTimeoutMs: number;
  /** How often, at most, the token file's modification is checked before a request. */
  tokenFileCheckMs: number;
}

const trimSlashes = (s: string) => s.replace(/^\/+|\/+$/g, "");
const nonEmpty = (v: string | undefined) => (v === undefined || v.trim() === "" ? undefined : v);
/** Every field is read by its declared name and aliases, the ones `keyward validate` and the docs know. */
const field = (md: ComponentMetadata, name: string) => declaredValue(md, VAULT_METADATA, name);
const invalid = (msg: string) => new SecretStoreError("invalid_config", msg);

function durationOption(md: ComponentMetadata, name: string, fallbackMs: number): number {
  const raw = nonEmpty(field(md, name));
  if (raw === undefined) return fallbackMs;
  const ms = parseDuration(raw);
  if (ms === undefined || ms <= 0) throw invalid(`metadata ${name}: ${JSON.stringify(raw)} is not a positive duration`);
  return ms;
}

function parseKvVersion(raw: string | undefined): VaultConfig["kvVersion"] {
  const v = (raw ?? "").trim().toLowerCase();
  if (v === "" || v === "auto") return "auto";
  if (v === "1" || v === "v1") return 1;
  if (v === "2" || v === "v2") return 2;
  throw invalid(`vault init error, invalid kvVersion ${raw}, accepted values are auto, 1 or 2`);
}

function parseAuth(md: ComponentMetadata): AuthSettings {
  const token = nonEmpty(field(md, "vaultToken"));
  const tokenFile = nonEmpty(field(md, "vaultTokenMountPath"));
  const roleId = nonEmpty(field(md, "roleId"));
  const roleIdFile = nonEmpty(field(md, "roleIdFile"));
  const secretId = nonEmpty(field(md, "secretId"));
  const secretIdFile = nonEmpty(field(md, "secretIdFile"));
  const kubeRole = nonEmpty(field(md, "kubernetesRole"));
  const jwtFile = nonEmpty(field(md, "kubernetesTokenPath"));
  const explicit = nonEmpty(field(md, "authMethod"))?.trim().toLowerCase();
  const inferred = roleId || roleIdFile ? "approle" : kubeRole ? "kubernetes" : "token";
  const method = explicit ?? inferred;
  const mountPath = nonEmpty(
    metadataValue(
      md,
      "authMountPath",
      "vaultAuthMountPath",
      method === "approle" ? "appRoleMountPath" : "kubernetesMountPath",
    ),
  );

  switch (method) {
    case "token":
      if (roleId || roleIdFile || kubeRole)
        throw invalid(
          "authMethod token does not take roleId or kubernetesRole; set authMethod to approle or kubernetes",
        );
      // daprd's exact messages for these two.
      if (!token && !tokenFile) throw invalid("token mount path and token not set");
      if (token && tokenFile) throw invalid("token mount path and token both set");
      return token ? { method, token } : { method, tokenFile: tokenFile as string };
    case "approle":
      if (token || tokenFile)
        throw invalid(
          "authMethod approle does not take vaultToken or vaultTokenMountPath; set only one way to authenticate",
        );
      if (!roleId && !roleIdFile) throw invalid("AppRole login needs roleId (or roleIdFile)");
      if (roleId && roleIdFile) throw invalid("roleId and roleIdFile both set; set one");
      if (secretId && secretIdFile) throw invalid("secretId and secretIdFile both set; set one");
      return { method, mountPath: trimSlashes(mountPath ?? "approle"), roleId, roleIdFile, secretId, secretIdFile };
    case "kubernetes":
      if (token || tokenFile)
        throw invalid(
          "authMethod kubernetes does not take vaultToken or vaultTokenMountPath; set only one way to authenticate",
        );
      if (!kubeRole) throw invalid("Kubernetes login needs kubernetesRole");
      return {
        method,
        mountPath: trimSlashes(mountPath ?? "kubernetes"),
        role: kubeRole,
        jwtFile: jwtFile ?? DEFAULT_KUBERNETES_JWT_PATH,
      };
    default:
      throw invalid(
        `vault init error, invalid authMethod ${explicit}, accepted values are token, approle or kubernetes`,
      );
  }
}

export function parseVaultConfig(md: ComponentMetadata): VaultConfig {
  const address = (nonEmpty(field(md, "vaultAddr")) ?? DEFAULT_VAULT_ADDR).trim().replace(/\/+$/, "");
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw invalid(`vaultAddr ${JSON.stringify(address)} is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw invalid(`vaultAddr ${JSON.stringify(address)} must start with http:// or https://`);

  const valueTypeRaw = nonEmpty(field(md, "vaultValueType"));
  const valueType = (valueTypeRaw ?? "map").trim().toLowerCase();
  if (valueType !== "map" && valueType !== "text") {
    throw invalid(`vault init error, invalid value type ${valueTypeRaw}, accepted values are map or text`);
  }

  const usePrefix = booleanOption(md, "vaultKVUsePrefix", true);
  const prefix = usePrefix ? trimSlashes(nonEmpty(field(md, "vaultKVPrefix")) ?? "dapr") : "";
  const namespace = nonEmpty(field(md, "namespace"));
  const authNamespace = nonEmpty(field(md, "authNamespace"))?.trim();

  return {
    address,
    enginePath: trimSlashes(nonEmpty(field(md, "enginePath")) ?? "secret") || "secret",
    prefix,
    valueType,
    kvVersion: parseKvVersion(field(md, "kvVersion")),
    namespace: namespace === undefined ? undefined : trimSlashes(namespace.trim()),
    authNamespace:
      authNamespace === undefined
        ? undefined
        : trimSlashes(authNamespace) === "" || authNamespace.toLowerCase() === "root"
          ? null
          : trimSlashes(authNamespace),
    tls: {
      // daprd turns verification off only for the string "true".
      skipVerify: (field(md, "skipVerify") ?? "").trim().toLowerCase() === "true",
      caPem: nonEmpty(field(md, "caPem")),
      caPath: nonEmpty(field(md, "caPath")),
      caCert: nonEmpty(field(md, "caCert")),
      serverName: nonEmpty(field(md, "tlsServerName")),
    },
    auth: parseAuth(md),
    requestTimeoutMs: durationOption(md, "requestTimeout", 30_000),
    tokenFileCheckMs: durationOption(md, "tokenFileCheckInterval", 1_000),
  };
}
