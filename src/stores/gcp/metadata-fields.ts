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
    description:
      "Project whose secrets are read. Missing → init fails with daprd's `` missing property `project_id` in metadata ``.",
  },
  { name: "type", type: "string", description: "Credential type; must be `service_account` when a key is given." },
  {
    name: "privateKeyID",
    aliases: ["private_key_id"],
    type: "string",
    description:
      "Key id. With it (or with `private_key`) the component authenticates with the service-account key below; without both it uses Application Default Credentials.",
  },
  {
    name: "privateKey",
    aliases: ["private_key"],
    type: "string",
    sensitive: true,
    description:
      "The key's PEM text. Literal `\\n` sequences (as copied from the JSON key file into single-quoted or plain YAML) are turned into line breaks. A value that is not a PEM private key fails init with `` failed to setup secretmanager client: property `private_key` is not a PEM private key `` (the key itself is never echoed).",
  },
  { name: "clientEmail", aliases: ["client_email"], type: "string", description: "The service account's e-mail." },
  { name: "clientID", aliases: ["client_id"], type: "string", description: INFORMATIONAL },
  { name: "authURI", aliases: ["auth_uri"], type: "string", description: INFORMATIONAL },
  {
    name: "tokenURI",
    aliases: ["token_uri"],
    type: "string",
    default: "https://oauth2.googleapis.com/token",
    description: 'OAuth token endpoint; used only with `selfSignedJWT: "false"` (below).',
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
      '**Keyward extension.** `"true"`: bulk answers use plain secret names (`db-password`) as outer and inner keys instead of daprd\'s full resource names. A non-boolean value fails init.',
  },
  {
    name: "endpoint",
    type: "string",
    description:
      "**Keyward extension.** Default `secretmanager.googleapis.com:443`. `host:port` (or `https://host:port`, or `host` for port 443; IPv6 in brackets) of the Secret Manager API: a Private Service Connect endpoint, a proxy, or a test server. Always TLS; `http://` is refused at init because no credential can be sent over plaintext gRPC. A private CA is trusted through gRPC's `GRPC_DEFAULT_SSL_ROOTS_FILE_PATH` in the sidecar's environment (gRPC ignores `NODE_EXTRA_CA_CERTS`).",
  },
  {
    name: "selfSignedJWT",
    type: "bool",
    default: "true",
    description:
      "**Keyward extension.** How a service-account key authenticates. `true`: the client library signs a short-lived JWT with the key and sends it as the bearer token, with no token endpoint call (what Google's libraries and daprd do). `false`: Keyward signs a JWT assertion and exchanges it at `token_uri` (OAuth 2.0 JWT-bearer grant, scope `cloud-platform`) for an access token, reused until 5 minutes before it expires. Use it when calls must carry OAuth access tokens, or `token_uri` is a private or proxied token endpoint. Needs a key in the metadata.",
  },
];
