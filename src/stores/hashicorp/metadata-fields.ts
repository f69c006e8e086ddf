/** @module The component metadata `secretstores.hashicorp.vault` reads: daprd's fields plus Keyward's. */
import type { MetadataField } from "../types.js";

export const VAULT_METADATA: readonly MetadataField[] = [
  {
    name: "vaultAddr",
    type: "string",
    default: "https://127.0.0.1:8200",
    description: "Vault's address (`http://` or `https://`, optionally with a path prefix).",
  },
  {
    name: "vaultToken",
    type: "string",
    sensitive: true,
    description:
      "A static token. With the token method, set exactly one of `vaultToken` and `vaultTokenMountPath`. If neither is set, init fails with `token mount path and token not set`; if both are, with `token mount path and token both set`.",
  },
  {
    name: "vaultTokenMountPath",
    aliases: ["vaultTokenPath"],
    type: "file",
    description:
      "A file that holds the token, whitespace-trimmed. Keyward re-reads it when it changes (see below). A missing file fails init with `couldn't read vault token from mount path <path>: ENOENT`.",
  },
  {
    name: "vaultKVPrefix",
    type: "string",
    default: "dapr",
    description: "The folder under the mount that holds this store's secrets. An empty value means `dapr`.",
  },
  {
    name: "vaultKVUsePrefix",
    type: "bool",
    default: "true",
    description:
      "`false` forces the prefix to empty, so the store reads from the mount's root and bulk walks the whole mount.",
  },
  {
    name: "enginePath",
    type: "string",
    default: "secret",
    description: "The KV mount path (nested mounts like `team/kv` work).",
  },
  {
    name: "vaultValueType",
    type: "string",
    default: "map",
    description:
      "`map` or `text` (see above). Any other value fails init with `invalid value type X, accepted values are map or text`.",
  },
  {
    name: "skipVerify",
    type: "string",
    default: "false",
    description:
      "Only the string `true` turns TLS verification off. When it is off, no CA is loaded, so a broken CA setting does not matter (as in daprd).",
  },
  {
    name: "caPem",
    type: "string",
    description: "CA certificate(s) in PEM, inline. Takes precedence over `caPath` and `caCert`.",
  },
  {
    name: "caPath",
    type: "file",
    description: "A folder of PEM CA files. Every file below it is loaded, and each must be a valid PEM.",
  },
  { name: "caCert", type: "file", description: "A PEM CA file." },
  {
    name: "tlsServerName",
    type: "string",
    description: "The name sent in SNI and checked against Vault's certificate.",
  },
  {
    name: "kvVersion",
    aliases: ["vaultKVVersion"],
    type: "string",
    default: "auto",
    description:
      "**Keyward extension.** `auto`, `1` or `2`. `auto` asks Vault once which version the mount is (`GET /v1/sys/internal/ui/mounts/<enginePath>`, as Vault's CLI does). If Vault cannot say (404/400, e.g. an old Vault), the store assumes KV v2, as daprd does. If the token may read secrets but not the mount's metadata, the store also uses v2 and asks again later, so set `kvVersion: 1` explicitly for a KV v1 mount in that case.",
  },
  {
    name: "namespace",
    aliases: ["vaultNamespace"],
    type: "string",
    description:
      "**Keyward extension.** Vault Enterprise / HCP namespace (e.g. `admin/team-a`), sent as `X-Vault-Namespace` on every request, including logins.",
  },
  {
    name: "authNamespace",
    aliases: ["vaultAuthNamespace"],
    type: "string",
    description:
      "**Keyward extension.** The namespace to log in at and where the token's own endpoints (`lookup-self`, `renew-self`) are called (default: the `namespace` value), for when the auth method is mounted in a parent namespace (e.g. `admin`) but the secrets live in a child one (`admin/team-a`). `root` means the root namespace.",
  },
  {
    name: "authMethod",
    aliases: ["vaultAuthMethod"],
    type: "string",
    description:
      "**Keyward extension.** `token`, `approle` or `kubernetes`. When it is not set: `approle` if `roleId`/`roleIdFile` is set, `kubernetes` if `kubernetesRole` is set, otherwise `token`. Mixing the fields of two methods is an init error.",
  },
  {
    name: "authMountPath",
    aliases: ["vaultAuthMountPath", "appRoleMountPath", "kubernetesMountPath"],
    type: "string",
    description: "**Keyward extension.** Where the auth method is mounted (default `approle` / `kubernetes`).",
  },
  {
    name: "roleId",
    aliases: ["appRoleRoleId", "vaultRoleId"],
    type: "string",
    sensitive: true,
    description: "**Keyward extension.** AppRole role ID.",
  },
  {
    name: "roleIdFile",
    aliases: ["roleIdPath", "appRoleRoleIdFile"],
    type: "file",
    description: "**Keyward extension.** A file that holds the role ID.",
  },
  {
    name: "secretId",
    aliases: ["appRoleSecretId", "vaultSecretId"],
    type: "string",
    sensitive: true,
    description:
      "**Keyward extension.** AppRole secret ID. Usually given with `secretKeyRef`. Leave it out for roles with `bind_secret_id=false`.",
  },
  {
    name: "secretIdFile",
    aliases: ["secretIdPath", "appRoleSecretIdFile"],
    type: "file",
    description:
      "**Keyward extension.** A file that holds the secret ID. It is read at every login, so a rotated secret ID is picked up.",
  },
  {
    name: "kubernetesRole",
    aliases: ["vaultKubernetesRole"],
    type: "string",
    description: "**Keyward extension.** The Vault role for Kubernetes login.",
  },
  {
    name: "kubernetesTokenPath",
    aliases: ["kubernetesJwtPath", "serviceAccountTokenPath"],
    type: "file",
    default: "/var/run/secrets/kubernetes.io/serviceaccount/token",
    description:
      "**Keyward extension.** The service-account JWT. It is read at every login, so projected tokens that rotate work.",
  },
  {
    name: "requestTimeout",
    type: "duration",
    default: "30s",
    description: "**Keyward extension.** Limit for each HTTP request to Vault (a Go duration, or whole seconds).",
  },
  {
    name: "tokenFileCheckInterval",
    type: "duration",
    default: "1s",
    description:
      "**Keyward extension.** How often, at most, the token file's modification time is checked before a request.",
  },
];
