/**
 * @module Limits on the extended metadata apps set with `PUT /v1.0/metadata/{key}` or gRPC `SetMetadata`.
 * Every entry is sent back in each metadata answer, so without a bound a few large PUTs would grow the
 * process without end and make every GetMetadata answer larger than a gRPC message may be.
 */
import { ApiError, Errors } from "../errors/catalogue.js";

export const EXTENDED_METADATA_LIMITS = { maxKeys: 100, maxTotalBytes: 64 * 1024 } as const;

function entryBytes(key: string, value: string): number {
  return Buffer.byteLength(key) + Buffer.byteLength(value);
}

/** Stores `key` = `value`, or throws ERR_METADATA_SET (400 / INVALID_ARGUMENT) when a limit would be passed. */
export function setExtendedMetadata(map: Map<string, string>, key: string, value: string): void {
  const { maxKeys, maxTotalBytes } = EXTENDED_METADATA_LIMITS;
  const old = map.get(key);
  if (old === undefined && map.size >= maxKeys)
    throw new ApiError(Errors.METADATA_SET, [`at most ${maxKeys} keys may be set; ${JSON.stringify(key)} is new`]);
  let total = entryBytes(key, value);
  for (const [k, v] of map) if (k !== key) total += entryBytes(k, v);
  if (total > maxTotalBytes)
    throw new ApiError(Errors.METADATA_SET, [
      `keys and values may total at most ${maxTotalBytes} bytes; setting ${JSON.stringify(key)} would make ${total}`,
    ]);
  map.set(key, value);
}
