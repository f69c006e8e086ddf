/**
 * @module One component's metadata against its store's declaration, located in its file: what `serve`
 * checks before init and `keyward validate` reports, so the two agree.
 */
import { envRefAllowed } from "./references.js";
import type { ComponentManifest } from "../resources/component.js";
import { checkStoreMetadata, declaredField, fieldNames } from "../stores/declared-metadata.js";
import type { ComponentMetadata, MetadataProblem, SecretStoreDefinition } from "../stores/types.js";
import { findStoreDefinition } from "../stores/registry.js";
import { isCacheMetadata, splitCacheMetadata } from "./cache/options.js";

export interface ComponentFindings {
  /** `file:line: component X: …` lines; any of them stops the component. */
  problems: string[];
  /** Unknown metadata names: daprd ignores them, so they are warnings (errors with --strict). */
  warnings: string[];
}

/** The metadata as written, without other stores: envRef from `env`, secretKeyRef values unknown. */
export function writtenMetadata(
  c: ComponentManifest,
  env: NodeJS.ProcessEnv,
): { metadata: ComponentMetadata; unknown: Set<string> } {
  const metadata: Record<string, string> = {};
  const unknown = new Set<string>();
  for (const item of c.metadata) {
    let value = item.value;
    if (item.envRef !== undefined && value === "")
      value = envRefAllowed(item.envRef, env) ? (env[item.envRef] ?? "") : "";
    else if (item.secretKeyRef) unknown.add(item.name);
    metadata[item.name] = value;
  }
  return { metadata, unknown };
}

/** Line of the item that sets a name (any case), else of the component. */
function lineOf(c: ComponentManifest, names: readonly string[]): number {
  const lower = names.map((n) => n.toLowerCase());
  return c.metadata.find((m) => lower.includes(m.name.toLowerCase()))?.line ?? c.line;
}

export async function checkComponent(
  c: ComponentManifest,
  def: SecretStoreDefinition,
  metadata: ComponentMetadata,
  env: NodeJS.ProcessEnv,
  opts: { unknown?: ReadonlySet<string>; storeChecks: boolean },
): Promise<ComponentFindings> {
  // The cache's reserved fields are the runtime's: checked here, never shown to the store's declaration.
  let storeMetadata: ComponentMetadata = metadata;
  const cacheProblems: MetadataProblem[] = [];
  try {
    storeMetadata = splitCacheMetadata(metadata).storeMetadata;
  } catch (err) {
    storeMetadata = Object.fromEntries(Object.entries(metadata).filter(([k]) => !isCacheMetadata(k)));
    cacheProblems.push({ message: (err as Error).message });
  }
  const { problems, unknownNames } = await checkStoreMetadata(
    def,
    storeMetadata,
    { env, unknown: opts.unknown ?? new Set() },
    opts.storeChecks,
  );
  const at = (line: number, msg: string) => `${c.file}:${line}: component ${c.name}: ${msg}`;
  return {
    problems: [...cacheProblems, ...problems].map((p) => {
      const field = p.field === undefined ? undefined : declaredField(def.metadata, p.field);
      // A store's own check names no field; the first metadata name its message mentions is the one to fix.
      const names = field
        ? fieldNames(field)
        : c.metadata.map((m) => m.name).filter((n) => new RegExp(`\\b${escape(n)}\\b`).test(p.message));
      return at(lineOf(c, names), p.message);
    }),
    warnings: unknownNames.map((u) =>
      at(
        lineOf(c, [u.name]),
        `metadata ${JSON.stringify(u.name)} is not a field of ${c.type}${u.suggestion === undefined ? "" : ` (did you mean ${u.suggestion}?)`}; it is ignored, as daprd does`,
      ),
    ),
  };
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** `keyward validate`'s check of one component as written: its store type, then its metadata. */
export async function checkWrittenComponent(c: ComponentManifest, env: NodeJS.ProcessEnv): Promise<ComponentFindings> {
  const def = await findStoreDefinition(c.type, c.version).catch(() => undefined);
  if (!def)
    return {
      problems: [`${c.file}:${c.line}: component ${c.name}: couldn't find secret store ${c.type}/${c.version || "v1"}`],
      warnings: [],
    };
  const { metadata, unknown } = writtenMetadata(c, env);
  return checkComponent(c, def, metadata, env, { unknown, storeChecks: true });
}
