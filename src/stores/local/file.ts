/** @module `secretstores.local.file`: secrets from a JSON file, read at init and again whenever it changes. */
import { basename, dirname, resolve } from "node:path";
import { watchFolders, type FolderWatch } from "../../watch.js";
import { readDeclared } from "../declared-metadata.js";
import { CONTROL_CHARACTER, invalidName } from "../names.js";
import { parseByteSize } from "../shared/files.js";
import {
  MULTIPLE_KEY_VALUES_PER_SECRET,
  SecretStoreError,
  type BulkSecretData,
  type ComponentMetadata,
  type GetSecretRequest,
  type MetadataField,
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
  /**
   * Each secret's answer, frozen, made on its first read after a read of the file: the same object every time
   * lets the secrets service keep its encoded bytes (fresh copies made each single get build its JSON again).
   */
  private answers = new Map<string, SecretData>();
  private multiValued = false;
  private watcher: FolderWatch | undefined;
  private readonly stop = new AbortController();
  /** Change-notification listeners, told after each reload of the file. */
  private readonly listeners = new Set<(name?: string) => void>();

  async init(metadata: ComponentMetadata, ctx?: StoreContext): Promise<void> {
    const md = readDeclared(metadata, METADATA);
    const rawMax = md.text("maxFileSize") as string;
    const maxBytes = parseByteSize(rawMax);
    if (maxBytes === undefined)
      throw new SecretStoreError(
        "invalid_config",
        `metadata maxFileSize: ${JSON.stringify(rawMax)} is not a size (bytes, or with Ki, Mi or Gi)`,
      );
    const settings: Settings = {
      path: resolve(md.text("secretsFile") as string),
      separator: md.text("nestedSeparator") as string,
      multiValued: md.bool("multiValued"),
      maxBytes,
    };
    this.multiValued = settings.multiValued;
    this.secrets = await load(settings, ctx?.signal);
    this.bulk = undefined;
    this.answers = new Map();
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
          this.answers = new Map();
          ctx.log.info(`secrets file ${s.path} changed: secrets reloaded`);
          for (const listener of [...this.listeners]) listener();
        } catch (err) {
          if (this.stop.signal.aborted) return;
          ctx.log.warn(`${(err as Error).message}; the previous secrets stay`);
        }
      },
      onError: (message) => ctx.log.warn(`${message}; changes to ${s.path} are not picked up`),
    });
  }

  /** Change notifications: the file is already watched; every reload may have changed any secret. */
  watchChanges(onChange: (name?: string) => void): (() => void) | undefined {
    if (!this.watcher) return undefined;
    this.listeners.add(onChange);
    return () => this.listeners.delete(onChange);
  }

  /** Keys are read exactly as written in the file; control characters (NUL included) are refused outright. */
  secretName(name: string): string {
    if (CONTROL_CHARACTER.test(name)) throw invalidName(name, "control characters are not allowed");
    return name;
  }

  async getSecret(req: GetSecretRequest): Promise<SecretData> {
    const data = this.peekSecret(this.secretName(req.name));
    if (data === undefined) throw new SecretStoreError("not_found", `secret ${req.name} not found`);
    return data;
  }

  peekSecret(name: string): SecretData | undefined {
    const known = this.answers.get(name);
    if (known) return known;
    const entry = this.secrets.get(name);
    if (entry === undefined) return undefined;
    const data = Object.freeze(typeof entry === "string" ? { [name]: entry } : { ...entry });
    this.answers.set(name, data);
    return data;
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
    this.listeners.clear();
    this.secrets = new Map();
    this.bulk = undefined;
    this.answers = new Map();
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

const METADATA: readonly MetadataField[] = [
  {
    name: "secretsFile",
    type: "file",
    required: true,
    missing: "missing local secrets file in metadata",
    description: "path to the JSON file, relative to Keyward's working directory",
  },
  {
    name: "nestedSeparator",
    type: "string",
    default: ":",
    description: "joins the keys of nested objects (and array indexes) into secret names",
  },
  {
    name: "multiValued",
    type: "bool",
    default: "false",
    description: "`true`: each top-level key is a secret, and an object value is a multi-key secret",
  },
  {
    name: "maxFileSize",
    type: "string",
    default: "16Mi",
    description: "the largest file read, in bytes or with `Ki`, `Mi`, `Gi` (`512Ki`)",
  },
];

export const definition: SecretStoreDefinition = {
  type: "local.file",
  version: "v1",
  metadata: METADATA,
  // Loading the file is local I/O only: validation loads it exactly as init does, then drops it.
  async validate(metadata, ctx) {
    if (ctx.unknown.size > 0) return [];
    const store = new FileSecretStore();
    try {
      await store.init(metadata);
      return [];
    } catch (err) {
      return [{ field: "secretsFile", message: (err as Error).message }];
    } finally {
      await store.close();
    }
  },
  create: () => new FileSecretStore(),
};
