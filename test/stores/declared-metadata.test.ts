/** Metadata read through a store's declaration: names, aliases, types, unknown names, values kept out of messages. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { nearestName } from "../../src/core/nearest.js";
import { checkDeclared, readDeclared } from "../../src/stores/declared-metadata.js";
import { SecretStoreError, type MetadataField } from "../../src/stores/types.js";

const FIELDS: readonly MetadataField[] = [
  { name: "secretsFile", type: "file", required: true, missing: "no file", description: "" },
  { name: "watch", type: "bool", default: "false", description: "" },
  { name: "requestTimeout", type: "duration", default: "30s", description: "" },
  { name: "maxItems", type: "int", description: "" },
  { name: "mode", type: "enum", values: ["map", "text"], description: "" },
  { name: "token", aliases: ["vaultToken"], type: "bool", sensitive: true, description: "" },
  { name: "prefix", type: "string", description: "" },
];

describe("declared metadata", () => {
  it("names match in any case, aliases count, and an exact name wins over another case", () => {
    const md = readDeclared(
      { SECRETSFILE: "a.json", Watch: "YES", vaulttoken: "on", prefix: "p", PREFIX: "q" },
      FIELDS,
    );
    assert.equal(md.text("secretsFile"), "a.json");
    assert.equal(md.bool("watch"), true);
    assert.equal(md.bool("token"), true);
    assert.equal(md.text("prefix"), "p");
    assert.equal(md.duration("requestTimeout"), 30_000, "the default applies");
  });

  it("every wrong type is a problem naming the field; a missing required field uses its own message", () => {
    const { problems } = checkDeclared(
      { watch: "maybe", requestTimeout: "soon", maxItems: "ten", mode: "yaml", token: "" },
      FIELDS,
    );
    assert.deepEqual(problems, [
      { field: "secretsFile", message: "no file" },
      { field: "watch", message: 'metadata watch: "maybe" is not a boolean' },
      { field: "requestTimeout", message: 'metadata requestTimeout: "soon" is not a positive duration' },
      { field: "maxItems", message: 'metadata maxItems: "ten" is not an integer' },
      { field: "mode", message: 'metadata mode: "yaml" is not one of map, text' },
    ]);
    assert.throws(
      () => readDeclared({ watch: "maybe" }, FIELDS),
      (err: Error) => {
        assert.ok(err instanceof SecretStoreError && err.kind === "invalid_config");
        assert.equal(err.message, 'no file; metadata watch: "maybe" is not a boolean');
        return true;
      },
    );
  });

  it("blank typed values are unset, as daprd's decoders trim them; a blank required file is missing", () => {
    const { problems } = checkDeclared({ secretsFile: "", watch: "  ", requestTimeout: " " }, FIELDS);
    assert.deepEqual(problems, [{ field: "secretsFile", message: "no file" }]);
  });

  it("a sensitive field's value never appears in a message, and long values are cut", () => {
    const seed = "seed-1f0c-credential";
    const { problems } = checkDeclared({ secretsFile: "f", token: seed, maxItems: "9".repeat(5000) }, FIELDS);
    assert.equal(problems.length, 2);
    assert.equal(problems.find((p) => p.field === "token")?.message, "metadata token: the value is not a boolean");
    const long = problems.find((p) => p.field === "maxItems")!.message;
    assert.ok(long.length < 200, long);
    for (const p of problems) assert.ok(!p.message.includes(seed));
  });

  it("secretKeyRef values count as present and are not type-checked", () => {
    const { problems } = checkDeclared({ secretsFile: "", watch: "" }, FIELDS, new Set(["secretsFile", "watch"]));
    assert.deepEqual(problems, []);
  });

  it("unknown names are listed with the nearest declared name when one is close", () => {
    const { unknownNames, problems } = checkDeclared(
      { secretsFile: "f", secretFile: "f", requestTimout: "1s", colour: "red", "watch\u0000": "x" },
      FIELDS,
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(unknownNames, [
      { name: "secretFile", suggestion: "secretsFile" },
      { name: "requestTimout", suggestion: "requestTimeout" },
      { name: "colour" },
      { name: "watch\u0000", suggestion: "watch" },
    ]);
  });

  it("nearestName refuses wild guesses and huge input", () => {
    assert.equal(
      nearestName("deniedSecret", ["storeName", "defaultAccess", "allowedSecrets", "deniedSecrets"]),
      "deniedSecrets",
    );
    assert.equal(nearestName("DefaultAccess", ["storeName", "defaultAccess"]), "defaultAccess");
    assert.equal(nearestName("x", ["storeName", "defaultAccess"]), undefined);
    assert.equal(nearestName("a".repeat(100_000), ["a"]), undefined);
  });
});
