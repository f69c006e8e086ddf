/** @module daprd's secret-scope decision (docs/compatibility.md §4.3), compared on the names the store really reads. */
import type { SecretScope } from "../resources/configuration.js";

/** How a store compares names: a backend that ignores case (Azure Key Vault) folds case here. */
export interface ScopeNames {
  scopeName?(name: string): string;
}

interface FoldedScope {
  allowed: ReadonlySet<string>;
  denied: ReadonlySet<string>;
}

/** Folded copies of a scope's lists, per store: computed once per configuration, not per request. */
const foldedScopes = new WeakMap<SecretScope, WeakMap<ScopeNames, FoldedScope>>();

function lists(scope: SecretScope, names: ScopeNames | undefined): FoldedScope {
  if (!names?.scopeName) return { allowed: scope.allowedSecrets, denied: scope.deniedSecrets };
  let perStore = foldedScopes.get(scope);
  if (!perStore) foldedScopes.set(scope, (perStore = new WeakMap()));
  let folded = perStore.get(names);
  if (!folded) {
    const fold = (set: ReadonlySet<string>) => new Set([...set].map((n) => names.scopeName!(n)));
    folded = { allowed: fold(scope.allowedSecrets), denied: fold(scope.deniedSecrets) };
    perStore.set(names, folded);
  }
  return folded;
}

/**
 * `key` must be the name the store reads (after its `secretName`); `names` is the store, whose `scopeName`
 * folds both the key and the configured lists the same way.
 */
export function isSecretAllowed(
  scopes: ReadonlyMap<string, SecretScope>,
  store: string,
  key: string,
  names?: ScopeNames,
): boolean {
  const scope = scopes.get(store);
  if (!scope) return true;
  const { allowed, denied } = lists(scope, names);
  const name = names?.scopeName ? names.scopeName(key) : key;
  // A non-empty allow-list wins outright: defaultAccess and deniedSecrets no longer matter.
  if (allowed.size > 0) return allowed.has(name);
  if (denied.has(name)) return false;
  return scope.defaultAccess === "allow";
}
