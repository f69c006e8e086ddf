/** @module `secretstores.local.env`: secrets from the sidecar's own environment, as it was at start. */
import { readDeclared } from "../declared-metadata.js";
import { invalidName } from "../names.js";
import type {
  BulkSecretData,
  ComponentMetadata,
  GetSecretRequest,
  MetadataField,
  SecretData,
  SecretStore,
  SecretStoreDefinition,
  StoreContext,
} from "../types.js";

/** The sidecar's own credentials are never served, whatever the prefix. */
function isAllowed(name: string): boolean {
  const upper = name.toUpperCase();
  return upper !== "APP_API_TOKEN" && !upper.startsWith("DAPR_");
}

export class EnvSecretStore implements SecretStore {
  private prefix = "";
  private env: StoreContext["env"] = {};
  private log: StoreContext["log"] | undefined;

  async init(metadata: ComponentMetadata, ctx: StoreContext): Promise<void> {
    this.prefix = readDeclared(metadata, METADATA).text("prefix") ?? "";
    this.env = ctx.env;
    this.log = ctx.log;
  }

  /** Only the exact variable: Node cuts a name at NUL, and `=` ends a name in the environment block. */
  secretName(name: string): string {
    if (name === "") throw invalidName(name, "an environment variable name is never empty");
    if (name.includes("\0") || name.includes("="))
      throw invalidName(name, "an environment variable name holds no NUL and no '='");
    return name;
  }

  async getSecret(req: GetSecretRequest): Promise<SecretData> {
    return this.peekSecret(this.secretName(req.name));
  }

  // A missing variable is an empty value, not an error: daprd answers 200 with "".
  peekSecret(name: string): SecretData {
    const full = this.prefix + name;
    let value = "";
    if (isAllowed(full)) value = this.env[full] ?? "";
    else this.log?.warn("access to environment variable refused", { secret: name });
    return { [name]: value };
  }

  async bulkGetSecret(): Promise<BulkSecretData> {
    const out: BulkSecretData = {};
    const p = this.prefix;
    for (const [name, value] of Object.entries(this.env)) {
      if (value === undefined) continue;
      if (p !== "" && (name.length <= p.length || !name.startsWith(p))) continue;
      if (!isAllowed(name)) continue;
      const short = name.slice(p.length);
      out[short] = { [short]: value };
    }
    return out;
  }

  features(): readonly [] {
    return [];
  }

  async close(): Promise<void> {}
}

const METADATA: readonly MetadataField[] = [
  {
    name: "prefix",
    type: "string",
    description: "prepended to the requested name; bulk answers only names that start with it, with it removed",
  },
];

export const definition: SecretStoreDefinition = {
  type: "local.env",
  version: "v1",
  metadata: METADATA,
  create: () => new EnvSecretStore(),
};
