/** @module Shared pieces of the stores' secret-name rules (each store's `secretName`). */
import { SecretStoreError } from "./types.js";

/** C0 and C1 control characters and DEL, NUL included: no backend names a secret with them on purpose. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

/** The refusal every store gives: the name quoted as JSON, so control characters show escaped, never raw. */
export function invalidName(name: string, rule: string): SecretStoreError {
  return new SecretStoreError("invalid_request", `secret name ${JSON.stringify(name)} is not valid here: ${rule}`);
}

/** A name matching `pattern`, or the store's refusal stating `rule`. */
export function nameMatching(name: string, pattern: RegExp, rule: string): string {
  if (!pattern.test(name)) throw invalidName(name, rule);
  return name;
}
