/**
 * @module Watching folders for changes, debounced and serialised. Folders rather than files: editors
 * replace a file by renaming a new one over it, and Kubernetes swaps a `..data` symlink, both of which
 * a watch on the file itself would miss. Events come in bursts, so one action runs after they settle,
 * and actions never overlap.
 */
import { watch, type FSWatcher } from "node:fs";

export interface FolderWatch {
  close(): void;
  /** Resolves when no action is pending or running. */
  idle(): Promise<void>;
}

export interface FolderWatchOptions {
  dirs: readonly string[];
  /** Whether a change to entry `name` of `dir` matters; an event without a name always does. */
  accept?: (dir: string, name: string) => boolean;
  onChange: () => Promise<void>;
  /** The action failed, or a folder cannot be watched. */
  onError: (message: string) => void;
  debounceMs?: number;
}

/** An action run once a burst of triggers settles, never overlapping itself. */
export interface Debounced extends FolderWatch {
  trigger(): void;
}

export function debounced(
  action: () => Promise<void>,
  onError: (message: string) => void,
  debounceMs = 200,
): Debounced {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let closed = false;
  const fire = () => {
    running = running.then(async () => {
      if (closed) return;
      await action().catch((err: unknown) => onError((err as Error).message));
    });
  };
  return {
    trigger() {
      if (closed) return;
      clearTimeout(timer);
      timer = setTimeout(fire, debounceMs);
    },
    close() {
      closed = true;
      clearTimeout(timer);
    },
    idle: () => running,
  };
}

export function watchFolders(o: FolderWatchOptions): FolderWatch {
  const action = debounced(o.onChange, o.onError, o.debounceMs ?? 200);
  let closed = false;
  const watchers: FSWatcher[] = [];
  for (const dir of new Set(o.dirs)) {
    const trigger = (_event: string, name: string | Buffer | null) => {
      if (closed || (name !== null && o.accept && !o.accept(dir, String(name)))) return;
      action.trigger();
    };
    try {
      const w = watch(dir, { persistent: false }, trigger);
      w.on("error", (err) => o.onError(`cannot watch ${dir}: ${err.message}`));
      watchers.push(w);
    } catch (err) {
      o.onError(`cannot watch ${dir}: ${(err as Error).message}`);
    }
  }
  return {
    close() {
      closed = true;
      action.close();
      for (const w of watchers) w.close();
    },
    idle: () => action.idle(),
  };
}
