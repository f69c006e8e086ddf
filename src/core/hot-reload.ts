/**
 * @module Watches the resources folders and asks the runtime to reload (docs/compatibility.md §8.1). Events are
 * debounced, since editors and Kubernetes ConfigMap updates (a `..data` symlink swap) come as bursts,
 * and reloads never overlap.
 */
import { watch, type FSWatcher } from "node:fs";
import type { Logger } from "../log.js";

export interface ResourceWatcher {
  close(): void;
  /** Resolves when no reload is pending or running (for tests and shutdown). */
  idle(): Promise<void>;
}

export function watchResources(
  dirs: readonly string[],
  reload: () => Promise<void>,
  log: Logger,
  debounceMs = 200,
): ResourceWatcher {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let closed = false;
  const trigger = () => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      running = running.then(async () => {
        if (closed) return;
        log.info("resources changed: reloading components");
        await reload().catch((err: unknown) => log.error(`hot reload failed: ${(err as Error).message}`));
      });
    }, debounceMs);
  };
  const watchers: FSWatcher[] = [];
  for (const dir of dirs) {
    try {
      const w = watch(dir, { persistent: false }, trigger);
      w.on("error", (err) => log.warn(`cannot watch ${dir}: ${err.message}; hot reload is off for it`));
      watchers.push(w);
    } catch (err) {
      log.warn(`cannot watch ${dir}: ${(err as Error).message}; hot reload is off for it`);
    }
  }
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      for (const w of watchers) w.close();
    },
    idle: () => running,
  };
}
