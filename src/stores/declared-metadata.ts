/**
 * @module Component metadata read through each store's declaration: names case-insensitive with aliases
 * (as daprd decodes metadata), values checked by type, unknown names found with the nearest known one.
 * `serve` (before init) and `keyward validate` run the same check, so they agree on what is wrong.
 */
import { nearestName } from "../core/nearest.js";
import { parseDuration } from "./metadata.js";
import {
  SecretStoreError,
  type ComponentMetadata,
  type MetadataField,
  type MetadataProblem,
  type SecretStoreDefinition,
  type ValidateContext,
} from "./types.js";

const TRUE = new Set(["y", "yes", "true", "t", "on", "1"]);
const FALSE = new Set(["n", "no", "false", "f", "off", "0"]);

/** A field's name and aliases, in the order they are looked up. */
export function fieldNames(field: MetadataField): string[] {
  return [field.name, ...(field.aliases ?? [])];
}

/** The declared field a metadata name (as written, any case) sets, if any. */
export function declaredField(fields: readonly MetadataField[], name: string): MetadataField | undefined {
  const lower = name.toLowerCase();
  return fields.find((f) => fieldNames(f).some((n) => n.toLowerCase() === lower));
}

/** The entry that sets `field`: its name as written and its value; exact names win over other cases. */
function entryFor(md: ComponentMetadata, field: MetadataField): { name: string; value: string } | undefined {
  for (const wanted of fieldNames(field)) {
    if (Object.hasOwn(md, wanted)) return { name: wanted, value: md[wanted] as string };
    const lower = wanted.toLowerCase();
    for (const [k, v] of Object.entries(md)) if (k.toLowerCase() === lower) return { name: k, value: v };
  }
  return undefined;
}

/** Unset: absent or "", and for typed fields also blank (daprd's decoders trim those). */
function isUnset(field: MetadataField, value: string | undefined): value is undefined {
  if (value === undefined || value === "") return true;
  return field.type !== "string" && field.type !== "file" && value.trim() === "";
}

/** A value as messages may show it: never a credential, never unbounded. */
function shown(field: MetadataField, raw: string): string {
  if (field.sensitive) return "the value";
  const text = JSON.stringify(raw);
  return text.length > 80 ? `${text.slice(0, 77)}..."` : text;
}

/** Why a present, non-empty value does not fit its field's type, or undefined when it fits. */
function typeProblem(field: MetadataField, raw: string): string | undefined {
  const v = raw.trim();
  const bad = (what: string) => `metadata ${field.name}: ${shown(field, raw)} ${what}`;
  switch (field.type) {
    case "bool":
      return TRUE.has(v.toLowerCase()) || FALSE.has(v.toLowerCase()) ? undefined : bad("is not a boolean");
    case "int":
      return /^[+-]?\d{1,15}$/.test(v) ? undefined : bad("is not an integer");
    case "duration": {
      const ms = parseDuration(v);
      return ms !== undefined && ms > 0 ? undefined : bad("is not a positive duration");
    }
    case "enum": {
      const values = field.values ?? [];
      return values.some((x) => x.toLowerCase() === v.toLowerCase())
        ? undefined
        : bad(`is not one of ${values.join(", ")}`);
    }
    case "json":
      try {
        JSON.parse(raw);
        return undefined;
      } catch {
        return bad("is not valid JSON");
      }
    case "string":
    case "file":
      // Any text; a file is only read by the store (validate checks the ones it loads at init).
      return undefined;
  }
}

export interface DeclaredCheck {
  problems: MetadataProblem[];
  /** Names no field declares (daprd ignores them), with the nearest declared name when one is close. */
  unknownNames: { name: string; suggestion?: string }[];
}

/**
 * Checks metadata against the declaration: required fields, types, unknown names. Values of names in
 * `unknown` (secretKeyRef, not resolved yet) count as present and are not type-checked.
 */
export function checkDeclared(
  md: ComponentMetadata,
  fields: readonly MetadataField[],
  unknown: ReadonlySet<string> = new Set(),
): DeclaredCheck {
  const problems: MetadataProblem[] = [];
  for (const field of fields) {
    const entry = entryFor(md, field);
    if (entry === undefined || (isUnset(field, entry.value) && !unknown.has(entry.name))) {
      if (field.required)
        problems.push({ field: field.name, message: field.missing ?? `metadata ${field.name} is required` });
      continue;
    }
    if (unknown.has(entry.name)) continue;
    const why = typeProblem(field, entry.value);
    if (why !== undefined) problems.push({ field: field.name, message: why });
  }
  const all = fields.flatMap(fieldNames);
  const unknownNames = Object.keys(md)
    .filter((name) => declaredField(fields, name) === undefined)
    .map((name) => {
      const suggestion = nearestName(name, all);
      return suggestion === undefined ? { name } : { name, suggestion };
    });
  return { problems, unknownNames };
}

/**
 * The declared check, then (with `storeChecks`) the store's own checks when the fields themselves are fine.
 * `serve` leaves the store's checks to init, which runs the very same code before any backend I/O.
 */
export async function checkStoreMetadata(
  def: SecretStoreDefinition,
  md: ComponentMetadata,
  ctx: ValidateContext,
  storeChecks: boolean,
): Promise<DeclaredCheck> {
  const result = checkDeclared(md, def.metadata, ctx.unknown);
  if (storeChecks && result.problems.length === 0 && def.validate)
    result.problems.push(...(await def.validate(md, ctx)));
  return result;
}

/** Typed access to metadata that passed its declaration; names are declared names. */
export interface DeclaredMetadata {
  /** The value, or the field's default; undefined when neither. */
  text(name: string): string | undefined;
  bool(name: string): boolean;
  /** Milliseconds. */
  duration(name: string): number;
}

/** Reads metadata through its declaration; a problem is an `invalid_config` error naming the field. */
export function readDeclared(md: ComponentMetadata, fields: readonly MetadataField[]): DeclaredMetadata {
  const { problems } = checkDeclared(md, fields);
  if (problems.length > 0) throw new SecretStoreError("invalid_config", problems.map((p) => p.message).join("; "));
  const text = (name: string): string | undefined => {
    const field = fields.find((f) => f.name === name);
    if (!field) throw new Error(`metadata field ${name} is not declared`);
    const v = entryFor(md, field)?.value;
    return isUnset(field, v) ? field.default : v;
  };
  return {
    text,
    bool: (name) => TRUE.has((text(name) ?? "").trim().toLowerCase()),
    duration: (name) => parseDuration(text(name) ?? "") ?? 0,
  };
}

/** Stands in for a value that comes from a secretKeyRef, which `validate` cannot resolve. */
const REFERENCE_PLACEHOLDER = "value-from-secret-key-ref";

/**
 * A store's `validate` step made from its pure configuration parser (the one init calls): the error it
 * throws is the problem. Values from secretKeyRef stand in as a placeholder, and the credential errors
 * a placeholder causes are not reported.
 */
export function validateByParsing(
  parse: (md: ComponentMetadata, env: NodeJS.ProcessEnv) => unknown,
): NonNullable<SecretStoreDefinition["validate"]> {
  return async (md, ctx) => {
    const filled = Object.fromEntries(
      Object.entries(md).map(([k, v]) => [k, ctx.unknown.has(k) ? REFERENCE_PLACEHOLDER : v]),
    );
    try {
      parse(filled, ctx.env);
      return [];
    } catch (err) {
      if (ctx.unknown.size > 0 && err instanceof SecretStoreError && err.kind === "bad_credentials") return [];
      return [{ message: (err as Error).message }];
    }
  };
}

/** The value of a declared field by its name, through its aliases (for stores' own parsers). */
export function declaredValue(
  md: ComponentMetadata,
  fields: readonly MetadataField[],
  name: string,
): string | undefined {
  const field = fields.find((f) => f.name === name);
  if (!field) throw new Error(`metadata field ${name} is not declared`);
  return entryFor(md, field)?.value;
}
