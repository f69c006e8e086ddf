/** Hot reload of component files (docs/compatibility.md §8.1): created, changed and deleted stores, on by default. */
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { httpGet as status, mkfifo, until, untilBody } from "../helpers/reload.js";
import { componentYaml, startSidecar, type Sidecar } from "../helpers/sidecar.js";
import { writeJson } from "./fixtures.js";

describe("hot reload", () => {
  let s: Sidecar;
  const resources = () => join(s.dir, "resources");
  before(async () => {
    s = await startSidecar({
      components: { "a.yaml": componentYaml("a", "secretstores.local.file", { secretsFile: writeJson({ k: "one" }) }) },
    });
  });
  after(async () => {
    assert.equal(await s.stop(), 0);
  });

  it("a new component file adds its store", async () => {
    writeFileSync(
      join(resources(), "b.yaml"),
      componentYaml("b", "secretstores.local.file", { secretsFile: writeJson({ k: "bee" }) }),
    );
    const r = await until("store b", async () => {
      const x = await status(s, "/v1.0/secrets/b/k");
      return x.status === 200 ? x : undefined;
    });
    assert.equal(r.body, '{"k":"bee"}\n');
  });

  it("a changed component is restarted with its new metadata", async () => {
    writeFileSync(
      join(resources(), "a.yaml"),
      componentYaml("a", "secretstores.local.file", { secretsFile: writeJson({ k: "two" }) }),
    );
    const r = await until("store a changed", async () => {
      const x = await status(s, "/v1.0/secrets/a/k");
      return x.body === '{"k":"two"}\n' ? x : undefined;
    });
    assert.equal(r.status, 200);
  });

  it("a new version that fails to start leaves the old instance serving and says why; fixing it applies the fix", async () => {
    writeFileSync(join(resources(), "b.yaml"), componentYaml("b", "secretstores.local.file", {}));
    await until("the failure logged", async () =>
      /missing local secrets file in metadata[^\n]*the previous instance keeps serving/.test(s.output())
        ? true
        : undefined,
    );
    assert.deepEqual(await status(s, "/v1.0/secrets/b/k"), { status: 200, body: '{"k":"bee"}\n' });
    writeFileSync(
      join(resources(), "b.yaml"),
      componentYaml("b", "secretstores.local.file", { secretsFile: writeJson({ k: "back" }) }),
    );
    await untilBody(s, "/v1.0/secrets/b/k", '{"k":"back"}\n');
  });

  it("a file that no longer parses keeps every component it defined; only removing one removes it", async () => {
    const two = (second: string) =>
      componentYaml("c1", "secretstores.local.file", { secretsFile: writeJson({ k: "c-one" }) }) +
      "---\n" +
      componentYaml("c2", "secretstores.local.file", { secretsFile: writeJson({ k: second }) });
    writeFileSync(join(resources(), "c.yaml"), two("c-two"));
    await untilBody(s, "/v1.0/secrets/c2/k", '{"k":"c-two"}\n');
    writeFileSync(join(resources(), "c.yaml"), two("c-two").replace("kind: Component", "kind: [Component"));
    await until("the YAML error logged", async () => (/c\.yaml:\d+: YAML error/.test(s.output()) ? true : undefined));
    // A later change elsewhere reloads again: the broken file still removes nothing.
    writeFileSync(join(resources(), "other.yaml"), "");
    await new Promise((r) => setTimeout(r, 600));
    assert.equal((await status(s, "/v1.0/secrets/c1/k")).body, '{"k":"c-one"}\n');
    assert.equal((await status(s, "/v1.0/secrets/c2/k")).body, '{"k":"c-two"}\n');
    writeFileSync(
      join(resources(), "c.yaml"),
      componentYaml("c2", "secretstores.local.file", { secretsFile: writeJson({ k: "c-four" }) }),
    );
    await untilBody(s, "/v1.0/secrets/c2/k", '{"k":"c-four"}\n');
    assert.equal((await status(s, "/v1.0/secrets/c1/k")).status, 401);
  });

  it("a FIFO as secretsFile fails that component at once, again and again, while reloads go on", async () => {
    const fifo = mkfifo(join(s.dir, "secrets.fifo"));
    // More reloads than libuv has file-system threads: a blocking open of the FIFO would take them all.
    for (let i = 0; i < 6; i++) {
      writeFileSync(
        join(resources(), "f.yaml"),
        componentYaml(
          "f",
          "secretstores.local.file",
          { secretsFile: fifo, nestedSeparator: `:${i}` },
          "  initTimeout: 60s\n",
        ),
      );
      await until(`FIFO refusal ${i + 1}`, async () =>
        (s.output().match(/secrets file \S+secrets\.fifo: a FIFO, not a regular file/g) ?? []).length > i
          ? true
          : undefined,
      );
    }
    writeFileSync(
      join(resources(), "g.yaml"),
      componentYaml("g", "secretstores.local.file", { secretsFile: writeJson({ k: "gee" }) }),
    );
    await untilBody(s, "/v1.0/secrets/g/k", '{"k":"gee"}\n');
    assert.equal((await status(s, "/v1.0/secrets/a/k")).status, 200);
  });

  it("a FIFO named like a component file is reported and skipped, never waited on", async () => {
    mkfifo(join(resources(), "pipe.yaml"));
    writeFileSync(
      join(resources(), "h.yaml"),
      componentYaml("h", "secretstores.local.file", { secretsFile: writeJson({ k: "aitch" }) }),
    );
    await untilBody(s, "/v1.0/secrets/h/k", '{"k":"aitch"}\n');
    assert.match(s.output(), /pipe\.yaml: cannot read \(a FIFO, not a regular file\); skipped/);
  });

  it("a component whose secretKeyRef store restarts is restarted too, and reads the new value", async () => {
    const credsYaml = (file: string) =>
      componentYaml("creds", "secretstores.local.file", { secretsFile: writeJson({ file }) });
    writeFileSync(join(resources(), "creds.yaml"), credsYaml(writeJson({ k: "from-a" })));
    writeFileSync(
      join(resources(), "dep.yaml"),
      "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: dep\nspec:\n  type: secretstores.local.file\n" +
        "  version: v1\n  metadata:\n  - name: secretsFile\n    secretKeyRef:\n      name: file\nauth:\n  secretStore: creds\n",
    );
    await untilBody(s, "/v1.0/secrets/dep/k", '{"k":"from-a"}\n');
    writeFileSync(join(resources(), "creds.yaml"), credsYaml(writeJson({ k: "from-b" })));
    await untilBody(s, "/v1.0/secrets/dep/k", '{"k":"from-b"}\n');
  });

  it("a deleted file removes its store", async () => {
    rmSync(join(resources(), "b.yaml"));
    const r = await until("store b gone", async () => {
      const x = await status(s, "/v1.0/secrets/b/k");
      return x.status === 401 ? x : undefined;
    });
    assert.match(r.body, /ERR_SECRET_STORE_NOT_FOUND/);
    assert.equal((await status(s, "/v1.0/secrets/a/k")).status, 200);
  });
});

describe("hot reload switched off", () => {
  it("Configuration feature HotReload: false keeps the components of start-up", async () => {
    const s = await startSidecar({
      components: { "a.yaml": componentYaml("a", "secretstores.local.file", { secretsFile: writeJson({ k: "one" }) }) },
      config:
        "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: c\nspec:\n  features:\n  - name: HotReload\n    enabled: false\n",
    });
    writeFileSync(
      join(s.dir, "resources", "b.yaml"),
      componentYaml("b", "secretstores.local.file", { secretsFile: writeJson({ k: "bee" }) }),
    );
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await status(s, "/v1.0/secrets/b/k")).status, 401);
    assert.doesNotMatch(s.output(), /reloading components/);
    await s.stop();
  });
});
