/**
 * @module Built-in secret store types. Each entry loads its module lazily, so a user of the local stores
 * never loads a cloud SDK. Adding a store is one line here plus its folder.
 */
import type { SecretStoreDefinition } from "./types.js";

type Loader = () => Promise<{ definition: SecretStoreDefinition }>;

/**
 * Type (lower case, without `secretstores.`) → loader of the module beside this file that exports
 * `definition`. Each import names its module literally so the bundler gives every store (and its vendor
 * SDK) a chunk of its own, loaded on first use.
 */
const BUILTIN: Record<string, Loader> = {
  "local.file": () => import("./local/file.js"),
  "local.env": () => import("./local/env.js"),
  kubernetes: () => import("./kubernetes/kubernetes.js"),
  "hashicorp.vault": () => import("./hashicorp/vault.js"),
  "azure.keyvault": () => import("./azure/keyvault.js"),
  "aws.secretmanager": () => import("./aws/secretmanager.js"),
  "aws.parameterstore": () => import("./aws/parameterstore.js"),
  "gcp.secretmanager": () => import("./gcp/secretmanager.js"),
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
  const name = lower.slice("secretstores.".length);
  // Own keys only: a type such as `secretstores.constructor` must not reach Object.prototype.
  return Object.hasOwn(BUILTIN, name) ? (await BUILTIN[name]!()).definition : undefined;
}
