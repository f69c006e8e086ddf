/**
 * @module When `keyward run --on-change` looks again at the secrets it injected. Today a timer
 * (--poll-interval); a source of change notifications can take its place behind the same interface.
 */

export interface ChangeSource {
  /**
   * Calls `check` whenever the watched secrets may have changed, never two at once; `check` itself
   * re-reads them and decides whether anything did. Returns a function that stops watching.
   */
  watch(check: () => Promise<void>): () => void;
}

export class PollingChangeSource implements ChangeSource {
  constructor(private readonly intervalMs: number) {}

  watch(check: () => Promise<void>): () => void {
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const next = () => {
      if (stopped) return;
      timer = setTimeout(() => {
        void check()
          .catch(() => undefined)
          .finally(next);
      }, this.intervalMs);
    };
    next();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }
}

/** Go-style durations as daprd takes them: 500ms, 30s, 1m30s, 1h. */
export function parseDuration(text: string): number | undefined {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(m[1]) * units[m[2]!]!;
  return total;
}
