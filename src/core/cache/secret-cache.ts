/**
 * @module One component's answer cache: least recently used entries go first past `maxEntries` or the
 * memory bound; an entry is served for `ttlMs`, and while the store fails for at most `staleIfErrorMs`
 * more. Concurrent misses for one key make one store call. The secrets service checks scopes before it
 * asks the cache, so a cached answer never reaches a caller the scopes deny.
 */
import type { CacheOptions } from "./options.js";
import { Flight } from "./flight.js";

/** Counters the cache keeps for the component's metrics; plain fields, bumped on the hot path. */
export interface CacheCounters {
  hits: number;
  misses: number;
  stale: number;
  evictions: number;
  storeCalls: number;
}

/** Expired entries are swept out every so many stored answers (eviction alone would keep them to the bound). */
const SWEEP_EVERY = 256;

export interface Cacheable {
  size(): number;
}

interface Entry<A> {
  /** The secret name the entry answers, or undefined for a bulk answer (every name). */
  name: string | undefined;
  answer: A;
  expires: number;
  bytes: number;
}

export interface CacheRequest<A> {
  key: string;
  /** Secret name (as the store reads it); undefined for a bulk read. */
  name: string | undefined;
  /** Skip the stored answer and replace it with a fresh one (`refresh_cache`). */
  refresh: boolean;
  signal: AbortSignal | undefined;
  load: (signal: AbortSignal) => Promise<A>;
  /** Whether a failed load may be answered with an expired entry (not for "not found" or a refused name). */
  staleAllowed: (err: unknown) => boolean;
  /** Called when a stale answer is served, to log it. */
  onStale: (err: unknown, expiredMs: number) => void;
}

export class SecretCache<A extends Cacheable = Cacheable> {
  private readonly entries = new Map<string, Entry<A>>();
  private readonly flights = new Map<string, Flight<A>>();
  private bytes = 0;
  /** Bumped by every invalidation: a load started before it must not store its (possibly old) answer. */
  private generation = 0;
  private stores = 0;

  constructor(
    readonly options: CacheOptions,
    private readonly counters: CacheCounters,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** A fresh answer for `key` at once (a hit, counted as one), or undefined: then `get` counts the miss. */
  peek(key: string): A | undefined {
    const entry = this.entries.get(key);
    if (!entry || entry.expires <= this.now()) return undefined;
    // Re-inserting moves the entry to the young end of the map's order, which is the LRU order.
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.counters.hits++;
    return entry.answer;
  }

  async get(req: CacheRequest<A>): Promise<A> {
    const hit = req.refresh ? undefined : this.peek(req.key);
    if (hit) return hit;
    this.counters.misses++;
    let flight = req.refresh ? undefined : this.flights.get(req.key);
    if (!flight) flight = this.startFlight(req);
    try {
      return await flight.wait(req.signal);
    } catch (err) {
      const old = this.entries.get(req.key);
      if (req.refresh || req.signal?.aborted || !old || !req.staleAllowed(err)) throw err;
      const late = this.now() - old.expires;
      if (late > this.options.staleIfErrorMs) throw err;
      this.counters.stale++;
      req.onStale(err, Math.max(0, late));
      return old.answer;
    }
  }

  private startFlight(req: CacheRequest<A>): Flight<A> {
    const generation = this.generation;
    this.counters.storeCalls++;
    const flight = new Flight<A>(async (signal) => {
      try {
        const answer = await req.load(signal);
        if (generation === this.generation) this.store(req.key, req.name, answer);
        return answer;
      } finally {
        if (this.flights.get(req.key) === flight) this.flights.delete(req.key);
      }
    });
    this.flights.set(req.key, flight);
    return flight;
  }

  private store(key: string, name: string | undefined, answer: A): void {
    if (++this.stores % SWEEP_EVERY === 0) this.sweep();
    const bytes = answer.size() + key.length * 2;
    this.drop(key);
    if (bytes > this.options.maxBytes) return;
    this.entries.set(key, { name, answer, expires: this.now() + this.options.ttlMs, bytes });
    this.bytes += bytes;
    while (this.entries.size > this.options.maxEntries || this.bytes > this.options.maxBytes) {
      const oldest = this.entries.keys().next().value as string;
      this.drop(oldest);
      this.counters.evictions++;
    }
  }

  private drop(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.bytes;
  }

  /**
   * Forgets answers so the next read asks the store: every answer when `name` is undefined, else the
   * answers for that secret (as the store reads its name, any request metadata) and every bulk answer.
   * Loads already under way do not store what they read.
   */
  invalidate(name?: string): void {
    this.generation++;
    for (const [key, entry] of [...this.entries])
      if (name === undefined || entry.name === undefined || entry.name === name) this.drop(key);
  }

  /** Drops expired entries that can no longer serve even as stale answers. */
  private sweep(): void {
    const limit = this.now() - this.options.staleIfErrorMs;
    for (const [key, entry] of [...this.entries]) if (entry.expires <= limit) this.drop(key);
  }
}
