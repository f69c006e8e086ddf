import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ConfigurationError, loadConfiguration, unmatchedScopeWarnings } from "../../src/resources/configuration.js";

const dir = mkdtempSync(join(tmpdir(), "keyward-config-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(text: string): string {
  const p = join(dir, `config-${n++}.yaml`);
  writeFileSync(p, text);
  return p;
}

const HEAD = "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: appconfig\nspec:\n";
const scopesFile = (scopes: string) => file(`${HEAD}  secrets:\n    scopes:\n${scopes}`);

describe("Configuration: spec.secrets.scopes", () => {
  it("reads each scope; defaultAccess is case-insensitive and empty means allow", async () => {
    const cfg = await loadConfiguration([
      scopesFile(
        [
          "      - storeName: vault",
          "        defaultAccess: DENY",
          '        allowedSecrets: ["s1", "s2"]',
          "        deniedSecrets: [s3]",
          "      - storeName: local",
          "        deniedSecrets: [x]",
          "      - storeName: open",
          "        defaultAccess: Allow",
          "",
        ].join("\n"),
      ),
    ]);
    assert.deepEqual([...cfg.scopes.keys()], ["vault", "local", "open"]);
    const vault = cfg.scopes.get("vault")!;
    assert.equal(vault.defaultAccess, "deny");
    assert.deepEqual([...vault.allowedSecrets], ["s1", "s2"]);
    assert.deepEqual([...vault.deniedSecrets], ["s3"]);
    assert.equal(cfg.scopes.get("local")!.defaultAccess, "allow");
    assert.equal(cfg.scopes.get("open")!.defaultAccess, "allow");
  });

  it("a repeated storeName fails with daprd's message, located", async () => {
    const f = scopesFile(
      "      - storeName: vault\n      - storeName: other\n      - storeName: vault\n        defaultAccess: deny\n",
    );
    await assert.rejects(loadConfiguration([f]), (err: unknown) => {
      assert.ok(err instanceof ConfigurationError);
      assert.match(err.message, /vault storeName is repeated in secrets configuration/);
      assert.ok(err.message.startsWith(`${f}:10:`), err.message);
      return true;
    });
  });

  it("a defaultAccess other than allow/deny fails with daprd's message", async () => {
    const f = scopesFile("      - storeName: vault\n        defaultAccess: maybe\n");
    await assert.rejects(loadConfiguration([f]), /defaultAccess maybe can be either allow or deny/);
  });

  it("lists of the wrong shape are located errors", async () => {
    await assert.rejects(
      loadConfiguration([scopesFile("      - storeName: v\n        allowedSecrets: s1\n")]),
      /allowedSecrets must be a list of strings/,
    );
    await assert.rejects(
      loadConfiguration([file(`${HEAD}  secrets:\n    scopes: vault\n`)]),
      /spec\.secrets\.scopes must be a list/,
    );
  });

  it("secret names are kept as written, as yaml.v3 decodes scalars into strings", async () => {
    const cfg = await loadConfiguration([
      scopesFile("      - storeName: 123\n        allowedSecrets: [007, 1.0, true, yes, 0x1F, ~]\n"),
    ]);
    assert.deepEqual([...cfg.scopes.get("123")!.allowedSecrets], ["007", "1.0", "true", "yes", "0x1F", ""]);
  });

  it("field names are case-sensitive (yaml.v3), so another spelling is an unknown field that stops start-up", async () => {
    const f = scopesFile("      - StoreName: vault\n        defaultAccess: deny\n");
    await assert.rejects(loadConfiguration([f]), {
      name: "Error",
      message: `${f}:8: unknown field "StoreName" in a secret scope (did you mean storeName?); known fields: storeName, defaultAccess, allowedSecrets, deniedSecrets`,
    });
  });

  it("a misspelt rule stops start-up at its line with the nearest known field, instead of being ignored", async () => {
    const f = scopesFile(
      ["      - storeName: vault", "        defaultAccess: allow", '        deniedSecret: ["db-password"]', ""].join(
        "\n",
      ),
    );
    await assert.rejects(loadConfiguration([f]), (err: Error) => {
      assert.ok(err instanceof ConfigurationError);
      assert.match(
        err.message,
        new RegExp(`^${f}:10: unknown field "deniedSecret" in a secret scope \\(did you mean deniedSecrets\\?\\)`),
      );
      return true;
    });
  });

  it("an unknown key beside scopes, or a spec.secrets that is not a mapping, stops start-up", async () => {
    const beside = file(`${HEAD}  secrets:\n    scope:\n    - storeName: vault\n      defaultAccess: deny\n`);
    await assert.rejects(loadConfiguration([beside]), {
      message: `${beside}:7: unknown field "scope" in spec.secrets (did you mean scopes?); known fields: scopes`,
    });
    const far = scopesFile("      - storeName: vault\n        whatever: 1\n");
    await assert.rejects(loadConfiguration([far]), /unknown field "whatever" in a secret scope; known fields/);
    const list = file(`${HEAD}  secrets:\n  - storeName: vault\n`);
    await assert.rejects(loadConfiguration([list]), /spec\.secrets must be a mapping/);
  });

  it("a scope whose storeName matches no store is reported with its line and the stores that exist", async () => {
    const f = scopesFile("      - storeName: vualt\n        defaultAccess: deny\n      - storeName: local\n");
    const cfg = await loadConfiguration([f]);
    assert.deepEqual(unmatchedScopeWarnings(cfg.scopes, ["local", "vault"]), [
      `${f}:8: secret scope storeName "vualt" matches no secret store (did you mean vault?), so its rules apply to nothing; the secret stores are: local, vault`,
    ]);
    assert.deepEqual(unmatchedScopeWarnings(cfg.scopes, ["local", "vualt"]), []);
  });

  it("the file is expanded like Go's os.ExpandEnv before parsing", async () => {
    const f = scopesFile(
      '      - storeName: ${STORE_NAME}\n        defaultAccess: $ACCESS\n        allowedSecrets: [$FIRST, "${UNSET_VAR}x"]\n',
    );
    const cfg = await loadConfiguration([f], { STORE_NAME: "vault", ACCESS: "deny", FIRST: "db-password" });
    const scope = cfg.scopes.get("vault")!;
    assert.equal(scope.defaultAccess, "deny");
    assert.deepEqual([...scope.allowedSecrets], ["db-password", "x"]);
  });

  it("several files: a later file's secrets section replaces an earlier one; files without it keep it", async () => {
    const a = scopesFile("      - storeName: a\n        defaultAccess: deny\n");
    const b = scopesFile("      - storeName: b\n        defaultAccess: deny\n");
    const noSecrets = file(`${HEAD}  tracing:\n    samplingRate: "1"\n`);
    assert.deepEqual([...(await loadConfiguration([a, b])).scopes.keys()], ["b"]);
    assert.deepEqual([...(await loadConfiguration([a, noSecrets])).scopes.keys()], ["a"]);
    assert.deepEqual([...(await loadConfiguration([noSecrets, a])).scopes.keys()], ["a"]);
  });

  it("no files, an empty file or a file without spec mean no scopes", async () => {
    assert.equal((await loadConfiguration([])).scopes.size, 0);
    assert.equal((await loadConfiguration([file("")])).scopes.size, 0);
    assert.equal(
      (await loadConfiguration([file("apiVersion: dapr.io/v1alpha1\nkind: Configuration\n")])).scopes.size,
      0,
    );
    assert.equal((await loadConfiguration([file(`${HEAD}  secrets:\n`)])).scopes.size, 0);
  });

  it("a missing file or broken YAML is an error naming the file (and line), without quoting it", async () => {
    const missing = join(dir, "nope.yaml");
    await assert.rejects(
      loadConfiguration([missing]),
      (err: unknown) => err instanceof ConfigurationError && err.message.includes(missing),
    );
    const seed = "cfg-seed-55e1b0";
    const broken = file(`${HEAD}  secrets:\n    scopes:\n      - storeName: "${seed}\n        - x: [\n`);
    await assert.rejects(loadConfiguration([broken]), (err: unknown) => {
      assert.ok(err instanceof ConfigurationError);
      assert.match(err.message, new RegExp(`^${broken}:\\d+: YAML error`));
      assert.doesNotMatch(err.message, new RegExp(seed));
      return true;
    });
  });
});
