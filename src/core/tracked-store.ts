/**
 * @module A store wrapper that counts calls in flight, so a hot reload can close a replaced instance only
 * after the requests it was already serving have their answers (make-before-break).
 */
import type { SecretStore } from "../stores/types.js";

export class TrackedStore implements SecretStore {
  private active = 0;
  private idle: (() => void)[] = [];
  readonly ping?: SecretStore["ping"];
  /** Bound to the inner store in the constructor, when it has them (change notifications). */
  readonly watchChanges?: SecretStore["watchChanges"];
  readonly versionOf?: SecretStore["versionOf"];
  /** Synchronous, so nothing is in flight to track. */
  readonly peekSecret?: SecretStore["peekSecret"];

  constructor(readonly inner: SecretStore) {
    const ping = inner.ping;
    if (ping) this.ping = (...args) => this.track(ping.apply(inner, args));
    // Name hooks the runtime may ask a store (how it spells and folds secret names for scopes) must
    // reach the store itself: without them a wrapped store would be checked against the raw name. So must
    // the change-notification hooks: a wrapped store would otherwise look as if it could not notify.
    const hooks = inner as unknown as Record<string, unknown>;
    const self = this as unknown as Record<string, unknown>;
    for (const hook of ["secretName", "scopeName", "watchChanges", "versionOf", "peekSecret"]) {
      const fn = hooks[hook];
      if (typeof fn === "function") self[hook] = (fn as (...a: unknown[]) => unknown).bind(inner);
    }
  }

  init(...args: Parameters<SecretStore["init"]>): Promise<void> {
    return this.inner.init(...args);
  }

  getSecret(...args: Parameters<SecretStore["getSecret"]>): ReturnType<SecretStore["getSecret"]> {
    return this.track(this.inner.getSecret(...args));
  }

  bulkGetSecret(...args: Parameters<SecretStore["bulkGetSecret"]>): ReturnType<SecretStore["bulkGetSecret"]> {
    return this.track(this.inner.bulkGetSecret(...args));
  }

  features(): ReturnType<SecretStore["features"]> {
    return this.inner.features();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** Resolves once no call is in flight, or after `maxWaitMs` (a call that never ends must not keep the old instance for ever). */
  drained(maxWaitMs: number): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, maxWaitMs);
      timer.unref();
      this.idle.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.active++;
    p.then(this.settled, this.settled);
    return p;
  }

  /** One function for every call, not a closure per call (hot path). */
  private readonly settled = (): void => {
    if (--this.active > 0) return;
    const waiting = this.idle;
    this.idle = [];
    for (const w of waiting) w();
  };
}
