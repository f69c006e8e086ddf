import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EnvSecretStore } from "../../src/stores/local/env.js";
import { describeSecretStoreConformance } from "../conformance/secret-store.case.js";
import { recordingLogger, storeContext } from "../helpers/store-context.js";

process.env.conftestsecret = "abcd";
process.env.secondsecret = "efgh";

describeSecretStoreConformance({
  name: "local.env",
  create: () => new EnvSecretStore(),
  metadata: {},
  missing: "empty",
});

describe("local.env", () => {
  it("certification: certtestsecret", async () => {
    process.env.certtestsecret = "abcd";
    const s = new EnvSecretStore();
    await s.init({}, storeContext());
    assert.deepEqual(await s.getSecret({ name: "certtestsecret", metadata: {} }), { certtestsecret: "abcd" });
  });

  it("prefix: get adds it, bulk keeps only longer names that start with it and strips it", async () => {
    process.env.KWTEST_ONE = "1";
    process.env.KWTEST_ = "exactly-the-prefix";
    process.env.kwtest_lower = "case-sensitive";
    const s = new EnvSecretStore();
    await s.init({ prefix: "KWTEST_" }, storeContext());
    assert.deepEqual(await s.getSecret({ name: "ONE", metadata: {} }), { ONE: "1" });
    const bulk = await s.bulkGetSecret();
    assert.deepEqual(bulk, { ONE: { ONE: "1" } });
  });

  it("refuses DAPR_* and APP_API_TOKEN in any case, for get and bulk", async () => {
    process.env.DAPR_API_TOKEN_TEST = "dapr-secret-canary";
    process.env.APP_API_TOKEN = "app-token-canary";
    process.env.dapr_lower = "lower-canary";
    const log = recordingLogger();
    const s = new EnvSecretStore();
    await s.init({}, storeContext("env", 1000, log));
    assert.deepEqual(await s.getSecret({ name: "DAPR_API_TOKEN_TEST", metadata: {} }), { DAPR_API_TOKEN_TEST: "" });
    assert.deepEqual(await s.getSecret({ name: "APP_API_TOKEN", metadata: {} }), { APP_API_TOKEN: "" });
    assert.deepEqual(await s.getSecret({ name: "dapr_lower", metadata: {} }), { dapr_lower: "" });
    const bulk = await s.bulkGetSecret();
    for (const k of Object.keys(bulk))
      assert.ok(!k.toUpperCase().startsWith("DAPR_") && k.toUpperCase() !== "APP_API_TOKEN", k);
    assert.ok(log.lines.some((l) => l.includes("refused")));
    for (const l of log.lines) assert.ok(!l.includes("canary"));
    // The prefix does not launder a refused name: prefix "DAPR_" + name is still refused.
    const p = new EnvSecretStore();
    await p.init({ prefix: "DAPR_" }, storeContext());
    assert.deepEqual(await p.getSecret({ name: "API_TOKEN_TEST", metadata: {} }), { API_TOKEN_TEST: "" });
    assert.deepEqual(await p.bulkGetSecret(), {});
  });
});
