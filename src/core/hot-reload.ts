/**
 * @module Watches the resources folders and the Configuration files and asks the runtime to reload
 * (docs/compatibility.md §8.1). Changes are debounced, since editors and Kubernetes ConfigMap updates (a `..data`
 * symlink swap) come as bursts, and reloads never overlap.
 */
import { basename, dirname, resolve } from "node:path";
import type { Logger } from "../log.js";
import { watchFolders, type FolderWatch } from "../watch.js";

export type ResourceWatcher = FolderWatch;

export function watchResources(
  dirs: readonly string[],
  configFiles: readonly string[],
  reload: () => Promise<void>,
  log: Logger,
  debounceMs = 200,
): ResourceWatcher {
  const resourceDirs = new Set(dirs.map((d) => resolve(d)));
  // A configuration file's folder may hold anything: only that file (or a Kubernetes `..data` swap) counts.
  const configNames = new Map<string, Set<string>>();
  for (const f of configFiles) {
    const dir = dirname(resolve(f));
    configNames.set(dir, (configNames.get(dir) ?? new Set()).add(basename(f)));
  }
  return watchFolders({
    dirs: [...resourceDirs, ...configNames.keys()],
    accept: (dir, name) => resourceDirs.has(dir) || name.startsWith("..") || !!configNames.get(dir)?.has(name),
    onChange: async () => {
      log.info("resources changed: reloading components");
      await reload();
    },
    onError: (message) => log.error(`hot reload: ${message}`),
    debounceMs,
  });
}
