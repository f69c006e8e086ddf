/** @module Waiting that a caller can cut short: retry back-offs must end when the request does. */

/** Resolves true after `ms`, or false as soon as `signal` aborts (at once when it already has). */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Settles like `p`, or rejects with `onAbort()` as soon as `signal` aborts, for work that cannot itself be
 * cancelled. A late rejection of `p` is then ignored rather than left unhandled.
 */
export async function untilAborted<T>(
  p: Promise<T>,
  signal: AbortSignal | undefined,
  onAbort: () => Error,
): Promise<T> {
  if (!signal) return p;
  p.catch(() => undefined);
  let listener = () => {};
  const aborted = new Promise<never>((_, reject) => {
    listener = () => reject(onAbort());
    if (signal.aborted) listener();
    else signal.addEventListener("abort", listener, { once: true });
  });
  try {
    return await Promise.race([p, aborted]);
  } finally {
    signal.removeEventListener("abort", listener);
  }
}
