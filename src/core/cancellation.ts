/**
 * @module Cancelling API calls: the client went away (HTTP socket closed, gRPC cancel or deadline) or the
 * sidecar's grace period ran out. Each call gets a CallControl; its signal reaches the resiliency layer
 * and the store's backend request, so nothing keeps calling a backend for an answer nobody will read.
 */

/** Why a call stopped. The message is Go's context.Canceled wording, as daprd's errors carry it. */
export class Cancelled extends Error {
  constructor(readonly why: "client gone" | "shutting down") {
    super("context canceled");
  }
}

/**
 * A call's signal, or what makes it on first read (a CallControl): an AbortController and its signal are
 * most of what cancellation costs a call, and a call answered from memory (peekSecret, a cache hit) never reads it.
 */
export type CallSignal = AbortSignal | { readonly signal: AbortSignal };

/** One call's cancellation. The AbortController behind it is made only when the signal is read or the call aborted. */
export class CallControl {
  private ctl: AbortController | undefined;

  get signal(): AbortSignal {
    return (this.ctl ??= new AbortController()).signal;
  }

  abort(reason: Cancelled): void {
    (this.ctl ??= new AbortController()).abort(reason);
  }
}

export function signalOf(s: CallSignal | undefined): AbortSignal | undefined {
  return s === undefined || s instanceof AbortSignal ? s : s.signal;
}

/** The controllers of the API calls in flight, so shutdown can cancel the ones its grace period did not see end. */
export class InFlightCalls {
  private readonly live = new Set<CallControl>();
  private stopping: Cancelled | undefined;
  private drained: (() => void) | undefined;

  get size(): number {
    return this.live.size;
  }

  /** The control of one call; pass it to `end` once the call's answer is sent or its client is gone. */
  begin(): CallControl {
    const ctl = new CallControl();
    if (this.stopping) ctl.abort(this.stopping);
    else this.live.add(ctl);
    return ctl;
  }

  end(ctl: CallControl): void {
    if (this.live.delete(ctl) && this.live.size === 0) this.drained?.();
  }

  /**
   * Aborts every call in flight and every later one; resolves once each has ended (its error answer sent),
   * or after `waitMs` for calls whose store does not stop.
   */
  async abortAll(waitMs: number): Promise<void> {
    this.stopping ??= new Cancelled("shutting down");
    if (this.live.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const drained = new Promise<void>((resolve) => {
      this.drained = resolve;
      timer = setTimeout(resolve, waitMs);
    });
    for (const ctl of this.live) ctl.abort(this.stopping);
    await drained;
    clearTimeout(timer);
  }
}
