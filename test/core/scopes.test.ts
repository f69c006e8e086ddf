import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SecretScope } from "../../src/resources/configuration.js";
import { isSecretAllowed } from "../../src/core/scopes.js";

function scopes(
  ...list: { store: string; access?: "allow" | "deny"; allowed?: string[]; denied?: string[] }[]
): Map<string, SecretScope> {
  return new Map(
    list.map((s) => [
      s.store,
      {
        storeName: s.store,
        defaultAccess: s.access ?? "allow",
        allowedSecrets: new Set(s.allowed ?? []),
        deniedSecrets: new Set(s.denied ?? []),
      },
    ]),
  );
}

const KEYS = ["s1", "s2", "s3", "S1", ""];
const allowedKeys = (m: Map<string, SecretScope>, store = "vault") => KEYS.filter((k) => isSecretAllowed(m, store, k));

// docs/compatibility.md §4.3: every row of daprd's decision table.
describe("isSecretAllowed (daprd's decision table)", () => {
  it("no scope entry for the store: everything allowed", () => {
    assert.deepEqual(allowedKeys(new Map()), KEYS);
    assert.deepEqual(allowedKeys(scopes({ store: "other", access: "deny" })), KEYS);
  });

  it("allow/deny with empty lists: allow or deny everything", () => {
    assert.deepEqual(allowedKeys(scopes({ store: "vault", access: "allow" })), KEYS);
    assert.deepEqual(allowedKeys(scopes({ store: "vault", access: "deny" })), []);
  });

  it("deny + allowedSecrets [s1]: only s1", () => {
    assert.deepEqual(allowedKeys(scopes({ store: "vault", access: "deny", allowed: ["s1"] })), ["s1"]);
  });

  it("allow + deniedSecrets [s1]: all but s1", () => {
    assert.deepEqual(allowedKeys(scopes({ store: "vault", access: "allow", denied: ["s1"] })), ["s2", "s3", "S1", ""]);
  });

  it("allow + allowedSecrets [s1]: only s1 (a non-empty allow-list wins outright)", () => {
    assert.deepEqual(allowedKeys(scopes({ store: "vault", access: "allow", allowed: ["s1"] })), ["s1"]);
  });

  it("deny + deniedSecrets [s1]: nothing", () => {
    assert.deepEqual(allowedKeys(scopes({ store: "vault", access: "deny", denied: ["s1"] })), []);
  });

  it("any + allowedSecrets [s1] + deniedSecrets [s2]: only s1", () => {
    for (const access of ["allow", "deny"] as const) {
      assert.deepEqual(allowedKeys(scopes({ store: "vault", access, allowed: ["s1"], denied: ["s2"] })), ["s1"]);
    }
  });

  it("a name in both lists is allowed (the allow-list is checked first)", () => {
    assert.deepEqual(allowedKeys(scopes({ store: "vault", access: "deny", allowed: ["s1"], denied: ["s1"] })), ["s1"]);
  });

  it("matching is exact: case-sensitive store and secret names", () => {
    const m = scopes({ store: "vault", access: "deny", allowed: ["s1"] });
    assert.equal(isSecretAllowed(m, "vault", "S1"), false);
    assert.equal(isSecretAllowed(m, "Vault", "anything"), true);
  });
});

describe("isSecretAllowed with a store that folds names", () => {
  const lower = { scopeName: (n: string) => n.toLowerCase() };

  it("the deny list and the name are folded alike", () => {
    const m = scopes({ store: "vault", denied: ["S1"] });
    assert.deepEqual(
      KEYS.filter((k) => isSecretAllowed(m, "vault", k, lower)),
      ["s2", "s3", ""],
    );
    assert.equal(isSecretAllowed(m, "vault", "s1"), true, "without the store's fold the lists compare exactly");
  });

  it("the allow list too, and a fold is computed per store, not shared between stores", () => {
    const m = scopes({ store: "vault", access: "deny", allowed: ["s1"] });
    assert.deepEqual(
      KEYS.filter((k) => isSecretAllowed(m, "vault", k, lower)),
      ["s1", "S1"],
    );
    const short = { scopeName: (n: string) => n.slice(n.lastIndexOf("/") + 1) };
    assert.equal(isSecretAllowed(m, "vault", "projects/p/secrets/s1", short), true);
    assert.equal(isSecretAllowed(m, "vault", "S1", short), false);
  });
});
