/** `keyward validate` and `keyward serve` agree on the local-store half of the bad-components corpus. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { corpusFiles, corpusTests } from "../helpers/component-corpus.js";

const CLOUD = /^(aws|azure|gcp|kubernetes|vault)-/;

describe("keyward validate agrees with keyward serve: local stores, references, unknown types, warnings", () => {
  it("the corpus has files of every kind", () => {
    const files = corpusFiles();
    assert.ok(files.filter((f) => !f.startsWith("ok-") && !f.startsWith("warn-")).length >= 15);
    assert.ok(files.some((f) => f.startsWith("ok-")) && files.some((f) => f.startsWith("warn-")));
  });
  corpusTests(corpusFiles().filter((f) => !CLOUD.test(f)));
});
