/**
 * @module Order of secret store init and resolution of `secretKeyRef`/`envRef` (docs/compatibility.md §6).
 * Unlike daprd, a store that references itself or a cycle of stores, and a reference to a store that
 * does not exist, are start-up errors that name the chain, instead of a silent wait or an empty value.
 */
import { randomUUID } from "node:crypto";
import type { ComponentManifest } from "../resources/component.js";
import type { SecretData, SecretStore } from "../stores/types.js";

/** A `secretKeyRef` that cannot be resolved; its message names the metadata item, never a value. */
export class SecretRefError extends Error {
  override readonly name = "SecretRefError";
}

/** The store that resolves a component's secretKeyRefs, or undefined when it has none. */
export function referencedStore(c: ComponentManifest, defaultStore: string): string | undefined {
  if (!c.metadata.some((m) => m.secretKeyRef)) return undefined;
  return c.authSecretStore || defaultStore;
}

export interface OrderResult {
  ordered: ComponentManifest[];
  /** Components that cannot be initialised, with why. */
  problems: Map<string, string>;
}

/** Dependencies first, otherwise load order. `external` names stores that exist outside the list. */
export function orderByReferences(
  components: readonly ComponentManifest[],
  defaultStore: string,
  external: ReadonlySet<string>,
): OrderResult {
  const byName = new Map(components.map((c) => [c.name, c]));
  const problems = new Map<string, string>();
  const ordered: ComponentManifest[] = [];
  const state = new Map<string, "visiting" | "done">();

  const visit = (c: ComponentManifest, path: string[]): void => {
    if (state.get(c.name) === "done") return;
    if (state.get(c.name) === "visiting") {
      const chain = [...path.slice(path.indexOf(c.name)), c.name].join(" -> ");
      for (const n of path.slice(path.indexOf(c.name))) problems.set(n, `secret store reference cycle: ${chain}`);
      return;
    }
    state.set(c.name, "visiting");
    const dep = referencedStore(c, defaultStore);
    if (dep !== undefined) {
      const item = c.metadata.find((m) => m.secretKeyRef)!;
      if (dep === "") {
        problems.set(
          c.name,
          `metadata ${item.name} (line ${item.line}) uses secretKeyRef, but the component sets no auth.secretStore`,
        );
      } else if (byName.has(dep)) {
        visit(byName.get(dep)!, [...path, c.name]);
        const depProblem = problems.get(dep);
        if (depProblem !== undefined && !problems.has(c.name))
          problems.set(c.name, `its secret store ${dep} cannot start: ${depProblem}`);
      } else if (!external.has(dep)) {
        problems.set(c.name, `auth.secretStore ${dep} is not a secret store defined for this app`);
      }
    }
    state.set(c.name, "done");
    ordered.push(c);
  };
  for (const c of components) visit(c, []);
  return { ordered, problems };
}

export interface ResolveContext {
  appId: string;
  namespace: string;
  env: NodeJS.ProcessEnv;
  /** The initialised store for a name, if any. */
  store(name: string): SecretStore | undefined;
  defaultStore: string;
  warn(msg: string): void;
}

/**
 * daprd refuses these names for envRef whatever DAPR_ENV_KEYS says. Like daprd, the allow-list is
 * matched against the upper-cased name (the injector writes it in upper case).
 */
export function envRefAllowed(name: string, env: NodeJS.ProcessEnv): boolean {
  const upper = name.toUpperCase();
  if (name === "" || upper === "APP_API_TOKEN" || upper.startsWith("DAPR_") || name.includes(" ")) return false;
  const allow = env.DAPR_ENV_KEYS;
  return allow === undefined || allow === "" || allow.split(" ").includes(upper);
}

/** Produces the metadata map a store's init gets. Throws SecretRefError naming the item, never its value. */
export async function resolveMetadata(c: ComponentManifest, ctx: ResolveContext): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const cache = new Map<string, SecretData | null>();
  for (const item of c.metadata) {
    let value = item.value;
    if (item.envRef !== undefined && value === "") {
      if (envRefAllowed(item.envRef, ctx.env)) value = ctx.env[item.envRef] ?? "";
      else ctx.warn(`component ${c.name}: metadata ${item.name}: envRef ${item.envRef} is not allowed; left empty`);
    } else if (item.secretKeyRef) {
      // As daprd: an item whose envRef was used (or refused) is not also looked up by secretKeyRef.
      const storeName = referencedStore(c, ctx.defaultStore)!;
      const store = ctx.store(storeName);
      if (!store) throw new SecretRefError(`metadata ${item.name}: secret store ${storeName} is not loaded`);
      const ref = item.secretKeyRef;
      let data = cache.get(ref.name);
      if (data === undefined) {
        try {
          data = await store.getSecret({ name: ref.name, metadata: { namespace: c.namespace } });
        } catch (err) {
          throw new SecretRefError(
            `metadata ${item.name}: secretKeyRef ${ref.name} from store ${storeName}: ${(err as Error).message}`,
          );
        }
        cache.set(ref.name, data);
      }
      const key = ref.key || ref.name;
      const resolved = data?.[key];
      if (resolved === undefined || resolved === "") {
        const why = resolved === undefined ? `has no key ${key}` : `has an empty value for key ${key}`;
        throw new SecretRefError(`metadata ${item.name}: secret ${ref.name} in store ${storeName} ${why}`);
      }
      value = resolved;
    }
    out[item.name] = applyTemplates(value, c, ctx);
  }
  return out;
}

function applyTemplates(value: string, c: ComponentManifest, ctx: ResolveContext): string {
  if (!value.includes("{")) return value;
  return (
    value
      .replace(/\{uuid\}/g, () => randomUUID())
      // Functions, not strings: a "$&" in an app id must not act as a replacement pattern.
      .replace(/\{appID\}/g, () => ctx.appId)
      .replace(/\{namespace\}/g, () => `${ctx.namespace}.${ctx.appId}`)
      .replace(/\{podName\}/g, () => {
        const pod = ctx.env.POD_NAME;
        if (!pod) throw new SecretRefError(`component ${c.name}: {podName} is used but POD_NAME is not set`);
        return pod;
      })
  );
}
