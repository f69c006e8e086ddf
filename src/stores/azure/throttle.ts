/**
 * @module Key Vault throttling (429). The Azure SDK's own retry policy does the waiting: it honours
 * `retry-after-ms`, `x-ms-retry-after-ms` and `Retry-After` and stops waiting when the request's abort signal
 * fires. This policy only watches each try, to log the wait and to remember, per call (keyed by its signal), the
 * last 429 and the last transport failure: a call whose time budget runs out while waiting can then say why.
 */
import type { PipelinePolicy, PipelineResponse } from "@azure/core-rest-pipeline";
import type { StoreLogger } from "../types.js";

/** Tries after the first, for a 429 as for a network failure or a 5xx. */
export const MAX_RETRIES = 3;

/** What the tries of one call met. */
export interface CallTrace {
  /** The last transport error, while the call's budget was still running. */
  lastFailure?: unknown;
  /** The wait the last 429 asked for; cleared by any other answer. */
  throttledMs?: number | undefined;
  throttles: number;
}

/** Milliseconds a 429 asks us to wait, from any of the headers Azure uses; undefined when none is usable. */
export function retryAfterMs(response: PipelineResponse, now = Date.now()): number | undefined {
  const get = (h: string) => response.headers.get(h);
  for (const h of ["retry-after-ms", "x-ms-retry-after-ms"]) {
    const v = Number(get(h));
    if (get(h) !== undefined && Number.isFinite(v) && v >= 0) return v;
  }
  const ra = get("retry-after");
  if (ra === undefined) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(ra)) return Number(ra) * 1000;
  const date = Date.parse(ra);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export interface ObserveOptions {
  vault: string;
  log: StoreLogger;
  traces: WeakMap<object, CallTrace>;
}

/** Runs on each try (inside the SDK's retry policy): logs 429 waits and fills the call's trace. */
export function observeTriesPolicy(opts: ObserveOptions): PipelinePolicy {
  return {
    name: "keywardObserveTries",
    async sendRequest(request, next) {
      const signal = request.abortSignal;
      let trace: CallTrace | undefined;
      if (signal) {
        trace = opts.traces.get(signal) ?? { throttles: 0 };
        opts.traces.set(signal, trace);
      }
      let response: PipelineResponse;
      try {
        response = await next(request);
      } catch (err) {
        if (trace && !signal?.aborted) trace.lastFailure = err;
        throw err;
      }
      if (!trace) return response;
      trace.throttledMs = response.status === 429 ? retryAfterMs(response) : undefined;
      if (trace.throttledMs !== undefined) {
        trace.throttles++;
        opts.log.warn("azure.keyvault: throttled by Key Vault, waiting as Retry-After says", {
          vault: opts.vault,
          waitMs: Math.round(trace.throttledMs),
          attempt: trace.throttles,
        });
      }
      return response;
    },
  };
}
