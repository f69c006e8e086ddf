/**
 * @module Built-in secret store types. Each entry loads its module lazily, so a user of the local stores
 * never loads a cloud SDK. Adding a store is one line here plus its folder.
 */
import type { SecretStoreDefinition } from "./types.js";

type Loader = () => Promise<{ definition: SecretStoreDefinition }>;

const BUILTIN: Record<string, Loader> = {
  "local.file": () => import("./local/file.js"),
  "local.env": () => import("./local/env.js"),
  // store-registry: new stores add their line above this marker
};

/** Lower-cased type names without the `secretstores.` prefix. */
export function builtinStoreTypes(): string[] {
  return Object.keys(BUILTIN).sort();
}

/**
 * Finds the definition for a component `spec.type`/`spec.version`, or undefined.
 * Like daprd, the type is case-insensitive and "", "v0" and "v1" select the first version.
 */
export async function findStoreDefinition(type: string, version: string): Promise<SecretStoreDefinition | undefined> {
  const lower = type.toLowerCase();
  if (!lower.startsWith("secretstores.")) return undefined;
  const v = version.toLowerCase();
  if (v !== "" && v !== "v0" && v !== "v1") return undefined;
  const load = BUILTIN[lower.slice("secretstores.".length)];
  return load ? (await load()).definition : undefined;
}
