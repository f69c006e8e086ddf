/** @module Which secrets the runtime follows to rotate components: those their metadata reads through secretKeyRef. */
import type { ComponentManifest } from "../../resources/component.js";
import { referencedStore } from "../references.js";

export interface ReferenceWatch {
  component: string;
  store: string;
  secret: string;
  /** As the reference is resolved at init: the component's namespace. */
  metadata: Record<string, string>;
}

/** One entry per (component, store, secret), keyed so a reload can tell which ones are new or gone. */
export function referenceWatches(
  manifests: Iterable<ComponentManifest>,
  defaultStore: string,
): Map<string, ReferenceWatch> {
  const out = new Map<string, ReferenceWatch>();
  for (const c of manifests) {
    const store = referencedStore(c, defaultStore);
    if (store === undefined) continue;
    for (const item of c.metadata) {
      const ref = item.secretKeyRef;
      if (!ref || (item.envRef !== undefined && item.value === "")) continue;
      const key = JSON.stringify([c.name, store, ref.name, c.namespace]);
      out.set(key, { component: c.name, store, secret: ref.name, metadata: { namespace: c.namespace } });
    }
  }
  return out;
}
