/**
 * @module The runtime's reserved component metadata (the cache's fields, and the change notifications'
 * pollInterval): read here, declared for every store type, and removed before the store sees its
 * configuration (a store never learns it is cached or watched).
 */
import { parseDuration } from "../../stores/metadata.js";
import type { ComponentMetadata } from "../../stores/types.js";

export interface CacheOptions {
  /** How long an answer is served without asking the store. */
  ttlMs: number;
  maxEntries: number;
  /** Estimated memory the entries may hold; least recently used entries go first past it. */
  maxBytes: number;
  /** How long past its expiry an answer may still be served while the store fails; 0 = never. */
  staleIfErrorMs: number;
}

export const DEFAULT_MAX_ENTRIES = 10_000;
/** A fixed bound, so a component of huge secrets cannot grow the heap without limit. */
export const CACHE_MAX_BYTES = 64 * 1024 * 1024;

/** The reserved fields, in the shape store metadata is declared in (name, type, default, description). */
export const CACHE_METADATA_FIELDS = [
  {
    name: "cacheTTL",
    type: "duration",
    default: "0",
    description:
      "Keyward: how long an answer is served from the cache without asking the store; 0 or absent = no cache",
  },
  {
    name: "cacheMaxEntries",
    type: "int",
    default: String(DEFAULT_MAX_ENTRIES),
    description: "Keyward: most answers the cache holds; the least recently used go first",
  },
  {
    name: "cacheStaleIfError",
    type: "duration",
    default: "0",
    description: "Keyward: when the store fails, serve the last good answer for at most this long past its expiry",
  },
  {
    name: "pollInterval",
    type: "duration",
    default: "30s",
    description:
      "Keyward: how often a subscribed secret's version is asked of a store that cannot push changes (change notifications)",
  },
] as const;

/** How often a polled subscription asks the store for the secret's version, without pollInterval. */
export const DEFAULT_POLL_INTERVAL_MS = 30_000;
/** A floor, so a component cannot make Keyward hammer its backend. */
export const MIN_POLL_INTERVAL_MS = 100;

const RESERVED = new Set(CACHE_METADATA_FIELDS.map((f) => f.name.toLowerCase()));

/** True for a reserved cache name in any case (daprd's metadata names are case-insensitive). */
export function isCacheMetadata(name: string): boolean {
  return RESERVED.has(name.toLowerCase());
}

/**
 * Splits a component's resolved metadata into its cache options (undefined when caching is off) and the
 * metadata the store is given. Throws an Error naming the field for a value that is not valid.
 */
export function splitCacheMetadata(metadata: ComponentMetadata): {
  options: CacheOptions | undefined;
  storeMetadata: ComponentMetadata;
  pollIntervalMs: number;
} {
  const storeMetadata: Record<string, string> = {};
  const found = new Map<string, string>();
  for (const [k, v] of Object.entries(metadata)) {
    if (isCacheMetadata(k)) found.set(k.toLowerCase(), v);
    else storeMetadata[k] = v;
  }
  if (found.size === 0) return { options: undefined, storeMetadata, pollIntervalMs: DEFAULT_POLL_INTERVAL_MS };
  const ttlMs = duration(found, "cacheTTL");
  const staleIfErrorMs = duration(found, "cacheStaleIfError");
  const maxEntries = count(found, "cacheMaxEntries");
  const pollIntervalMs = found.get("pollinterval")?.trim() ? duration(found, "pollInterval") : DEFAULT_POLL_INTERVAL_MS;
  if (pollIntervalMs < MIN_POLL_INTERVAL_MS)
    throw new Error(`metadata pollInterval: must be at least ${MIN_POLL_INTERVAL_MS}ms`);
  if (ttlMs === 0) return { options: undefined, storeMetadata, pollIntervalMs };
  return { options: { ttlMs, maxEntries, maxBytes: CACHE_MAX_BYTES, staleIfErrorMs }, storeMetadata, pollIntervalMs };
}

function duration(found: ReadonlyMap<string, string>, name: string): number {
  const raw = found.get(name.toLowerCase())?.trim();
  if (raw === undefined || raw === "") return 0;
  const ms = parseDuration(raw);
  if (ms === undefined || ms < 0 || !Number.isFinite(ms))
    throw new Error(`metadata ${name}: ${shown(raw)} is not a duration of 0 or more (for example 30s, 5m, 1h)`);
  return ms;
}

function count(found: ReadonlyMap<string, string>, name: string): number {
  const raw = found.get(name.toLowerCase())?.trim();
  if (raw === undefined || raw === "") return DEFAULT_MAX_ENTRIES;
  if (!/^\+?\d{1,9}$/.test(raw) || Number(raw) < 1)
    throw new Error(`metadata ${name}: ${shown(raw)} is not a whole number of 1 or more`);
  return Number(raw);
}

function shown(raw: string): string {
  const text = JSON.stringify(raw);
  return text.length > 80 ? `${text.slice(0, 77)}..."` : text;
}
