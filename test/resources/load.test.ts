import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { loadResources, ResourceLoadError, type LoadedResources } from "../../src/resources/load.js";
import { componentYaml } from "../helpers/sidecar.js";

const root = mkdtempSync(join(tmpdir(), "keyward-load-"));
after(() => rmSync(root, { recursive: true, force: true }));

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(root, "f-"));
  for (const [name, text] of Object.entries(files)) {
    const path = join(dir, name);
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, text);
  }
  return dir;
}

const store = (name: string, extra = "") => componentYaml(name, "secretstores.local.env", {}, extra);
const names = (r: LoadedResources) => r.secretStores.map((c) => c.name);
const load = (dirs: string[], appId = "app", namespace = "") => loadResources(dirs, { appId, namespace });

describe("loadResources: files", () => {
  it("reads .yaml and .yml in any case, in byte order, warns about and skips other files, does not recurse", async () => {
    const dir = folder({
      "b.yaml": store("b"),
      "A.YML": store("upper-yml"),
      "c.Yaml": store("c"),
      "d.yml": store("d"),
      "notes.txt": store("txt"),
      "e.json": store("json"),
      noext: store("noext"),
      "sub/deep.yaml": store("deep"),
      ".hidden.yaml": store("hidden"),
    });
    const r = await load([dir]);
    assert.deepEqual(names(r), ["hidden", "upper-yml", "b", "c", "d"]);
    assert.equal(r.warnings.length, 3, r.warnings.join("\n"));
    for (const f of ["notes.txt", "e.json", "noext"])
      assert.ok(
        r.warnings.some((w) => w.includes(join(dir, f))),
        f,
      );
    assert.deepEqual(r.problems, []);
  });

  it("several folders load in the order given", async () => {
    const one = folder({ "z.yaml": store("from-one") });
    const two = folder({ "a.yaml": store("from-two") });
    assert.deepEqual(names(await load([one, two])), ["from-one", "from-two"]);
    assert.deepEqual(names(await load([two, one])), ["from-two", "from-one"]);
  });

  it("loads files through symlinks, as Kubernetes ConfigMap volumes mount them", async () => {
    const dir = folder({ "..2026_11_28_12_00_00.1/store.yaml": store("mounted") });
    symlinkSync("..2026_11_28_12_00_00.1", join(dir, "..data"));
    symlinkSync(join("..data", "store.yaml"), join(dir, "store.yaml"));
    symlinkSync("does-not-exist.yaml", join(dir, "dangling.yaml"));
    const r = await load([dir]);
    assert.deepEqual(names(r), ["mounted"]);
    assert.deepEqual(r.warnings, [`${join(dir, "dangling.yaml")}: cannot read (ENOENT); skipped`]);
  });

  it("a missing resources folder is an error naming it", async () => {
    const missing = join(root, "no-such-folder");
    await assert.rejects(
      load([missing]),
      (err: unknown) =>
        err instanceof ResourceLoadError && err.message.includes(missing) && /no such folder/.test(err.message),
    );
    const file = join(folder({ "x.yaml": store("x") }), "x.yaml");
    await assert.rejects(load([file]), /not a folder/);
  });

  it("no folders means no components", async () => {
    assert.deepEqual(names(await load([])), []);
  });
});

describe("loadResources: documents", () => {
  it("several documents per file, split on \\n---; a broken document does not hide the next", async () => {
    const text = [
      store("first"),
      "---",
      "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: [broken\n",
      "--- # third",
      store("third"),
      "---",
      "",
      "---",
      store("fourth"),
    ].join("\n");
    const dir = folder({ "multi.yaml": text });
    const r = await load([dir]);
    assert.deepEqual(names(r), ["first", "third", "fourth"]);
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0]!, new RegExp(`^${join(dir, "multi.yaml")}:1[1-4]: YAML error`));
  });

  it("CRLF files split and load, and no value keeps a stray \\r", async () => {
    const one = componentYaml("one", "secretstores.local.file", { secretsFile: "s.json" }).trimEnd();
    const dir = folder({ "win.yaml": `${one}\n---\n${store("two")}`.replace(/\n/g, "\r\n") });
    const r = await load([dir]);
    assert.deepEqual(names(r), ["one", "two"]);
    assert.equal(r.secretStores[0]!.metadata[0]!.value, "s.json");
  });

  it("a YAML syntax error names the file and line and never quotes the file's text", async () => {
    const seed = "kw-seed-7f3a9c2e51";
    const text = [
      "apiVersion: dapr.io/v1alpha1",
      "kind: Component",
      "metadata:",
      "  name: broken",
      "spec:",
      "  type: secretstores.local.env",
      "  metadata:",
      "  - name: password",
      `    value: ${seed}`,
      `      bad: indentation ${seed}`,
    ].join("\n");
    const dir = folder({ "broken.yaml": text, "ok.yaml": store("ok") });
    const r = await load([dir]);
    assert.deepEqual(names(r), ["ok"]);
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0]!, new RegExp(`^${join(dir, "broken.yaml")}:(9|10): `));
    assert.doesNotMatch(r.warnings.join("\n"), new RegExp(seed));
  });

  it("a malformed component is skipped with a located problem, the rest loads", async () => {
    const dir = folder({
      "a.yaml": `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: nospec\n---\n${store("good")}`,
    });
    const r = await load([dir]);
    assert.deepEqual(names(r), ["good"]);
    assert.match(r.problems[0]!, /a\.yaml:\d+: component "nospec": spec must be a mapping; component skipped/);
  });

  it("other Dapr kinds and non-Dapr documents are ignored silently; Resiliency is kept", async () => {
    const dir = folder({
      "mixed.yaml": [
        "apiVersion: dapr.io/v2alpha1\nkind: Subscription\nmetadata:\n  name: sub",
        "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: cfg",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web",
        "apiVersion: dapr.io/v1alpha1\nkind: Resiliency\nmetadata:\n  name: res\nspec: {}",
        "just a string",
        "- a list",
        store("s"),
      ].join("\n---\n"),
    });
    const r = await load([dir]);
    assert.deepEqual(names(r), ["s"]);
    assert.deepEqual(r.warnings, []);
    assert.deepEqual(
      r.others.map((o) => o.kind),
      ["Configuration", "Resiliency"],
    );
  });

  it("non-secret components (state, pubsub, bindings) are skipped with exactly one warning each, never a failure", async () => {
    const dir = folder({
      "statestore.yaml": componentYaml("statestore", "state.redis", { redisHost: "localhost:6379" }),
      "pubsub.yaml": componentYaml("pubsub", "pubsub.redis", { redisHost: "localhost:6379" }),
      "binding.yaml": `${componentYaml("cron", "bindings.cron", { schedule: "@every 1s" })}\n---\n${componentYaml("lock", "lock.redis")}`,
      "secrets.yaml": store("secrets"),
    });
    const r = await load([dir]);
    assert.deepEqual(names(r), ["secrets"]);
    assert.equal(r.warnings.length, 4, r.warnings.join("\n"));
    for (const n of ["statestore", "pubsub", "cron", "lock"])
      assert.equal(r.warnings.filter((w) => w.includes(`component ${n} `)).length, 1, n);
    assert.deepEqual(r.problems, []);
  });

  it("secretstores. is matched case-insensitively", async () => {
    const dir = folder({ "a.yaml": componentYaml("s", "SecretStores.Local.Env") });
    assert.deepEqual(names(await load([dir])), ["s"]);
  });
});

describe("loadResources: filtering and duplicates", () => {
  it("NAMESPACE: components of another namespace are skipped; no namespace or no NAMESPACE accepts all", async () => {
    const dir = folder({
      "a.yaml": store("in-prod", "").replace("  name: in-prod\n", "  name: in-prod\n  namespace: prod\n"),
      "b.yaml": store("in-dev").replace("  name: in-dev\n", "  name: in-dev\n  namespace: dev\n"),
      "c.yaml": store("no-ns"),
    });
    assert.deepEqual(names(await load([dir], "app", "prod")), ["in-prod", "no-ns"]);
    assert.deepEqual(names(await load([dir], "app", "")), ["in-prod", "in-dev", "no-ns"]);
  });

  it("scopes: a component with scopes loads only for the listed app ids", async () => {
    const dir = folder({
      "a.yaml": store("scoped", "scopes:\n  - order-processor\n  - checkout\n"),
      "b.yaml": store("empty-scopes", "scopes: []\n"),
      "c.yaml": store("unscoped"),
    });
    assert.deepEqual(names(await load([dir], "checkout")), ["scoped", "empty-scopes", "unscoped"]);
    assert.deepEqual(names(await load([dir], "other-app")), ["empty-scopes", "unscoped"]);
    assert.deepEqual(names(await load([dir], "Checkout")), ["empty-scopes", "unscoped"]);
  });

  it("a duplicate name fails, naming both files and lines", async () => {
    const dir = folder({ "one.yaml": store("dup"), "two.yaml": `${store("other")}\n---\n${store("dup")}` });
    await assert.rejects(load([dir]), (err: unknown) => {
      assert.ok(err instanceof ResourceLoadError);
      assert.match(err.message, /duplicate definition of Component name dup/);
      assert.ok(err.message.includes(`${join(dir, "one.yaml")}:1`), err.message);
      assert.ok(err.message.includes(`${join(dir, "two.yaml")}:`), err.message);
      return true;
    });
  });

  it("duplicates across folders and against a non-secret component also fail", async () => {
    await assert.rejects(
      load([folder({ "a.yaml": store("x") }), folder({ "b.yaml": store("x") })]),
      /duplicate definition of Component name x/,
    );
    await assert.rejects(
      load([folder({ "a.yaml": store("x"), "b.yaml": componentYaml("x", "state.redis") })]),
      /duplicate definition of Component name x/,
    );
  });

  it("a same-named component of another namespace is not a duplicate; app scopes follow daprd's order", async () => {
    const otherNs = folder({
      "a.yaml": store("x").replace("  name: x\n", "  name: x\n  namespace: dev\n"),
      "b.yaml": store("x"),
    });
    assert.deepEqual(names(await load([otherNs], "app", "prod")), ["x"]);
    // An out-of-scope component is never accepted, so a later one may take its name...
    const scopedFirst = folder({ "a.yaml": store("x", "scopes: [someone-else]\n"), "b.yaml": store("x") });
    assert.deepEqual(names(await load([scopedFirst], "app")), ["x"]);
    // ...but the duplicate check comes before the scope check.
    const scopedSecond = folder({ "a.yaml": store("x"), "b.yaml": store("x", "scopes: [someone-else]\n") });
    await assert.rejects(load([scopedSecond], "app"), /duplicate definition of Component name x/);
  });
});
