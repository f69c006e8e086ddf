/** @module `secretstores.gcp.secretmanager` metadata: daprd's service-account fields and aliases, plus Keyward's extensions. */
import { createPrivateKey } from "node:crypto";
import { declaredValue } from "../declared-metadata.js";
import { booleanOption } from "../metadata.js";
import { SecretStoreError, type ComponentMetadata } from "../types.js";
import { GCP_METADATA } from "./metadata-fields.js";

export const DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token";
export const CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform";

/** A service-account key, in the JSON field names Google's key files (and daprd's JSON tags) use. */
export interface ServiceAccountKey {
  type: string;
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id?: string;
  auth_uri?: string;
  token_uri?: string;
  auth_provider_x509_cert_url?: string;
  client_x509_cert_url?: string;
}

export interface GcpConfig {
  projectId: string;
  /** Absent: Application Default Credentials. */
  serviceAccount?: ServiceAccountKey;
  /** Absent: secretmanager.googleapis.com:443. */
  endpoint?: { host: string; port: number };
  shortBulkNames: boolean;
  /** false: exchange a signed assertion at `token_uri` for an OAuth access token instead. */
  selfSignedJwt: boolean;
}

/** Each key-file field → its declared metadata name (daprd's mapstructure name; the snake_case one is its alias). */
const FIELDS: Record<Exclude<keyof ServiceAccountKey, "project_id">, string> = {
  type: "type",
  private_key_id: "privateKeyID",
  private_key: "privateKey",
  client_email: "clientEmail",
  client_id: "clientID",
  auth_uri: "authURI",
  token_uri: "tokenURI",
  auth_provider_x509_cert_url: "authProviderX509CertURL",
  client_x509_cert_url: "clientX509CertURL",
};

function setupError(kind: "invalid_config" | "bad_credentials", message: string): SecretStoreError {
  return new SecretStoreError(kind, `failed to setup secretmanager client: ${message}`);
}

/** `host:port`, `host` (port 443) or `https://host[:port]`; IPv6 hosts in brackets. */
export function parseEndpoint(raw: string): { host: string; port: number } {
  let text = raw.trim();
  if (/^http:\/\//i.test(text))
    throw setupError(
      "invalid_config",
      `endpoint ${JSON.stringify(raw)}: plaintext http is not supported; use host:port (TLS)`,
    );
  text = text.replace(/^https:\/\//i, "").replace(/\/+$/, "");
  const m = /^(\[[^\]]+\]|[^:/\s]+)(?::(\d{1,5}))?$/.exec(text);
  const port = m?.[2] === undefined ? 443 : Number(m[2]);
  if (!m || port < 1 || port > 65535)
    throw setupError("invalid_config", `endpoint ${JSON.stringify(raw)} is not host:port`);
  return { host: (m[1] as string).replace(/^\[(.*)\]$/, "$1"), port };
}

export function parseConfig(md: ComponentMetadata): GcpConfig {
  const projectId = declaredValue(md, GCP_METADATA, "projectID");
  if (!projectId) throw new SecretStoreError("invalid_config", "missing property `project_id` in metadata");

  const get = (field: keyof typeof FIELDS): string => declaredValue(md, GCP_METADATA, FIELDS[field]) ?? "";
  let serviceAccount: ServiceAccountKey | undefined;
  // daprd switches to the key on private_key_id; a key given without its id is used too rather than
  // silently falling back to the ambient credentials.
  if (get("private_key_id") !== "" || get("private_key") !== "") {
    for (const field of ["type", "private_key", "client_email"] as const) {
      if (get(field) === "") throw setupError("invalid_config", `missing property \`${field}\` in metadata`);
    }
    if (get("type") !== "service_account") {
      throw setupError(
        "invalid_config",
        `credential type ${JSON.stringify(get("type"))} is not supported; use "service_account" or Application Default Credentials`,
      );
    }
    // Keys pasted from a JSON file into YAML often keep their "\n" escapes.
    const privateKey = get("private_key").replace(/\\n/g, "\n");
    try {
      createPrivateKey(privateKey);
    } catch {
      throw setupError("bad_credentials", "property `private_key` is not a PEM private key");
    }
    serviceAccount = {
      type: "service_account",
      project_id: projectId,
      private_key_id: get("private_key_id"),
      private_key: privateKey,
      client_email: get("client_email"),
    };
    for (const field of [
      "client_id",
      "auth_uri",
      "token_uri",
      "auth_provider_x509_cert_url",
      "client_x509_cert_url",
    ] as const) {
      const v = get(field);
      if (v !== "") serviceAccount[field] = v;
    }
  }

  const endpointRaw = declaredValue(md, GCP_METADATA, "endpoint");
  const selfSignedJwt = booleanOption(md, "selfSignedJWT", true);
  if (!selfSignedJwt && !serviceAccount) {
    throw setupError(
      "invalid_config",
      'selfSignedJWT: "false" needs a service-account key in the metadata (it exchanges that key at token_uri)',
    );
  }
  const config: GcpConfig = { projectId, shortBulkNames: booleanOption(md, "shortBulkNames", false), selfSignedJwt };
  if (serviceAccount) config.serviceAccount = serviceAccount;
  if (endpointRaw !== undefined && endpointRaw.trim() !== "") config.endpoint = parseEndpoint(endpointRaw);
  return config;
}
