/** @module A version for backends that keep none: a digest of the secret's answer, for change notifications. */
import { createHash } from "node:crypto";
import type { SecretData } from "../types.js";

/** Equal for equal maps whatever their key order; reveals nothing of the values (a truncated SHA-256). */
export function digestVersion(data: SecretData | null): string {
  const entries = Object.entries(data ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return "sha256:" + createHash("sha256").update(JSON.stringify(entries)).digest("hex").slice(0, 16);
}
