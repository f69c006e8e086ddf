/**
 * Make-before-break hot reload: under a steady client load, edits to a component, to the Configuration
 * and to a local.file secrets file never cost a request.
 */
import assert from "node:assert/strict";
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { httpGet, loadLoop, until, untilBody } from "../helpers/reload.js";
import { componentYaml, startSidecar, type Sidecar } from "../helpers/sidecar.js";
import { writeJson } from "./fixtures.js";

const count = (s: Sidecar, re: RegExp) => (s.output().match(re) ?? []).length;

/** Waits until `re` has matched once more in the sidecar's output than it does now, after `change`. */
async function logged(s: Sidecar, re: RegExp, change: () => void): Promise<void> {
  const before = count(s, re);
  change();
  await until(`log ${re}`, async () => (count(s, re) > before ? true : undefined));
}

describe("component edits under load", () => {
  let s: Sidecar;
  const file = () => join(s.dir, "resources", "a.yaml");
  const component = (value: string) =>
    componentYaml("a", "secretstores.local.file", { secretsFile: writeJson({ k: value }) });
  before(async () => {
    s = await startSidecar({ components: { "a.yaml": component("one") } });
  });
  after(async () => {
    assert.equal(await s.stop(), 0);
  });

  it("a valid edit, a broken YAML edit and its fix, and a version that fails init lose no request", async (t) => {
    const load = loadLoop(s, "/v1.0/secrets/a/k");
    writeFileSync(file(), component("two"));
    await untilBody(s, "/v1.0/secrets/a/k", '{"k":"two"}\n');
    await logged(s, /a\.yaml:\d+: YAML error/, () =>
      writeFileSync(file(), component("three").replace("spec:", "spec: [")),
    );
    assert.equal((await httpGet(s, "/v1.0/secrets/a/k")).body, '{"k":"two"}\n');
    writeFileSync(file(), component("four"));
    await untilBody(s, "/v1.0/secrets/a/k", '{"k":"four"}\n');
    await logged(s, /cannot read secrets file \S+: ENOENT[^\n]*the previous instance keeps serving/, () =>
      writeFileSync(
        file(),
        componentYaml("a", "secretstores.local.file", { secretsFile: join(s.dir, "missing.json") }),
      ),
    );
    assert.equal((await httpGet(s, "/v1.0/secrets/a/k")).body, '{"k":"four"}\n');
    const { ok, failed } = await load.stop();
    t.diagnostic(`${ok} requests answered during the changes, ${failed.length} failed`);
    assert.deepEqual(failed, []);
    assert.ok(ok > 0);
  });
});

describe("configuration reload", () => {
  let s: Sidecar;
  const config = (scopes: string, api = "") =>
    `apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: c\nspec:\n  secrets:\n    scopes:\n${scopes}${api}`;
  const denyK = "    - storeName: a\n      defaultAccess: deny\n      allowedSecrets: [other]\n";
  const allowK = "    - storeName: a\n      defaultAccess: allow\n";
  before(async () => {
    s = await startSidecar({
      components: { "a.yaml": componentYaml("a", "secretstores.local.file", { secretsFile: writeJson({ k: "v" }) }) },
      config: config(denyK),
    });
  });
  after(async () => {
    assert.equal(await s.stop(), 0);
  });

  it("a changed Configuration replaces the secret scopes and API lists; a broken one keeps them", async () => {
    const path = join(s.dir, "config.yaml");
    assert.equal((await httpGet(s, "/v1.0/secrets/a/k")).status, 403);
    writeFileSync(path, config(allowK));
    await untilBody(s, "/v1.0/secrets/a/k", '{"k":"v"}\n');
    await logged(s, /configuration: \S+config\.yaml:\d+: YAML error[^\n]*the previous configuration stays/, () =>
      writeFileSync(path, config(denyK).replace("scopes:", "scopes: [")),
    );
    assert.equal((await httpGet(s, "/v1.0/secrets/a/k")).status, 200);
    // Written elsewhere and renamed over the file, as editors and `kubectl apply` of a ConfigMap do.
    writeFileSync(
      `${path}.new`,
      config(allowK, "  api:\n    denied:\n    - name: secrets\n      version: v1\n      protocol: http\n"),
    );
    renameSync(`${path}.new`, path);
    await until("secrets API denied", async () =>
      (await httpGet(s, "/v1.0/secrets/a/k")).status === 404 ? true : undefined,
    );
  });
});

describe("local.file secretsFile changes", () => {
  let s: Sidecar;
  let secrets: string;
  before(async () => {
    secrets = writeJson({ k: "first" });
    s = await startSidecar({
      components: { "a.yaml": componentYaml("a", "secretstores.local.file", { secretsFile: secrets }) },
    });
  });
  after(async () => {
    assert.equal(await s.stop(), 0);
  });

  it("a changed file is served once it parses; a broken one keeps the previous secrets; no request is lost", async (t) => {
    const load = loadLoop(s, "/v1.0/secrets/a/k");
    writeFileSync(secrets, JSON.stringify({ k: "second" }));
    await untilBody(s, "/v1.0/secrets/a/k", '{"k":"second"}\n');
    const broken = '{"k": "third-unseen-value"';
    await logged(s, /secrets file \S+ is not valid JSON \(line 1, column \d+\); the previous secrets stay/, () =>
      writeFileSync(secrets, broken),
    );
    assert.equal((await httpGet(s, "/v1.0/secrets/a/k")).body, '{"k":"second"}\n');
    writeFileSync(`${secrets}.tmp`, JSON.stringify({ k: "fourth" }));
    renameSync(`${secrets}.tmp`, secrets);
    await untilBody(s, "/v1.0/secrets/a/k", '{"k":"fourth"}\n');
    const { ok, failed } = await load.stop();
    t.diagnostic(`${ok} requests answered during the changes, ${failed.length} failed`);
    assert.deepEqual(failed, []);
    assert.ok(ok > 0);
    assert.doesNotMatch(s.output(), /third-unseen-value|fourth|second/);
  });
});
