import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { field, parseYamlDocument, splitDocuments } from "../../src/resources/yaml-documents.js";

describe('splitDocuments (daprd splits on "\\n---")', () => {
  it("splits on the separator line and records each document's first line", () => {
    const parts = splitDocuments("a: 1\n---\nb: 2\nc: 3\n---\nd: 4\n");
    assert.deepEqual(
      parts.map((p) => [p.text, p.line]),
      [
        ["a: 1", 1],
        ["b: 2\nc: 3", 3],
        ["d: 4\n", 6],
      ],
    );
  });

  it("consumes the rest of the separator line (comments, document names)", () => {
    const parts = splitDocuments("a: 1\n--- # second\nb: 2\n");
    assert.deepEqual(
      parts.map((p) => p.text),
      ["a: 1", "b: 2\n"],
    );
    assert.equal(parts[1]!.line, 3);
  });

  it("a leading --- at the very start is not preceded by a newline, so it stays in the first document", () => {
    const parts = splitDocuments("---\na: 1\n---\nb: 2");
    assert.equal(parts.length, 2);
    assert.equal(parts[0]!.text, "---\na: 1");
    assert.equal(parts[1]!.line, 4);
  });

  it("a separator at the end of the file leaves no trailing document", () => {
    assert.deepEqual(
      splitDocuments("a: 1\n---").map((p) => p.text),
      ["a: 1"],
    );
  });

  it("drops the \\r of a CRLF line break before the separator", () => {
    assert.deepEqual(
      splitDocuments("a: 1\r\n---\r\nb: 2\r\n").map((p) => p.text),
      ["a: 1", "b: 2\r\n"],
    );
  });

  it("a file without separators is one document", () => {
    assert.deepEqual(
      splitDocuments("a: 1\nb: 2\n").map((p) => p.line),
      [1],
    );
  });
});

describe("parseYamlDocument", () => {
  it("reports a syntax error with its line in the file, without quoting the file", () => {
    const text = 'ok: 1\n---\nname: x\nvalue: "SEEDED-QUOTE-93f1\n  other: [\n';
    const [, second] = splitDocuments(text);
    const doc = parseYamlDocument(second!, "1.1");
    assert.equal(doc.value, undefined);
    assert.ok(doc.error);
    assert.ok(doc.error.line >= 3 && doc.error.line <= 6, `line ${doc.error.line}`);
    assert.doesNotMatch(doc.error.message, /SEEDED-QUOTE-93f1/);
    assert.doesNotMatch(doc.error.message, /\n/);
  });

  it("never quotes an unquoted value that the yaml package would put in its message", () => {
    const texts = [
      "password: >Sup3rSeedA\n",
      "password: |Sup3rSeedB\n",
      'password: "ab\\qSup3rSeedC"\n',
      "a: 1\npassword: *Sup3rSeedD\n",
      "password: @Sup3rSeedE\n",
    ];
    for (const text of texts) {
      const doc = parseYamlDocument({ text, line: 1 }, "1.1");
      assert.ok(doc.error, text);
      assert.doesNotMatch(doc.error.message, /Sup3rSeed|Seed/, text);
    }
    const alias = parseYamlDocument({ text: "a: 1\npassword: *Sup3rSeedD\n", line: 5 }, "1.1");
    assert.equal(alias.error?.line, 6);
  });

  it("an alias inside its own anchor is an error, not a hang", () => {
    const doc = parseYamlDocument({ text: "a: 1\nb: &x [1, *x]\n", line: 1 }, "1.1");
    assert.equal(doc.value, undefined);
    assert.match(doc.error!.message, /alias refers to the node that contains it/);
    assert.equal(doc.error!.line, 2);
  });

  it("YAML 1.1 for components: yes/on/off are booleans", () => {
    const doc = parseYamlDocument({ text: "a: yes\nb: on\nc: off\nd: 'yes'", line: 1 }, "1.1");
    assert.deepEqual(doc.value, { a: true, b: true, c: false, d: "yes" });
  });

  it("YAML 1.2 for Configuration files: yes is a string", () => {
    const doc = parseYamlDocument({ text: "a: yes", line: 1 }, "1.2");
    assert.deepEqual(doc.value, { a: "yes" });
  });

  it("lineOf finds nodes by case-insensitive key path, offset by the document's first line", () => {
    const doc = parseYamlDocument({ text: "Spec:\n  Metadata:\n    - name: a\n    - name: b\n", line: 10 }, "1.1");
    assert.equal(doc.lineOf(["spec", "metadata", 1]), 13);
    // A missing key points at its nearest existing parent.
    assert.equal(doc.lineOf(["spec", "nothing"]), 11);
    assert.equal(doc.lineOf(["nothing"]), 10);
  });
});

describe("field (encoding/json matching)", () => {
  it("prefers the exact name, else matches case-insensitively", () => {
    assert.equal(field({ secretstore: "a" }, "secretStore"), "a");
    assert.equal(field({ SECRETSTORE: "b" }, "secretStore"), "b");
    assert.equal(field({ secretstore: "a", secretStore: "c" }, "secretStore"), "c");
    assert.equal(field({}, "x"), undefined);
    assert.equal(field(["x"], "0"), undefined);
    assert.equal(field(null, "x"), undefined);
  });
});
