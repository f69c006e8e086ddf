import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  dynamicValueText,
  isComponentDocument,
  ManifestError,
  readComponent,
  type ComponentManifest,
} from "../../src/resources/component.js";
import { parseYamlDocument } from "../../src/resources/yaml-documents.js";

function doc(text: string) {
  const d = parseYamlDocument({ text, line: 1 }, "1.1");
  assert.equal(d.error, undefined, d.error?.message);
  return d;
}

function manifest(text: string): ComponentManifest {
  return readComponent(doc(text), "c.yaml");
}

const HEAD =
  "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: s\nspec:\n  type: secretstores.local.env\n";

/** One metadata item with a raw YAML value, read back as the store would get it. */
function valueOf(rawYaml: string): string {
  return manifest(`${HEAD}  metadata:\n  - name: v\n    value: ${rawYaml}\n`).metadata[0]!.value;
}

describe("Component manifest fields", () => {
  it("field names match case-insensitively (auth: secretstore: as in daprd's docs)", () => {
    const c = manifest(
      [
        "APIVERSION: dapr.io/v1alpha1",
        "KIND: Component",
        "Metadata:",
        "  NAME: lower",
        "  NameSpace: prod",
        "SPEC:",
        "  TYPE: secretstores.local.file",
        "  Version: v1",
        "  inittimeout: 2s",
        "  IGNOREERRORS: true",
        "  METADATA:",
        "  - NAME: password",
        "    secretkeyref:",
        "      NAME: db",
        "      KEY: pw",
        "  - Name: token",
        "    ENVREF: MY_TOKEN",
        "  - name: plain",
        "    VALUE: x",
        "auth:",
        "  secretstore: vault",
        "SCOPES: [app1]",
      ].join("\n"),
    );
    assert.equal(c.name, "lower");
    assert.equal(c.namespace, "prod");
    assert.equal(c.type, "secretstores.local.file");
    assert.equal(c.version, "v1");
    assert.equal(c.initTimeoutMs, 2000);
    assert.equal(c.ignoreErrors, true);
    assert.equal(c.authSecretStore, "vault");
    assert.deepEqual(c.scopes, ["app1"]);
    assert.deepEqual(
      c.metadata.map((m) => [m.name, m.value, m.secretKeyRef, m.envRef]),
      [
        ["password", "", { name: "db", key: "pw" }, undefined],
        ["token", "", undefined, "MY_TOKEN"],
        ["plain", "x", undefined, undefined],
      ],
    );
  });

  it("isComponentDocument needs apiVersion dapr.io/v1alpha1 and kind Component exactly", () => {
    assert.equal(isComponentDocument({ apiVersion: "dapr.io/v1alpha1", kind: "Component" }), true);
    assert.equal(isComponentDocument({ apiversion: "dapr.io/v1alpha1", KIND: "Component" }), true);
    assert.equal(isComponentDocument({ apiVersion: "dapr.io/v1", kind: "Component" }), false);
    assert.equal(isComponentDocument({ apiVersion: "dapr.io/v1alpha1", kind: "Subscription" }), false);
    assert.equal(isComponentDocument({ apiVersion: "apps/v1", kind: "Deployment" }), false);
  });

  it("secretKeyRef without key keeps key empty (the resolver defaults it to the name)", () => {
    const c = manifest(
      `${HEAD}  metadata:\n  - name: p\n    secretKeyRef:\n      name: only\nauth:\n  secretStore: other\n`,
    );
    assert.deepEqual(c.metadata[0]!.secretKeyRef, { name: "only", key: "" });
  });

  it("a missing name, a bad name, a bad metadata list or scopes are errors with the file and line", () => {
    const bad: [string, RegExp][] = [
      [
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  namespace: x\nspec:\n  type: secretstores.local.env\n",
        /^c\.yaml:4: metadata\.name is required/,
      ],
      [
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: a/b\nspec:\n  type: secretstores.local.env\n",
        /^c\.yaml:4: .*not a valid name/,
      ],
      [
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: ..\nspec:\n  type: secretstores.local.env\n",
        /not a valid name/,
      ],
      [
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: s\n",
        /^c\.yaml:\d+: component "s": spec must be a mapping/,
      ],
      [
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: s\nspec:\n  version: v1\n",
        /^c\.yaml:6: component "s": spec\.type is required/,
      ],
      [`${HEAD}  metadata:\n    name: x\n`, /^c\.yaml:8: .*spec\.metadata must be a list/],
      [`${HEAD}  metadata:\n  - value: x\n`, /^c\.yaml:8: .*spec\.metadata\[0\] has no name/],
      [`${HEAD}scopes: app1\n`, /^c\.yaml:7: .*scopes must be a list/],
    ];
    for (const [text, re] of bad) {
      assert.throws(
        () => manifest(text),
        (err: unknown) => err instanceof ManifestError && re.test(err.message),
        text,
      );
    }
  });
});

describe("metadata value conversion (DynamicValue.String())", () => {
  it("scalars become their JSON text, strings stay as written", () => {
    assert.equal(valueOf("5"), "5");
    assert.equal(valueOf("-12"), "-12");
    assert.equal(valueOf("1.50"), "1.5");
    assert.equal(valueOf("true"), "true");
    assert.equal(valueOf("False"), "false");
    assert.equal(valueOf('"5"'), "5");
    assert.equal(valueOf("plain text"), "plain text");
    assert.equal(valueOf("'quoted'"), "quoted");
    assert.equal(valueOf('"\\"inner quotes\\""'), '"inner quotes"');
  });

  it("YAML 1.1 as go-yaml v2: yes/no/on/off/y are booleans, 0x/0b/0-octal and _ are integers", () => {
    assert.equal(valueOf("yes"), "true");
    assert.equal(valueOf("No"), "false");
    assert.equal(valueOf("on"), "true");
    assert.equal(valueOf("OFF"), "false");
    assert.equal(valueOf("y"), "true");
    assert.equal(valueOf("0x1F"), "31");
    assert.equal(valueOf("0b101"), "5");
    assert.equal(valueOf("010"), "8");
    assert.equal(valueOf("1_000"), "1000");
  });

  it("go-yaml v2 keeps timestamps and sexagesimal numbers as text and big integers exact", () => {
    assert.equal(valueOf("2001-12-14"), "2001-12-14");
    assert.equal(valueOf("2001-12-14T21:59:43Z"), "2001-12-14T21:59:43Z");
    assert.equal(valueOf("1:20"), "1:20");
    assert.equal(valueOf("12345678901234567890"), "12345678901234567890");
    assert.equal(valueOf("9007199254740993"), "9007199254740993");
  });

  it("null, ~ and a missing value are empty", () => {
    assert.equal(valueOf("null"), "");
    assert.equal(valueOf("~"), "");
    assert.equal(valueOf('""'), "");
    assert.equal(manifest(`${HEAD}  metadata:\n  - name: v\n`).metadata[0]!.value, "");
  });

  it("objects and lists become compact JSON with keys sorted, as Go's encoding/json writes them", () => {
    assert.equal(valueOf("{b: 1, a: [x, {d: 2, c: true}]}"), '{"a":["x",{"c":true,"d":2}],"b":1}');
    assert.equal(valueOf("[1, two, null]"), '[1,"two",null]');
    const nested = manifest(
      `${HEAD}  metadata:\n  - name: v\n    value:\n      zone: eu\n      hosts:\n        - a\n        - b\n`,
    );
    assert.equal(nested.metadata[0]!.value, '{"hosts":["a","b"],"zone":"eu"}');
    assert.equal(valueOf('{url: "a<b>&c"}'), '{"url":"a\\u003cb\\u003e\\u0026c"}');
  });

  it("dynamicValueText on plain values", () => {
    assert.equal(dynamicValueText(undefined), "");
    assert.equal(dynamicValueText(null), "");
    assert.equal(dynamicValueText("x"), "x");
    assert.equal(dynamicValueText(7), "7");
    assert.equal(dynamicValueText(10n), "10");
    assert.equal(dynamicValueText(false), "false");
  });
});

describe("initTimeout and ignoreErrors", () => {
  const timeout = (v: string) => manifest(`${HEAD}  initTimeout: ${v}\n`).initTimeoutMs;
  it("takes Go durations", () => {
    assert.equal(timeout("2s"), 2000);
    assert.equal(timeout("1m30s"), 90_000);
    assert.equal(timeout("250ms"), 250);
    assert.equal(timeout("1.5h"), 5_400_000);
    assert.equal(timeout('"1m"'), 60_000);
  });

  it("an invalid, zero or negative duration (or a bare number, which Go refuses) falls back to 5s", () => {
    for (const v of ["banana", "0", "0s", "-3s", "10", "5S", '""', "null"]) assert.equal(timeout(v), 5000, v);
    assert.equal(manifest(HEAD).initTimeoutMs, 5000);
  });

  it("ignoreErrors is false unless true", () => {
    const ignore = (v: string) => manifest(`${HEAD}  ignoreErrors: ${v}\n`).ignoreErrors;
    assert.equal(ignore("true"), true);
    assert.equal(ignore("yes"), true);
    assert.equal(ignore('"true"'), true);
    assert.equal(ignore("false"), false);
    assert.equal(manifest(HEAD).ignoreErrors, false);
  });
});
