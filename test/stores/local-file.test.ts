import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { FileSecretStore } from "../../src/stores/local/file.js";
import { SecretStoreError, type ComponentMetadata } from "../../src/stores/types.js";
import { describeSecretStoreConformance } from "../conformance/secret-store.case.js";
import { storeContext } from "../helpers/store-context.js";

const dir = mkdtempSync(join(tmpdir(), "keyward-file-"));
function file(name: string, content: string): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

describeSecretStoreConformance({
  name: "local.file",
  create: () => new FileSecretStore(),
  metadata: {
    secretsFile: file("conformance.json", JSON.stringify({ conftestsecret: "abcd", secondsecret: "efgh" })),
    nestedSeparator: ":",
  },
});

async function open(metadata: ComponentMetadata): Promise<FileSecretStore> {
  const s = new FileSecretStore();
  await s.init(metadata, storeContext());
  return s;
}

describe("local.file", () => {
  // components-contrib certification: secrets.json with a nested secret, default and custom separators.
  const cert = file("cert.json", JSON.stringify({ certtestsecret: "abcd", nestedsecret: { secret: "efgh" } }));

  it("certification: nested secrets flatten with the default separator", async () => {
    const s = await open({ secretsFile: cert });
    assert.deepEqual(await s.getSecret({ name: "certtestsecret", metadata: {} }), { certtestsecret: "abcd" });
    assert.deepEqual(await s.getSecret({ name: "nestedsecret:secret", metadata: {} }), {
      "nestedsecret:secret": "efgh",
    });
    await assert.rejects(s.getSecret({ name: "nestedsecret", metadata: {} }), /secret nestedsecret not found/);
  });

  it("certification: nestedSeparator '::'", async () => {
    const s = await open({ secretsFile: cert, nestedSeparator: "::" });
    assert.deepEqual(await s.getSecret({ name: "nestedsecret::secret", metadata: {} }), {
      "nestedsecret::secret": "efgh",
    });
    await assert.rejects(s.getSecret({ name: "nestedsecret:secret", metadata: {} }));
  });

  it("arrays flatten by index; numbers, booleans and null come back as JSON text", async () => {
    const p = file("types.json", JSON.stringify({ arr: ["a", { b: "c" }], n: 123, f: 1.5, t: true, z: null }));
    const s = await open({ secretsFile: p });
    const bulk = await s.bulkGetSecret();
    assert.deepEqual(bulk, {
      "arr:0": { "arr:0": "a" },
      "arr:1:b": { "arr:1:b": "c" },
      n: { n: "123" },
      f: { f: "1.5" },
      t: { t: "true" },
      z: { z: "null" },
    });
    assert.deepEqual(s.features(), []);
  });

  it("multiValued: objects are multi-key secrets, strings single, other top-level types dropped", async () => {
    const p = file(
      "multi.json",
      JSON.stringify({ parent: { child1: "12345", child2: { child3: "67890" } }, single: "v", num: 5, list: ["x"] }),
    );
    const s = await open({ secretsFile: p, multiValued: "true" });
    assert.deepEqual(await s.getSecret({ name: "parent", metadata: {} }), {
      child1: "12345",
      "child2:child3": "67890",
    });
    assert.deepEqual(await s.getSecret({ name: "single", metadata: {} }), { single: "v" });
    await assert.rejects(s.getSecret({ name: "num", metadata: {} }), /secret num not found/);
    assert.deepEqual(await s.bulkGetSecret(), {
      parent: { child1: "12345", "child2:child3": "67890" },
      single: { single: "v" },
    });
    assert.deepEqual(s.features(), ["MULTIPLE_KEY_VALUES_PER_SECRET"]);
  });

  it("metadata names are case-insensitive", async () => {
    const s = await open({ SECRETSFILE: cert, NestedSeparator: "/" });
    assert.deepEqual(await s.getSecret({ name: "nestedsecret/secret", metadata: {} }), {
      "nestedsecret/secret": "efgh",
    });
  });

  it("returned maps are frozen: a caller cannot change the store", async () => {
    const s = await open({ secretsFile: cert });
    const a = await s.getSecret({ name: "certtestsecret", metadata: {} });
    assert.throws(() => {
      a.certtestsecret = "changed";
    }, TypeError);
    assert.deepEqual(await s.getSecret({ name: "certtestsecret", metadata: {} }), { certtestsecret: "abcd" });
    const bulk = await s.bulkGetSecret();
    assert.throws(() => {
      bulk.certtestsecret!.certtestsecret = "changed";
    }, TypeError);
    assert.throws(() => {
      bulk.added = {};
    }, TypeError);
    assert.deepEqual((await s.bulkGetSecret()).certtestsecret, { certtestsecret: "abcd" });
  });

  it("bad configuration fails init with a clear message and no file content", async () => {
    await assert.rejects(open({}), { message: "missing local secrets file in metadata" });
    await assert.rejects(
      open({ secretsFile: join(dir, "nope.json") }),
      /cannot read secrets file .*nope\.json: ENOENT/,
    );
    const secretText = "s3cr3t-leak-canary";
    const bad = file("bad.json", `{\n  "a": "${secretText}",\n  oops\n}`);
    await assert.rejects(open({ secretsFile: bad }), (err: unknown) => {
      assert.ok(err instanceof SecretStoreError);
      assert.match(err.message, /not valid JSON \(line 3/);
      assert.ok(!err.message.includes(secretText));
      return true;
    });
    await assert.rejects(open({ secretsFile: file("arr.json", "[1]") }), /JSON object at the top level/);
    await assert.rejects(
      open({ secretsFile: file("dup.json", JSON.stringify({ "a:b": "1", a: { b: "2" } })) }),
      /two values for the flattened key "a:b"/,
    );
    await assert.rejects(open({ secretsFile: cert, multiValued: "maybe" }), /multiValued: "maybe" is not a boolean/);
  });
});
