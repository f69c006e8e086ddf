/**
 * The HTTP API routes a plain secret read (`/v1.0/secrets/{store}/{key}`) without cleaning and splitting its
 * path. That shortcut must fire only where Go's path.Clean leaves the path as it is and the general route
 * would find the same store and key; every other shape must go the general way.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cleanPath, plainSecretPath, SECRETS_PREFIX } from "../../src/api/http/decode.js";

/** What the general route makes of a URL: the store and key segments, or undefined for another route. */
function generalRoute(url: string): [string, string] | undefined {
  const q = url.indexOf("?");
  const seg = cleanPath(q < 0 ? url : url.slice(0, q)).split("/");
  return seg[1] === "v1.0" && seg[2] === "secrets" && seg.length === 5 ? [seg[3]!, seg[4]!] : undefined;
}

function shortcut(url: string): [string, string] | undefined {
  const q = url.indexOf("?");
  const end = q < 0 ? url.length : q;
  const slash = plainSecretPath(url, end);
  return slash < 0 ? undefined : [url.slice(SECRETS_PREFIX.length, slash), url.slice(slash + 1, end)];
}

const PIECES = ["", ".", "..", "...", ".a", "a.", "a", "%2F", "%2e", "bulk", "a?b", "?", "a/b", "/", "//"];

describe("plain secret path", () => {
  it("takes a path only when the general route would route it to the same store and key", () => {
    let taken = 0;
    for (const store of PIECES)
      for (const key of PIECES)
        for (const tail of ["", "/", "?x=/y", "?metadata.a=b", "/?x", "#f"]) {
          const url = `${SECRETS_PREFIX}${store}/${key}${tail}`;
          const fast = shortcut(url);
          if (fast === undefined) continue;
          taken++;
          const q = url.indexOf("?");
          const path = q < 0 ? url : url.slice(0, q);
          assert.equal(cleanPath(path), path, `${url}: a path taken must already be clean`);
          assert.deepEqual(fast, generalRoute(url), url);
        }
    assert.ok(taken > 50, `only ${taken} paths were taken`);
  });

  it("takes the common shapes and leaves the others to the general route", () => {
    for (const url of [
      "/v1.0/secrets/local/db",
      "/v1.0/secrets/local/bulk",
      "/v1.0/secrets/%6Cocal/db%2Fx",
      "/v1.0/secrets/local/db?metadata.version=2",
      "/v1.0/secrets/local/db?x=/a/b",
      "/v1.0/secrets/.env/...",
    ])
      assert.notEqual(shortcut(url), undefined, url);
    for (const url of [
      "/v1.0/secrets/local/db/",
      "/v1.0/secrets//db",
      "/v1.0/secrets/local/",
      "/v1.0/secrets/local",
      "/v1.0/secrets/local?/db",
      "/v1.0/secrets/./db",
      "/v1.0/secrets/../db",
      "/v1.0/secrets/local/.",
      "/v1.0/secrets/local/..",
      "/v1.0/secrets/local/a/b",
      "//v1.0/secrets/local/db",
      "/v1.0/SECRETS/local/db",
      "/v1.0-alpha1/secrets/local/db/subscribe",
    ])
      assert.equal(shortcut(url), undefined, url);
  });
});
