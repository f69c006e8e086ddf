/** @module Why a store call failed, as one fixed word for audit lines and spans (never the error's text). */
import { ApiError } from "../errors/catalogue.js";
import { SecretStoreError } from "../stores/types.js";
import { Cancelled } from "./cancellation.js";

/** The store's error kind (`not_found`, `unavailable`...), `cancelled`, or `internal`. */
export function storeErrorKind(err: unknown): string {
  const cause = err instanceof ApiError ? err.cause : err;
  if (cause instanceof SecretStoreError) return cause.kind;
  return cause instanceof Cancelled ? "cancelled" : "internal";
}
