/** @module daprd's secret-scope decision (docs/compatibility.md §4.3), exactly. */
import type { SecretScope } from "../resources/configuration.js";

export function isSecretAllowed(scopes: ReadonlyMap<string, SecretScope>, store: string, key: string): boolean {
  const scope = scopes.get(store);
  if (!scope) return true;
  // A non-empty allow-list wins outright: defaultAccess and deniedSecrets no longer matter.
  if (scope.allowedSecrets.size > 0) return scope.allowedSecrets.has(key);
  if (scope.deniedSecrets.has(key)) return false;
  return scope.defaultAccess === "allow";
}
