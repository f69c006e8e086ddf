/** @module `secretstores.local.file`: secrets from a JSON file, read at init and again whenever it changes. */
import { basename, dirname, resolve } from "node:path";
import { watchFolders, type FolderWatch } from "../../watch.js";
import { booleanOption, metadataValue } from "../metadata.js";
import { CONTROL_CHARACTER, invalidName } from "../names.js";
import { DEFAULT_MAX_FILE_BYTES, parseByteSize } from "../shared/files.js";
import {
  MULTIPLE_KEY_VALUES_PER_SECRET,
  SecretStoreError,
  type BulkSecretData,
  type ComponentMetadata,
  type GetSecretRequest,
  type SecretData,
  type SecretStore,
  type SecretStoreDefinition,
  type SecretStoreFeature,
  type StoreContext,
} from "../types.js";
import { flatten, isObject, readSecretsFile, type Json } from "./secrets-json.js";

/** A secret is either a single string (name/value) or, with multiValued, a flattened map. */
type Entry = string | SecretData;

interface Settings {
  path: string;
  separator: string;
  multiValued: boolean;
  maxBytes: number;
}

export class FileSecretStore implements SecretStore {
  private secrets = new Map<string, Entry>();
  /** The bulk answer, built once per read of the file: building 10,000 fresh maps per call made bulk time
   * grow faster than linearly (V8 gives up on shared shapes; measured by npm run bench). Frozen, so no
   * caller can change what the next one sees. */
  private bulk: BulkSecretData | undefined;
  private multiValued = false;
  private watcher: FolderWatch | undefined;
  private readonly stop = new AbortController();

  async init(metadata: ComponentMetadata, ctx?: StoreContext): Promise<void> {
    const file = metadataValue(metadata, "secretsFile");
    if (!file) throw new SecretStoreError("invalid_config", "missing local secrets file in metadata");
    const rawMax = metadataValue(metadata, "maxFileSize");
    const maxBytes = rawMax === undefined || rawMax.trim() === "" ? DEFAULT_MAX_FILE_BYTES : parseByteSize(rawMax);
    if (maxBytes === undefined)
      throw new SecretStoreError(
        "invalid_config",
        `metadata maxFileSize: ${JSON.stringify(rawMax)} is not a size (bytes, or with Ki, Mi or Gi)`,
      );
    const settings: Settings = {
      path: resolve(file),
      separator: metadataValue(metadata, "nestedSeparator") || ":",
      multiValued: booleanOption(metadata, "multiValued", false),
      maxBytes,
    };
    this.multiValued = settings.multiValued;
    this.secrets = await load(settings, ctx?.signal);
    this.bulk = undefined;
    if (ctx) this.watch(settings, ctx);
  }

  /** A changed file replaces the secrets only once it has been read and parsed in full; a broken one keeps the old. */
  private watch(s: Settings, ctx: StoreContext): void {
    const name = basename(s.path);
    this.watcher = watchFolders({
      dirs: [dirname(s.path)],
      accept: (_dir, entry) => entry === name || entry.startsWith(".."),
      onChange: async () => {
        try {
          this.secrets = await load(s, this.stop.signal);
          this.bulk = undefined;
          ctx.log.info(`secrets file ${s.path} changed: secrets reloaded`);
        } catch (err) {
          if (this.stop.signal.aborted) return;
          ctx.log.warn(`${(err as Error).message}; the previous secrets stay`);
        }
      },
      onError: (message) => ctx.log.warn(`${message}; changes to ${s.path} are not picked up`),
    });
  }

  /** Keys are read exactly as written in the file; control characters (NUL included) are refused outright. */
  secretName(name: string): string {
    if (CONTROL_CHARACTER.test(name)) throw invalidName(name, "control characters are not allowed");
    return name;
  }

  async getSecret(req: GetSecretRequest): Promise<SecretData> {
    const entry = this.secrets.get(this.secretName(req.name));
    if (entry === undefined) throw new SecretStoreError("not_found", `secret ${req.name} not found`);
    return typeof entry === "string" ? { [req.name]: entry } : { ...entry };
  }

  async bulkGetSecret(): Promise<BulkSecretData> {
    if (!this.bulk) {
      const out: BulkSecretData = {};
      for (const [name, entry] of this.secrets)
        out[name] = Object.freeze(typeof entry === "string" ? { [name]: entry } : { ...entry });
      this.bulk = Object.freeze(out);
    }
    return this.bulk;
  }

  features(): readonly SecretStoreFeature[] {
    return this.multiValued ? [MULTIPLE_KEY_VALUES_PER_SECRET] : [];
  }

  async close(): Promise<void> {
    this.stop.abort();
    this.watcher?.close();
    this.secrets = new Map();
    this.bulk = undefined;
  }
}

async function load(s: Settings, signal: AbortSignal | undefined): Promise<Map<string, Entry>> {
  const doc = await readSecretsFile(s.path, s.maxBytes, signal);
  const secrets = new Map<string, Entry>();
  if (!s.multiValued) {
    for (const [k, v] of Object.entries(flatten(doc, s.separator))) secrets.set(k, v);
    return secrets;
  }
  for (const [name, value] of Object.entries(doc) as [string, Json][]) {
    if (typeof value === "string") secrets.set(name, value);
    else if (isObject(value)) secrets.set(name, flatten(value, s.separator));
    // Numbers, booleans, arrays and null at the top level are not secrets in multi-valued mode (daprd drops them).
  }
  return secrets;
}

export const definition: SecretStoreDefinition = {
  type: "local.file",
  version: "v1",
  create: () => new FileSecretStore(),
};
