/** `keyward get`: one secret through the same service as the API, for scripts. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { componentYaml } from "../helpers/sidecar.js";
import { keywardToEnd, workFolder } from "../helpers/keyward-run.js";

const dir = workFolder("get");
const pw = `pw-${randomBytes(8).toString("hex")}`;
const hidden = `hidden-${randomBytes(8).toString("hex")}`;
const resources = join(dir, "resources");
mkdirSync(resources);
writeFileSync(
  join(dir, "secrets.json"),
  JSON.stringify({ db: { password: pw, user: "app" }, denied: { x: hidden }, one: { only: "v\n&<" } }),
);
writeFileSync(
  join(resources, "vault.yaml"),
  componentYaml("vault", "secretstores.local.file", { secretsFile: join(dir, "secrets.json"), multiValued: "true" }),
);
const config = join(dir, "config.yaml");
writeFileSync(
  config,
  "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: c\nspec:\n  secrets:\n    scopes:\n      - storeName: vault\n        deniedSecrets: [denied]\n",
);
const get = (...args: string[]) => keywardToEnd(["get", "--resources-path", resources, "--config", config, ...args]);

describe("keyward get", () => {
  it("prints the secret's map as JSON, as the API does", async () => {
    const { code, output } = await get("vault", "db");
    assert.equal(code, 0, output);
    assert.deepEqual(JSON.parse(output), { password: pw, user: "app" });
  });

  it("--key K --output value prints one value byte for byte; a single-key secret needs no --key", async () => {
    assert.deepEqual(await get("vault", "db", "--key", "password", "--output", "value"), { code: 0, output: pw });
    assert.deepEqual(await get("vault", "one", "-o", "value"), { code: 0, output: "v\n&<" });
    assert.deepEqual(await get("vault", "db", "--key", "user"), { code: 0, output: '{"user":"app"}\n' });
  });

  const failures: [string[], RegExp][] = [
    [["vault", "denied"], /^keyward: ERR_PERMISSION_DENIED: access denied by policy to get "denied" from "vault"\n$/],
    [["nostore", "db"], /ERR_SECRET_STORE_NOT_FOUND: failed finding secret store with key nostore/],
    [
      ["vault", "db", "--output", "value"],
      /secret db in store vault has 2 keys \(password, user\): name one with --key/,
    ],
    [["vault", "db", "--key", "nope"], /secret db in store vault has no key "nope" \(keys: password, user\)/],
    [["vault", "missing"], /ERR_SECRET_GET: failed getting secret with key missing from secret store vault/],
  ];
  for (const [args, re] of failures)
    it(`${args.join(" ")}: exit 1 with the API's message, no value printed`, async () => {
      const { code, output } = await get(...args);
      assert.equal(code, 1, output);
      assert.match(output, re);
      assert.ok(!output.includes(pw) && !output.includes(hidden), output);
    });

  it("usage errors exit 2", async () => {
    assert.equal((await get("vault")).code, 2);
    assert.match((await get("vault", "db", "--output", "yaml")).output, /invalid value "yaml" for --output/);
    assert.match(
      (await get("vault", "db", "--ky", "x")).output,
      /unknown flag --ky; did you mean --key\?\nRun 'keyward get --help'/,
    );
  });
});
