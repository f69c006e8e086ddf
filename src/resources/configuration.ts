/** @module `--config` Configuration files: secret scopes and API allow/deny lists (docs/compatibility.md §4). */
import { fileReadReason, readRegularTextFile } from "../stores/shared/files.js";
import { didYouMean } from "../core/nearest.js";
import { parseTracing, TracingConfigError, type TracingSettings } from "../tracing/settings.js";
import { expandEnv } from "./expand-env.js";
import type { ResourceText } from "./load.js";
import { parseYamlDocument, splitDocuments } from "./yaml-documents.js";

export interface SecretScope {
  storeName: string;
  defaultAccess: "allow" | "deny";
  allowedSecrets: ReadonlySet<string>;
  deniedSecrets: ReadonlySet<string>;
  /** `file:line` of the scope, for messages about it. */
  where?: string;
}

export interface ApiRule {
  name: string;
  version: string;
  protocol: string;
}

export interface RuntimeConfiguration {
  scopes: ReadonlyMap<string, SecretScope>;
  apiAllowed: readonly ApiRule[] | undefined;
  apiDenied: readonly ApiRule[] | undefined;
  /** `spec.features` name → enabled, e.g. HotReload. */
  features: ReadonlyMap<string, boolean>;
  /** `spec.metrics.recordErrorCodes`: count API errors by code in dapr_error_code_total. */
  recordErrorCodes: boolean;
  /** `spec.tracing`, when a file sets it. */
  tracing?: TracingSettings;
}

export const EMPTY_CONFIGURATION: RuntimeConfiguration = {
  scopes: new Map(),
  apiAllowed: undefined,
  apiDenied: undefined,
  features: new Map(),
  recordErrorCodes: false,
};

export class ConfigurationError extends Error {}

type Spec = { secrets?: unknown; api?: unknown; features?: unknown; metrics?: unknown; tracing?: unknown };

/** Loads the files in order; a later file's sections replace an earlier file's, as daprd unmarshals them. */
export async function loadConfiguration(
  files: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<RuntimeConfiguration> {
  const texts: ResourceText[] = [];
  for (const file of files) {
    try {
      texts.push({ file, text: await readRegularTextFile(file) });
    } catch (err) {
      throw new ConfigurationError(`cannot read configuration ${file}: ${fileReadReason(err)}`);
    }
  }
  return parseConfiguration(texts, env);
}

/** Configuration documents' text in order, from files or the API server (`configurations.dapr.io/NAME`). */
export function parseConfiguration(
  texts: readonly ResourceText[],
  env: NodeJS.ProcessEnv = process.env,
): RuntimeConfiguration {
  let secrets: Map<string, SecretScope> | undefined;
  let api: { allowed?: ApiRule[]; denied?: ApiRule[] } | undefined;
  const features = new Map<string, boolean>();
  let recordErrorCodes = false;
  let tracing: TracingSettings | undefined;
  for (const { file, text } of texts) {
    const first = splitDocuments(expandEnv(text, env)).find((c) => c.text.trim() !== "");
    if (!first) continue;
    const doc = parseYamlDocument(first, "1.2");
    if (doc.error) throw new ConfigurationError(`${file}:${doc.error.line}: YAML error: ${doc.error.message}`);
    const spec = (doc.value as { spec?: Spec } | null)?.spec;
    if (spec === undefined || spec === null) continue;
    if (typeof spec !== "object")
      throw new ConfigurationError(`${file}:${doc.lineOf(["spec"])}: spec must be a mapping`);
    const at = (path: (string | number)[], atKey?: boolean) => `${file}:${doc.lineOf(path, atKey)}`;
    if (spec.secrets !== undefined) secrets = parseSecrets(spec.secrets, at);
    if (spec.api !== undefined) api = parseApi(spec.api, at);
    if (spec.metrics !== undefined) recordErrorCodes = parseRecordErrorCodes(spec.metrics, at);
    if (spec.tracing !== undefined) {
      try {
        tracing = parseTracing(spec.tracing, at, (value, known, path, what) =>
          rejectUnknownKeys(value, known, path, at, what),
        );
      } catch (err) {
        throw err instanceof TracingConfigError ? new ConfigurationError(err.message) : err;
      }
    }
    if (Array.isArray(spec.features)) {
      for (const f of spec.features as { name?: unknown; enabled?: unknown }[]) {
        if (f && typeof f.name === "string")
          features.set(f.name, f.enabled === true || String(f.enabled).toLowerCase() === "true");
      }
    }
  }
  return {
    scopes: secrets ?? new Map(),
    apiAllowed: api?.allowed,
    apiDenied: api?.denied,
    features,
    recordErrorCodes,
    ...(tracing ? { tracing } : {}),
  };
}

function parseRecordErrorCodes(metrics: unknown, at: (path: (string | number)[]) => string): boolean {
  if (metrics === null) return false;
  if (typeof metrics !== "object" || Array.isArray(metrics))
    throw new ConfigurationError(`${at(["spec", "metrics"])}: metrics must be a mapping`);
  const v = (metrics as { recordErrorCodes?: unknown }).recordErrorCodes;
  if (v === undefined || v === null) return false;
  if (typeof v === "boolean") return v;
  const text = String(v).toLowerCase();
  if (text === "true" || text === "false") return text === "true";
  throw new ConfigurationError(
    `${at(["spec", "metrics", "recordErrorCodes"])}: metrics.recordErrorCodes must be true or false`,
  );
}

function stringList(v: unknown, where: string, what: string): string[] {
  if (v === undefined || v === null) return [];
  if (
    !Array.isArray(v) ||
    v.some((s) => s !== null && typeof s !== "string" && typeof s !== "number" && typeof s !== "boolean")
  ) {
    throw new ConfigurationError(`${where}: ${what} must be a list of strings`);
  }
  // yaml.v3 leaves a null item as Go's zero value, "".
  return v.map((s) => (s === null ? "" : String(s)));
}

/** The fields daprd reads; anything else is a typo that would silently weaken a rule, so it stops start-up. */
const SECRETS_KEYS = ["scopes"];
const SCOPE_KEYS = ["storeName", "defaultAccess", "allowedSecrets", "deniedSecrets"];

function rejectUnknownKeys(
  value: Record<string, unknown>,
  known: readonly string[],
  path: (string | number)[],
  at: (p: (string | number)[], atKey?: boolean) => string,
  what: string,
): void {
  // yaml.v3 matches field names exactly, as daprd reads this file: "DeniedSecrets" is as unknown as "deniedSecret".
  const unknown = Object.keys(value).find((k) => !known.includes(k));
  if (unknown === undefined) return;
  throw new ConfigurationError(
    `${at([...path, unknown], true)}: unknown field ${JSON.stringify(unknown)} in ${what}${didYouMean(unknown, known)}; ` +
      `known fields: ${known.join(", ")}`,
  );
}

function parseSecrets(secrets: unknown, at: (p: (string | number)[]) => string): Map<string, SecretScope> {
  const out = new Map<string, SecretScope>();
  if (secrets === null) return out;
  if (typeof secrets !== "object" || Array.isArray(secrets))
    throw new ConfigurationError(`${at(["spec", "secrets"])}: spec.secrets must be a mapping`);
  rejectUnknownKeys(secrets as Record<string, unknown>, SECRETS_KEYS, ["spec", "secrets"], at, "spec.secrets");
  const scopes = (secrets as { scopes?: unknown }).scopes;
  if (scopes === undefined || scopes === null) return out;
  if (!Array.isArray(scopes))
    throw new ConfigurationError(`${at(["spec", "secrets", "scopes"])}: spec.secrets.scopes must be a list`);
  scopes.forEach((raw: unknown, i) => {
    const where = at(["spec", "secrets", "scopes", i]);
    if (typeof raw !== "object" || raw === null)
      throw new ConfigurationError(`${where}: each secret scope must be a mapping`);
    if (Array.isArray(raw)) throw new ConfigurationError(`${where}: each secret scope must be a mapping`);
    const s = raw as Record<string, unknown>;
    rejectUnknownKeys(s, SCOPE_KEYS, ["spec", "secrets", "scopes", i], at, "a secret scope");
    const storeName = s.storeName === undefined || s.storeName === null ? "" : String(s.storeName);
    if (out.has(storeName))
      throw new ConfigurationError(`${where}: ${storeName} storeName is repeated in secrets configuration`);
    const access = s.defaultAccess === undefined || s.defaultAccess === null ? "" : String(s.defaultAccess);
    const lower = access.toLowerCase();
    if (lower !== "" && lower !== "allow" && lower !== "deny") {
      throw new ConfigurationError(`${where}: defaultAccess ${access} can be either allow or deny`);
    }
    out.set(storeName, {
      storeName,
      defaultAccess: lower === "deny" ? "deny" : "allow",
      allowedSecrets: new Set(stringList(s.allowedSecrets, where, "allowedSecrets")),
      deniedSecrets: new Set(stringList(s.deniedSecrets, where, "deniedSecrets")),
      where,
    });
  });
  return out;
}

function parseApi(api: unknown, at: (p: (string | number)[]) => string): { allowed?: ApiRule[]; denied?: ApiRule[] } {
  if (typeof api !== "object" || api === null) return {};
  const read = (key: "allowed" | "denied"): ApiRule[] | undefined => {
    const list = (api as Record<string, unknown>)[key];
    if (list === undefined || list === null) return undefined;
    if (!Array.isArray(list))
      throw new ConfigurationError(`${at(["spec", "api", key])}: spec.api.${key} must be a list`);
    return list.map((r: unknown) => {
      const rule = (r ?? {}) as Record<string, unknown>;
      return {
        name: String(rule.name ?? ""),
        version: String(rule.version ?? ""),
        protocol: String(rule.protocol ?? "").toLowerCase(),
      };
    });
  };
  return { allowed: read("allowed"), denied: read("denied") };
}

/**
 * Secret scopes whose storeName matches no store, so their rules protect nothing (a misspelt store name,
 * or a store that failed to load): one warning each, naming the stores that exist.
 */
export function unmatchedScopeWarnings(
  scopes: ReadonlyMap<string, SecretScope>,
  storeNames: readonly string[],
): string[] {
  const names = [...storeNames].sort();
  const out: string[] = [];
  for (const scope of scopes.values()) {
    if (storeNames.includes(scope.storeName)) continue;
    out.push(
      `${scope.where ?? "configuration"}: secret scope storeName ${JSON.stringify(scope.storeName)} matches no secret store` +
        `${didYouMean(scope.storeName, names)}, so its rules apply to nothing; the secret stores are: ${names.join(", ") || "none"}`,
    );
  }
  return out;
}
