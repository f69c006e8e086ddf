/** `keyward validate` and `keyward serve` agree on the cloud-store half of the bad-components corpus. */
import { describe } from "node:test";
import { corpusFiles, corpusTests } from "../helpers/component-corpus.js";

describe("keyward validate agrees with keyward serve: Kubernetes, Vault, Azure, AWS and GCP stores", () => {
  corpusTests(corpusFiles().filter((f) => /^(aws|azure|gcp|kubernetes|vault)-/.test(f)));
});
