/** @module A Component manifest as daprd reads it: field names case-insensitive, values as text. */
import { parseDuration } from "../stores/metadata.js";
import { field, type YamlDocument } from "./yaml-documents.js";

export const DAPR_API_VERSION = "dapr.io/v1alpha1";
const DEFAULT_INIT_TIMEOUT_MS = 5000;

export interface SecretKeyRef {
  name: string;
  key: string;
}

export interface MetadataItem {
  name: string;
  value: string;
  secretKeyRef?: SecretKeyRef;
  envRef?: string;
  line: number;
}

export interface ComponentManifest {
  name: string;
  namespace: string;
  type: string;
  version: string;
  initTimeoutMs: number;
  ignoreErrors: boolean;
  metadata: MetadataItem[];
  /** `auth.secretStore`: the store that resolves this component's secretKeyRefs. */
  authSecretStore: string;
  scopes: string[];
  file: string;
  line: number;
}

/** A problem in one manifest, located in its file. */
export class ManifestError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    message: string,
  ) {
    super(`${file}:${line}: ${message}`);
  }
}

/** `DynamicValue.String()`: strings as-is, null as empty, anything else as its compact JSON text. */
export function dynamicValueText(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  return goJson(v);
}

/**
 * The JSON text Go's encoding/json writes for a decoded YAML value (daprd turns manifests into JSON that
 * way): object keys sorted, integers exact (they arrive as bigint), `<`, `>`, `&`, U+2028/9 escaped.
 */
function goJson(v: unknown): string {
  return rawJson(v).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function rawJson(v: unknown): string {
  if (v === undefined || v === null) return "null";
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number") return Number.isFinite(v) ? JSON.stringify(v) : "null";
  if (typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) return `[${v.map(rawJson).join(",")}]`;
  const rec = v as Record<string, unknown>;
  const keys = Object.keys(rec).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${keys.map((k) => `${JSON.stringify(k)}:${rawJson(rec[k])}`).join(",")}}`;
}

/** `time.ParseDuration`: a unit is required except for "0", so a bare "10" is invalid (→ the 5 s default). */
function goDurationMs(s: string): number | undefined {
  if (/^[+-]?\d+$/.test(s.trim()) && Number(s) !== 0) return undefined;
  return parseDuration(s.replace(/^\+/, ""));
}

function text(v: unknown): string {
  return typeof v === "string" ? v : dynamicValueText(v);
}

/** Kubernetes object names: a path segment, so no "/" or "%", and not "." or "..". */
function nameProblem(name: string): string | undefined {
  if (name === "") return "metadata.name is required";
  if (name === "." || name === ".." || /[/%]/.test(name))
    return `metadata.name ${JSON.stringify(name)} is not a valid name`;
  return undefined;
}

export function isComponentDocument(value: unknown): boolean {
  return field(value, "apiVersion") === DAPR_API_VERSION && field(value, "kind") === "Component";
}

/** Reads a Component document; throws ManifestError naming the file and line of the problem. */
export function readComponent(doc: YamlDocument, file: string): ComponentManifest {
  const v = doc.value;
  const meta = field(v, "metadata");
  const spec = field(v, "spec");
  const name = text(field(meta, "name"));
  const problem = nameProblem(name);
  if (problem) throw new ManifestError(file, doc.lineOf(["metadata"]), problem);
  const fail = (path: (string | number)[], msg: string) =>
    new ManifestError(file, doc.lineOf(path), `component ${JSON.stringify(name)}: ${msg}`);
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) throw fail([], "spec must be a mapping");
  const type = text(field(spec, "type"));
  if (type === "") throw fail(["spec"], "spec.type is required");

  const rawItems = field(spec, "metadata") ?? [];
  if (!Array.isArray(rawItems)) throw fail(["spec", "metadata"], "spec.metadata must be a list of name/value items");
  const metadata = rawItems.map((item: unknown, i): MetadataItem => {
    const path = ["spec", "metadata", i];
    if (typeof item !== "object" || item === null || Array.isArray(item))
      throw fail(path, `spec.metadata[${i}] must be a mapping with a name`);
    const itemName = text(field(item, "name"));
    if (itemName === "") throw fail(path, `spec.metadata[${i}] has no name`);
    const out: MetadataItem = { name: itemName, value: dynamicValueText(field(item, "value")), line: doc.lineOf(path) };
    const ref = field(item, "secretKeyRef");
    if (ref !== undefined && ref !== null) {
      const refName = text(field(ref, "name"));
      if (refName !== "") out.secretKeyRef = { name: refName, key: text(field(ref, "key")) };
    }
    const envRef = field(item, "envRef");
    if (envRef !== undefined && envRef !== null && text(envRef) !== "") out.envRef = text(envRef);
    return out;
  });

  const rawTimeout = field(spec, "initTimeout");
  const parsed = rawTimeout === undefined || rawTimeout === null ? undefined : goDurationMs(text(rawTimeout));
  const rawScopes = field(v, "scopes") ?? [];
  if (!Array.isArray(rawScopes)) throw fail(["scopes"], "scopes must be a list of app ids");
  const ignore = field(spec, "ignoreErrors");
  return {
    name,
    namespace: text(field(meta, "namespace")),
    type,
    version: text(field(spec, "version")),
    initTimeoutMs: parsed !== undefined && parsed > 0 ? parsed : DEFAULT_INIT_TIMEOUT_MS,
    ignoreErrors: ignore === true || (typeof ignore === "string" && ignore.toLowerCase() === "true"),
    metadata,
    authSecretStore: text(field(field(v, "auth"), "secretStore")),
    scopes: rawScopes.map((s: unknown) => text(s)),
    file,
    line: doc.line,
  };
}
