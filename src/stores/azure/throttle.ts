/**
 * @module Key Vault throttling (429): waits as Retry-After says, but only within the request's time budget. The
 * SDK's own retry policy would also wait, yet it cannot tell a caller's deadline from a throttle, so the header is
 * hidden from it and handled here.
 */
import type { AbortSignalLike } from "@azure/abort-controller";
import type { PipelinePolicy, PipelineResponse } from "@azure/core-rest-pipeline";
import { SecretStoreError, type StoreLogger } from "../types.js";

const HIDDEN_PREFIX = "x-keyward-hidden-";
const RETRY_AFTER_HEADERS = ["retry-after-ms", "x-ms-retry-after-ms", "retry-after"];

/**
 * Runs on each try: renames Retry-After on 429s so the SDK's retry policy leaves them to `throttlePolicy`, and
 * remembers the last network failure per call (keyed by its signal), so a call whose budget runs out during the
 * SDK's retries can still say the vault was unreachable.
 */
export function hideRetryAfterPolicy(lastFailure?: WeakMap<object, unknown>): PipelinePolicy {
  return {
    name: "keywardHideRetryAfter",
    async sendRequest(request, next) {
      let response: PipelineResponse;
      try {
        response = await next(request);
      } catch (err) {
        if (request.abortSignal && !request.abortSignal.aborted) lastFailure?.set(request.abortSignal, err);
        throw err;
      }
      if (response.status === 429) {
        for (const h of RETRY_AFTER_HEADERS) {
          const v = response.headers.get(h);
          if (v !== undefined) {
            response.headers.delete(h);
            response.headers.set(HIDDEN_PREFIX + h, v);
          }
        }
      }
      return response;
    },
  };
}

/** Milliseconds a 429 asks us to wait, from any of the headers Azure uses; undefined when none is usable. */
export function retryAfterMs(response: PipelineResponse, now = Date.now()): number | undefined {
  const get = (h: string) => response.headers.get(HIDDEN_PREFIX + h) ?? response.headers.get(h);
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

function sleep(ms: number, signal: AbortSignalLike | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(t);
      resolve(false);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export interface ThrottleOptions {
  vault: string;
  log: StoreLogger;
  /** Retries after 429 before giving up (the SDK then reports the 429). */
  maxRetries?: number;
  /** Wait when a 429 carries no usable Retry-After. */
  fallbackMs?: number;
}

/** Outermost policy: on 429, waits Retry-After (abortable by the request's signal) and sends again. */
export function throttlePolicy(opts: ThrottleOptions): PipelinePolicy {
  const maxRetries = opts.maxRetries ?? 5;
  return {
    name: "keywardThrottle",
    async sendRequest(request, next) {
      for (let attempt = 0; ; attempt++) {
        const response = await next(request);
        if (response.status !== 429 || attempt >= maxRetries) return response;
        const wait = retryAfterMs(response) ?? (opts.fallbackMs ?? 1000) * 2 ** attempt;
        opts.log.warn("azure.keyvault: throttled by Key Vault, waiting as Retry-After says", {
          vault: opts.vault,
          waitMs: Math.round(wait),
          attempt: attempt + 1,
        });
        if (!(await sleep(wait, request.abortSignal))) {
          throw new SecretStoreError(
            "throttled",
            `throttled: Azure Key Vault ${opts.vault} answered 429 Too Many Requests and asked to wait ${Math.ceil(wait / 1000)} s (Retry-After), longer than the request's remaining time budget`,
          );
        }
      }
    },
  };
}
