/**
 * The `path` label of the HTTP metrics: the fast path for secret reads must label every URL exactly as the
 * general rule does (segments split on "/", empty ones dropped, the query cut off), and a kept label must
 * follow the loaded stores.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { metricsPath } from "../../src/api/http/metrics-path.js";

const CASES: [string, string][] = [
  ["/v1.0/secrets/local/db", "/v1.0/secrets/local"],
  ["/v1.0/secrets/local/bulk", "/v1.0/secrets/local"],
  ["/v1.0/secrets/local/db?metadata.a=b/c/d", "/v1.0/secrets/local"],
  ["/v1.0/secrets/%6Cocal/db", "/v1.0/secrets/local"],
  ["/v1.0/secrets/%6cocal/db", "/v1.0/secrets/local"],
  ["/v1.0/secrets/other/db", "/v1.0/secrets/{unknown}"],
  ["/v1.0/secrets/%E0%A4%A/db", "/v1.0/secrets/{unknown}"],
  ["/v1.0/secrets/local/db/", "/v1.0/secrets/local"],
  ["/v1.0/secrets//local/db", "/v1.0/secrets/local"],
  ["/v1.0/secrets/local//db", "/v1.0/secrets/local"],
  ["/v1.0/secrets/local/a/b", "unmatched"],
  ["/v1.0/secrets/local/a/b?x=1", "unmatched"],
  ["/v1.0/secrets/local", "unmatched"],
  ["/v1.0/secrets/local/", "unmatched"],
  ["/v1.0/secrets/local?x=/a", "unmatched"],
  ["/v1.0/secrets/local/?x=/a", "unmatched"],
  ["/v1.0/secrets/", "unmatched"],
  ["/v1.0/secrets/?/a/b", "unmatched"],
  ["/v1.0-alpha1/secrets/local/db/subscribe", "/v1.0-alpha1/secrets/local/subscribe"],
  ["/v1.0/healthz", "/v1.0/healthz"],
  ["/v1.0/metadata/key", "/v1.0/metadata/{key}"],
  ["/other", "unmatched"],
];

describe("metrics path label", () => {
  it("labels secret paths, and every other shape, by the general rule", () => {
    const stores = new Set(["local"]);
    // Twice: the second pass reads labels kept by the first.
    for (let pass = 0; pass < 2; pass++)
      for (const [url, label] of CASES) assert.equal(metricsPath(url, stores), label, url);
  });

  it("a kept label follows a store removed and loaded again", () => {
    const stores = new Set(["vault"]);
    assert.equal(metricsPath("/v1.0/secrets/vault/x", stores), "/v1.0/secrets/vault");
    stores.delete("vault");
    assert.equal(metricsPath("/v1.0/secrets/vault/x", stores), "/v1.0/secrets/{unknown}");
    stores.add("vault");
    assert.equal(metricsPath("/v1.0/secrets/vault/x", stores), "/v1.0/secrets/vault");
  });

  it("labels many spellings of a store's name right, past the labels it keeps", () => {
    const stores = new Set(["abcdefgh"]);
    for (let mask = 0; mask < 256; mask++) {
      const segment = [..."abcdefgh"]
        .map((c, i) => (mask & (1 << i) ? `%${c.charCodeAt(0).toString(16)}` : c))
        .join("");
      assert.equal(metricsPath(`/v1.0/secrets/${segment}/k`, stores), "/v1.0/secrets/abcdefgh");
    }
  });
});
