/** Hot reload of component files (docs/compatibility.md §8.1): created, changed and deleted stores, on by default. */
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { componentYaml, startSidecar, type Sidecar } from "../helpers/sidecar.js";
import { writeJson } from "./fixtures.js";

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const status = async (s: Sidecar, path: string) => {
  const r = await fetch(`${s.httpUrl}${path}`);
  return { status: r.status, body: await r.text() };
};

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

  it("a broken edit leaves the store out and says why; fixing it brings it back", async () => {
    writeFileSync(join(resources(), "b.yaml"), componentYaml("b", "secretstores.local.file", {}));
    await until("store b removed", async () =>
      (await status(s, "/v1.0/secrets/b/k")).status === 401 ? true : undefined,
    );
    assert.match(s.output(), /missing local secrets file in metadata/);
    writeFileSync(
      join(resources(), "b.yaml"),
      componentYaml("b", "secretstores.local.file", { secretsFile: writeJson({ k: "back" }) }),
    );
    await until("store b back", async () =>
      (await status(s, "/v1.0/secrets/b/k")).body === '{"k":"back"}\n' ? true : undefined,
    );
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
