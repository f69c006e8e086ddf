/** `keyward run --env`: denied secrets, missing keys, unknown stores stop the run with the API's message. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { appStarted, canary, runWith, setup } from "../helpers/run-fixtures.js";

describe("keyward run --env: failures stop the run before the app starts", () => {
  const failures: [string, string, RegExp][] = [
    [
      "a denied secret stops the run with the reason",
      "X=vault/denied#x",
      /--env X: ERR_PERMISSION_DENIED: access denied by policy to get "denied" from "vault"/,
    ],
    [
      "a missing key lists the keys",
      "X=vault/db#nope",
      /--env X: secret db in store vault has no key "nope" \(keys: password, user\)/,
    ],
    [
      "a multi-key secret without #KEY lists the keys",
      "X=vault/db",
      /--env X: secret db in store vault has 2 keys \(password, user\): name one with #KEY/,
    ],
    [
      "an unknown store",
      "X=nostore/db#password",
      /--env X: ERR_SECRET_STORE_NOT_FOUND: failed finding secret store with key nostore/,
    ],
  ];
  for (const [name, ref, re] of failures)
    it(`${name}; the app never starts (exit 1)`, async () => {
      const pw = canary("pw");
      const hidden = canary("denied");
      const { code, output } = await runWith(
        setup({ db: { password: pw, user: "app" }, denied: { x: hidden } }),
        ["--env", ref],
        appStarted,
      );
      assert.equal(code, 1, output);
      assert.match(output, re);
      assert.match(output, /the app was not started/);
      assert.doesNotMatch(output, /app started/);
      assert.ok(!output.includes(pw) && !output.includes(hidden), output);
      assert.match(output, /Keyward stopped/, "the sidecar is stopped too");
    });
});
