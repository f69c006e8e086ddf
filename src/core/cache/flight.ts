/**
 * @module Single flight: concurrent misses for one key share one store call. The shared call has its own
 * abort signal, aborted only when every caller waiting on it has gone, so one client that disconnects
 * never fails the others, and a call nobody waits for any more stops.
 */
export class Flight<T> {
  private readonly ctl = new AbortController();
  private waiters = 0;
  readonly done: Promise<T>;

  constructor(run: (signal: AbortSignal) => Promise<T>) {
    this.done = run(this.ctl.signal);
    // Waiters see the outcome through wait(); this only keeps a rejection nobody waits for from being unhandled.
    this.done.catch(() => undefined);
  }

  /** The shared outcome, or the caller's own abort reason as soon as its signal aborts. */
  wait(signal: AbortSignal | undefined): Promise<T> {
    if (!signal) {
      this.waiters++;
      return this.done;
    }
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    this.waiters++;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        if (--this.waiters === 0) this.ctl.abort(signal.reason);
        reject(signal.reason as Error);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.done.then(
        (v) => {
          signal.removeEventListener("abort", onAbort);
          resolve(v);
        },
        (err: unknown) => {
          signal.removeEventListener("abort", onAbort);
          reject(err as Error);
        },
      );
    });
  }
}
