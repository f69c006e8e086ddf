/**
 * @module Built-in secret store types. Each entry loads its module lazily, so a user of the local stores
 * never loads a cloud SDK. Adding a store is one line here plus its folder.
 */
import type { SecretStoreDefinition } from "./types.js";

/** Type (lower case, without `secretstores.`) → module beside this file that exports `definition`. */
const BUILTIN: Record<string, string> = {
  "local.file": "./local/file.js",
  "local.env": "./local/env.js",
  kubernetes: "./kubernetes/kubernetes.js",
  "hashicorp.vault": "./hashicorp/vault.js",
  "azure.keyvault": "./azure/keyvault.js",
  "aws.secretmanager": "./aws/secretmanager.js",
  "aws.parameterstore": "./aws/parameterstore.js",
  "gcp.secretmanager": "./gcp/secretmanager.js",
};

/**
 * Finds the definition for a component `spec.type`/`spec.version`, or undefined.
 * Like daprd, the type is case-insensitive and "", "v0" and "v1" select the first version.
 */
export async function findStoreDefinition(type: string, version: string): Promise<SecretStoreDefinition | undefined> {
  const lower = type.toLowerCase();
  if (!lower.startsWith("secretstores.")) return undefined;
  const v = version.toLowerCase();
  if (v !== "" && v !== "v0" && v !== "v1") return undefined;
  const path = BUILTIN[lower.slice("secretstores.".length)];
  if (!path) return undefined;
  const mod = (await import(new URL(path, import.meta.url).href)) as { definition: SecretStoreDefinition };
  return mod.definition;
}
