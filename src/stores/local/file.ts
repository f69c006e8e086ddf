/** @module `secretstores.local.file`: secrets from a JSON file read once at init. */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { readDeclared } from "../declared-metadata.js";
import { CONTROL_CHARACTER, invalidName } from "../names.js";
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

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

/** A secret is either a single string (name/value) or, with multiValued, a flattened map. */
type Entry = string | SecretData;

export class FileSecretStore implements SecretStore {
  private secrets = new Map<string, Entry>();
  /** The bulk answer, built once: the file never changes after init, and building 10,000 fresh maps per
   * call made bulk time grow faster than linearly (V8 gives up on shared shapes; measured by npm run bench).
   * Frozen, so no caller can change what the next one sees. */
  private bulk: BulkSecretData | undefined;
  private multiValued = false;

  async init(metadata: ComponentMetadata, _ctx?: StoreContext): Promise<void> {
    const md = readDeclared(metadata, METADATA);
    const separator = md.text("nestedSeparator") as string;
    this.multiValued = md.bool("multiValued");
    const doc = await readSecretsFile(resolve(md.text("secretsFile") as string));
    this.secrets = new Map();
    this.bulk = undefined;
    if (!this.multiValued) {
      for (const [k, v] of Object.entries(flatten(doc, separator))) this.secrets.set(k, v);
      return;
    }
    for (const [name, value] of Object.entries(doc)) {
      if (typeof value === "string") this.secrets.set(name, value);
      else if (isObject(value)) this.secrets.set(name, flatten(value, separator));
      // Numbers, booleans, arrays and null at the top level are not secrets in multi-valued mode (daprd drops them).
    }
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
    this.secrets.clear();
    this.bulk = undefined;
  }
}

function isObject(v: Json): v is { [k: string]: Json } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

async function readSecretsFile(path: string): Promise<{ [k: string]: Json }> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SecretStoreError("invalid_config", `cannot read secrets file ${path}: ${code ?? String(err)}`, {
      cause: err,
    });
  }
  let doc: Json;
  try {
    doc = JSON.parse(text) as Json;
  } catch (err) {
    // V8's message quotes the file's text, which is secret: report only where it broke.
    throw new SecretStoreError(
      "invalid_config",
      `secrets file ${path} is not valid JSON${jsonErrorPosition(err, text)}`,
    );
  }
  if (!isObject(doc))
    throw new SecretStoreError("invalid_config", `secrets file ${path} must hold a JSON object at the top level`);
  return doc;
}

function jsonErrorPosition(err: unknown, text: string): string {
  const m = /position (\d+)/.exec(String(err));
  const pos = m ? Number(m[1]) : /end of JSON input/.test(String(err)) ? text.length : undefined;
  if (pos === undefined) return "";
  const before = text.slice(0, pos);
  const line = before.split("\n").length;
  const column = pos - before.lastIndexOf("\n");
  return ` (line ${line}, column ${column})`;
}

/** Flattens nested objects and arrays into `a<sep>b<sep>0` keys; leaves become their JSON text. */
function flatten(root: Json, separator: string): SecretData {
  const out: SecretData = {};
  const visit = (value: Json, path: string): void => {
    if (Array.isArray(value)) {
      value.forEach((v, i) => visit(v, path === "" ? String(i) : `${path}${separator}${i}`));
      return;
    }
    if (isObject(value)) {
      for (const [k, v] of Object.entries(value)) visit(v, path === "" ? k : `${path}${separator}${k}`);
      return;
    }
    if (Object.hasOwn(out, path)) {
      // daprd silently stops loading here; a clear error is kinder than missing secrets.
      throw new SecretStoreError(
        "invalid_config",
        `secrets file has two values for the flattened key ${JSON.stringify(path)}`,
      );
    }
    out[path] = typeof value === "string" ? value : JSON.stringify(value);
  };
  visit(root, "");
  return out;
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
