/**
 * Fail-closed configuration through the real `bin/keyward`: a misspelt secret scope stops start-up, a scope
 * for no store and an unknown metadata name are warnings, and `--strict` turns those warnings into errors.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { componentYaml, runKeyward, startSidecar } from "../helpers/sidecar.js";

const data = mkdtempSync(join(tmpdir(), "keyward-strict-"));
after(() => rmSync(data, { recursive: true, force: true }));
const seed = "strict-seed-5d2e81";
const secretsFile = join(data, "secrets.json");
writeFileSync(secretsFile, JSON.stringify({ greeting: seed, other: "x" }));
const store = componentYaml("fs", "secretstores.local.file", { secretsFile });
const config = (scope: string) =>
  `apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: c\nspec:\n  secrets:\n    scopes:\n${scope}`;

describe("fail-closed configuration and --strict", () => {
  it("a misspelt deniedSecrets stops serve with file, line and the nearest field, so the secret is never served", async () => {
    const r = await runKeyward({
      components: { "fs.yaml": store },
      config: config("    - storeName: fs\n      deniedSecret: [greeting]\n"),
    });
    assert.equal(r.code, 1, r.output);
    assert.match(
      r.output,
      /config\.yaml:9: unknown field \\?"deniedSecret\\?" in a secret scope \(did you mean deniedSecrets\?\)/,
    );
    assert.ok(!r.output.includes(seed));
  });

  it("a scope for no store and an unknown metadata name are warnings; serve still starts", async () => {
    const s = await startSidecar({
      components: {
        "fs.yaml": componentYaml("fs", "secretstores.local.file", { secretsFile, nestedSeperator: "/" }),
      },
      config: config("    - storeName: fss\n      defaultAccess: deny\n"),
    });
    try {
      const res = await fetch(`${s.httpUrl}/v1.0/secrets/fs/greeting`);
      assert.equal(res.status, 200);
      assert.match(
        s.output(),
        /secret scope storeName \\?"fss\\?" matches no secret store \(did you mean fs\?\).*the secret stores are: fs/,
      );
      assert.match(
        s.output(),
        /metadata \\?"nestedSeperator\\?" is not a field of secretstores.local.file \(did you mean nestedSeparator\?\)/,
      );
    } finally {
      await s.stop();
    }
  });

  for (const [what, opts] of [
    ["a scope for no store", { components: { "fs.yaml": store }, config: config("    - storeName: fss\n") }],
    [
      "an unknown metadata name",
      {
        components: {
          "fs.yaml": componentYaml("fs", "secretstores.local.file", { secretsFile, nestedSeperator: "/" }),
        },
      },
    ],
    [
      "a document with a YAML error",
      { components: { "fs.yaml": store, "broken.yaml": "apiVersion: dapr.io/v1alpha1\nkind: [\n" } },
    ],
  ] as const) {
    it(`--strict: ${what} stops serve with exit code 1`, async () => {
      const r = await runKeyward({ ...opts, args: ["--strict"] });
      assert.equal(r.code, 1, r.output);
      assert.match(r.output, /--strict/);
      assert.ok(!r.output.includes(seed));
    });
  }

  it("validate reports the misspelt field as a problem and a scope for no store as a warning (a problem with --strict)", async () => {
    const dir = mkdtempSync(join(data, "r-"));
    writeFileSync(join(dir, "fs.yaml"), store);
    const bad = join(data, "bad.yaml");
    writeFileSync(bad, config("    - storeName: fs\n      DeniedSecrets: [greeting]\n"));
    const v1 = await runKeyward({}, ["validate", "--app-id", "a", "--resources-path", dir, "--config", bad]);
    assert.equal(v1.code, 1, v1.output);
    assert.match(
      v1.output,
      new RegExp(
        `problem: configuration: ${bad}:9: unknown field "DeniedSecrets" in a secret scope \\(did you mean deniedSecrets\\?\\)`,
      ),
    );
    const orphan = join(data, "orphan.yaml");
    writeFileSync(orphan, config("    - storeName: vault\n"));
    const v2 = await runKeyward({}, ["validate", "--app-id", "a", "--resources-path", dir, "--config", orphan]);
    assert.equal(v2.code, 0, v2.output);
    assert.match(v2.output, new RegExp(`warning: ${orphan}:8: secret scope storeName "vault" matches no secret store`));
    const v3 = await runKeyward({}, [
      "validate",
      "--strict",
      "--app-id",
      "a",
      "--resources-path",
      dir,
      "--config",
      orphan,
    ]);
    assert.equal(v3.code, 1, v3.output);
    assert.match(v3.output, /problem: .*matches no secret store.*\(--strict\)/);
  });

  it("the cache's fields are known to every store: no warning under --strict; a bad value names its file and line", async () => {
    const dir = mkdtempSync(join(data, "c-"));
    writeFileSync(
      join(dir, "fs.yaml"),
      componentYaml("fs", "secretstores.local.file", { secretsFile, cacheTTL: "30s" }),
    );
    const ok = await runKeyward({}, ["validate", "--strict", "--app-id", "a", "--resources-path", dir]);
    assert.equal(ok.code, 0, ok.output);
    assert.ok(!/cacheTTL/.test(ok.output), ok.output);
    const s = await startSidecar({
      components: { "fs.yaml": componentYaml("fs", "secretstores.local.file", { secretsFile, cacheTTL: "30s" }) },
      args: ["--strict"],
    });
    try {
      assert.equal((await fetch(`${s.httpUrl}/v1.0/secrets/fs/greeting`)).status, 200);
    } finally {
      await s.stop();
    }
    writeFileSync(
      join(dir, "fs.yaml"),
      componentYaml("fs", "secretstores.local.file", { secretsFile, cacheTTL: "soon" }),
    );
    const bad = await runKeyward({}, ["validate", "--app-id", "a", "--resources-path", dir]);
    assert.equal(bad.code, 1, bad.output);
    assert.match(bad.output, /fs\.yaml:\d+: component fs: metadata cacheTTL: "soon" is not a duration/);
  });

  it("pollInterval (change notifications) is known to every store; a bad or too short value is refused", async () => {
    const dir = mkdtempSync(join(data, "p-"));
    const check = async (value: string) => {
      writeFileSync(
        join(dir, "fs.yaml"),
        componentYaml("fs", "secretstores.local.file", { secretsFile, pollInterval: value }),
      );
      return runKeyward({}, ["validate", "--strict", "--app-id", "a", "--resources-path", dir]);
    };
    const ok = await check("10s");
    assert.equal(ok.code, 0, ok.output);
    assert.ok(!/pollInterval/.test(ok.output), ok.output);
    const bad = await check("often");
    assert.equal(bad.code, 1, bad.output);
    assert.match(bad.output, /fs\.yaml:\d+: component fs: metadata pollInterval: "often" is not a duration/);
    const short = await check("1ms");
    assert.equal(short.code, 1, short.output);
    assert.match(short.output, /metadata pollInterval: must be at least 100ms/);
  });
});
