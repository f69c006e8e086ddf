/**
 * Asks for a secret the Configuration denies under other spellings of its name, over one transport, and checks
 * that the secret's value never comes back: each spelling is either denied by the scope (the store reads the
 * denied secret under it) or refused as a name the store does not accept.
 */
import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import { expectError, type Outcome, type SecretsClient } from "./clients.js";

/**
 * `denied`: the store reads the denied secret under this spelling, so the scope must refuse it (403).
 * `refused`: the store refuses the name itself (ERR_SECRET_GET naming the rule).
 * `elsewhere`: a different, missing secret; any answer but the denied value will do.
 */
export type Expected = "denied" | "refused" | "elsewhere";

export type Spellings = Record<string, Expected>;

const REFUSAL = /secret name .* is not (valid|a valid)|secret name is empty|missing secret name/;

function show(o: Outcome): string {
  return JSON.stringify(o).slice(0, 300);
}

export async function assertSpellings(
  client: SecretsClient,
  store: string,
  deniedValue: string,
  spellings: Spellings,
): Promise<void> {
  for (const [name, expected] of Object.entries(spellings)) {
    const label = `${client.transport} ${store} ${JSON.stringify(name)} (${expected})`;
    const o = await client.get(store, name);
    assert.ok(!JSON.stringify(o).includes(deniedValue), `${label} served the denied value: ${show(o)}`);
    try {
      if (expected === "denied")
        expectError(o, { errorCode: "ERR_PERMISSION_DENIED", http: 403, grpc: status.PERMISSION_DENIED });
      if (expected === "refused")
        expectError(o, { errorCode: "ERR_SECRET_GET", http: 500, grpc: status.INTERNAL, message: REFUSAL });
    } catch (err) {
      assert.fail(`${label}: ${(err as Error).message}`);
    }
  }
}

/** The bulk answer holds none of `denied` (compared as the backend compares names) and not the value. */
export async function assertBulkWithout(
  client: SecretsClient,
  store: string,
  deniedValue: string,
  isDenied: (name: string) => boolean,
): Promise<void> {
  const o = await client.bulk(store);
  assert.ok(o.ok, `${client.transport} bulk ${store}: ${show(o)}`);
  const names = Object.keys(o.data ?? {});
  assert.deepEqual(names.filter(isDenied), [], `${client.transport} bulk ${store} kept denied secrets`);
  assert.ok(!JSON.stringify(o.data).includes(deniedValue), `${client.transport} bulk ${store} served the value`);
}

/** A Configuration with one `secrets.scopes` entry per store. */
export function scopesConfig(
  scopes: { storeName: string; deniedSecrets?: string[]; allowedSecrets?: string[] }[],
): string {
  const entries = scopes
    .map((s) => {
      const lines = [`      - storeName: ${s.storeName}`, `        defaultAccess: allow`];
      if (s.deniedSecrets) lines.push(`        deniedSecrets: ${JSON.stringify(s.deniedSecrets)}`);
      if (s.allowedSecrets) lines.push(`        allowedSecrets: ${JSON.stringify(s.allowedSecrets)}`);
      return lines.join("\n");
    })
    .join("\n");
  return `apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: scoped\nspec:\n  secrets:\n    scopes:\n${entries}\n`;
}
