/** @module The component metadata `secretstores.gcp.secretmanager` reads: daprd's service-account fields, plus Keyward's. */
import type { MetadataField } from "../types.js";

const INFORMATIONAL = "Informational, as in the key file.";

export const GCP_METADATA: readonly MetadataField[] = [
  {
    name: "projectID",
    aliases: ["project_id"],
    type: "string",
    required: true,
    missing: "missing property `project_id` in metadata",
    description: "Project whose secrets are read.",
  },
  { name: "type", type: "string", description: "Credential type; must be `service_account` when a key is given." },
  {
    name: "privateKeyID",
    aliases: ["private_key_id"],
    type: "string",
    description:
      "Key id. With it (or with `private_key`) the component authenticates with the service-account key; without both it uses Application Default Credentials.",
  },
  {
    name: "privateKey",
    aliases: ["private_key"],
    type: "string",
    sensitive: true,
    description:
      "The key's PEM text. Literal `\\n` sequences are turned into line breaks. A value that is not a PEM private key fails init (the key itself is never echoed).",
  },
  { name: "clientEmail", aliases: ["client_email"], type: "string", description: "The service account's e-mail." },
  { name: "clientID", aliases: ["client_id"], type: "string", description: INFORMATIONAL },
  { name: "authURI", aliases: ["auth_uri"], type: "string", description: INFORMATIONAL },
  {
    name: "tokenURI",
    aliases: ["token_uri"],
    type: "string",
    default: "https://oauth2.googleapis.com/token",
    description: 'OAuth token endpoint; used only with `selfSignedJWT: "false"`.',
  },
  {
    name: "authProviderX509CertURL",
    aliases: ["auth_provider_x509_cert_url"],
    type: "string",
    description: INFORMATIONAL,
  },
  { name: "clientX509CertURL", aliases: ["client_x509_cert_url"], type: "string", description: INFORMATIONAL },
  {
    name: "shortBulkNames",
    type: "bool",
    default: "false",
    description:
      '**Keyward extension.** `"true"`: bulk answers use plain secret names (`db-password`) as outer and inner keys instead of daprd\'s full resource names.',
  },
  {
    name: "endpoint",
    type: "string",
    description:
      "**Keyward extension.** `host:port` (or `https://host:port`, or `host` for port 443; IPv6 in brackets) of the Secret Manager API (default `secretmanager.googleapis.com:443`). Always TLS; `http://` is refused at init.",
  },
  {
    name: "selfSignedJWT",
    type: "bool",
    default: "true",
    description:
      "**Keyward extension.** How a service-account key authenticates: `true` signs a short-lived JWT sent as the bearer token; `false` exchanges a signed assertion at `token_uri` for an access token (needs a key in the metadata). See below.",
  },
];
