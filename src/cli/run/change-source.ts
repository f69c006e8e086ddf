/**
 * @module When `keyward run --on-change` looks again at the secrets it injected: as soon as the sidecar's
 * change notifications (`/v1.0-alpha1/secrets/{store}/{name}/subscribe`) report a change, and every
 * --poll-interval for the secrets whose store cannot notify (`local.env`) or whose stream ends.
 */

/** The sidecar to subscribe to, and the secrets the last read used. */
export interface WatchTarget {
  baseUrl: string;
  token: string | undefined;
  secrets(): readonly { store: string; name: string }[];
}

export interface ChangeSource {
  /**
   * Calls `check` whenever the watched secrets may have changed, never two at once; `check` itself
   * re-reads them and decides whether anything did. Returns a function that stops watching.
   */
  watch(check: () => Promise<void>, target: WatchTarget): () => void;
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

/**
 * Subscribes to every secret the app's values came from; each event after a stream's first (the current
 * state) triggers a check. Secrets that cannot be subscribed to, or whose stream ends, fall back to polling.
 */
export class NotifiedChangeSource implements ChangeSource {
  constructor(private readonly pollMs: number) {}

  watch(check: () => Promise<void>, target: WatchTarget): () => void {
    const abort = new AbortController();
    let running = false;
    let again = false;
    const run = (): Promise<void> => {
      if (abort.signal.aborted) return Promise.resolve();
      if (running) {
        again = true;
        return Promise.resolve();
      }
      running = true;
      return check()
        .catch(() => undefined)
        .finally(() => {
          running = false;
          if (again) {
            again = false;
            void run();
          }
        });
    };
    let stopPolling: (() => void) | undefined;
    const fallBack = () => {
      if (!abort.signal.aborted) stopPolling ??= new PollingChangeSource(this.pollMs).watch(run);
    };
    const seen = new Set<string>();
    for (const { store, name } of target.secrets()) {
      const key = `${store}\u0000${name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      void subscribe(target, store, name, abort.signal, () => void run()).then((ended) => {
        if (ended) fallBack();
      });
    }
    if (seen.size === 0) fallBack();
    return () => {
      abort.abort();
      stopPolling?.();
    };
  }
}

/**
 * Follows one secret's event stream, calling `changed` for every event after the first. Resolves true when
 * the stream could not be opened or ended on its own (the caller then polls), false when it was stopped.
 */
async function subscribe(
  target: WatchTarget,
  store: string,
  name: string,
  signal: AbortSignal,
  changed: () => void,
): Promise<boolean> {
  const url = `${target.baseUrl}/v1.0-alpha1/secrets/${encodeURIComponent(store)}/${encodeURIComponent(name)}/subscribe`;
  try {
    const res = await fetch(url, { headers: target.token ? { "dapr-api-token": target.token } : {}, signal });
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      return true;
    }
    let buffered = "";
    let events = 0;
    const decoder = new TextDecoder();
    for await (const chunk of res.body) {
      buffered += decoder.decode(chunk as Uint8Array, { stream: true });
      // Events end with a blank line; keepalive comments (":") are not events.
      for (let end = buffered.indexOf("\n\n"); end >= 0; end = buffered.indexOf("\n\n")) {
        const event = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (!/^(event|data):/m.test(event)) continue;
        if (events++ > 0) changed();
      }
      // An event is small; a stream that never ends one is not a Keyward sidecar's.
      if (buffered.length > 1 << 20) return true;
    }
    return !signal.aborted;
  } catch {
    return !signal.aborted;
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
