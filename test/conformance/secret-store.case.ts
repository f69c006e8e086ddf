/**
 * The shared conformance suite every secret store runs in one line (daprd's conformance cases and more).
 * Fixtures: the backend must hold `conftestsecret` = `{conftestsecret: "abcd"}` and `secondsecret` =
 * `{secondsecret: "efgh"}` (name/value shaped), as components-contrib's suite requires.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { pingStore } from "../../src/stores/ping.js";
import {
  PING_NOT_IMPLEMENTED,
  SecretStoreError,
  type ComponentMetadata,
  type SecretStore,
  type SecretStoreFeature,
} from "../../src/stores/types.js";
import { recordingLogger, storeContext, type ContextOverrides } from "../helpers/store-context.js";

export const CONFORMANCE_SECRETS = { conftestsecret: "abcd", secondsecret: "efgh" } as const;

export interface ConformanceOptions {
  /** Shown in the test names, e.g. "local.file". */
  name: string;
  create(): SecretStore;
  /** Component metadata; a function when it depends on a backend started in `setup`. */
  metadata: ComponentMetadata | (() => ComponentMetadata);
  /** Starts the backend and seeds the fixtures. */
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
  /** How the store answers a secret it does not hold: daprd's local.env answers an empty value. */
  missing?: "error" | "empty";
  /** Expected `features()` after init with this metadata. */
  features?: readonly SecretStoreFeature[];
  /** What the host hands the store besides metadata (environment, namespace...). */
  context?: () => ContextOverrides;
}

export function describeSecretStoreConformance(opts: ConformanceOptions): void {
  describe(`conformance: ${opts.name}`, () => {
    let store: SecretStore;
    const log = recordingLogger();
    before(async () => {
      await opts.setup?.();
      store = opts.create();
      const metadata = typeof opts.metadata === "function" ? opts.metadata() : opts.metadata;
      await store.init(metadata, storeContext(opts.name, 20_000, log, opts.context?.()));
    });
    after(async () => {
      await store?.close();
      await opts.teardown?.();
    });

    it("ping answers, or says it is not implemented", async () => {
      if (store.ping) await pingStore(store);
      else await assert.rejects(pingStore(store), { message: PING_NOT_IMPLEMENTED });
    });

    it("get returns the name/value fixture exactly", async () => {
      assert.deepEqual(await store.getSecret({ name: "conftestsecret", metadata: {} }), { conftestsecret: "abcd" });
      assert.deepEqual(await store.getSecret({ name: "secondsecret", metadata: {} }), { secondsecret: "efgh" });
    });

    it("get ignores request metadata it does not know", async () => {
      assert.deepEqual(await store.getSecret({ name: "conftestsecret", metadata: { "x-unknown": "1" } }), {
        conftestsecret: "abcd",
      });
    });

    it("a missing secret is a not_found error that names it, or an empty value where the store says so", async () => {
      const name = `missing-${process.pid}-${Date.now()}`;
      if ((opts.missing ?? "error") === "empty") {
        assert.deepEqual(await store.getSecret({ name, metadata: {} }), { [name]: "" });
        return;
      }
      await assert.rejects(store.getSecret({ name, metadata: {} }), (err: unknown) => {
        assert.ok(err instanceof SecretStoreError, `expected SecretStoreError, got ${String(err)}`);
        assert.equal(err.kind, "not_found");
        assert.ok(err.message.includes(name), `message names the secret: ${err.message}`);
        assert.ok(!err.message.includes("abcd") && !err.message.includes("efgh"));
        return true;
      });
    });

    it("bulk get is a superset of the fixtures, every value a map of strings", async () => {
      const bulk = await store.bulkGetSecret({ metadata: {} });
      assert.ok(bulk);
      assert.deepEqual(bulk.conftestsecret, { conftestsecret: "abcd" });
      assert.deepEqual(bulk.secondsecret, { secondsecret: "efgh" });
      for (const [name, data] of Object.entries(bulk)) {
        for (const [k, v] of Object.entries(data)) assert.equal(typeof v, "string", `${name}.${k} is a string`);
      }
    });

    it("concurrent gets all answer the same", async () => {
      const all = await Promise.all(
        Array.from({ length: 25 }, () => store.getSecret({ name: "secondsecret", metadata: {} })),
      );
      for (const r of all) assert.deepEqual(r, { secondsecret: "efgh" });
    });

    it("features are as configured", () => {
      assert.deepEqual([...store.features()], [...(opts.features ?? [])]);
    });

    it("nothing it logged holds a fixture value", () => {
      for (const line of log.lines) assert.ok(!line.includes("abcd") && !line.includes("efgh"), line);
    });

    it("close is idempotent", async () => {
      const other = opts.create();
      const metadata = typeof opts.metadata === "function" ? opts.metadata() : opts.metadata;
      await other.init(metadata, storeContext(opts.name, 10_000, recordingLogger(), opts.context?.()));
      await other.close();
      await other.close();
    });
  });
}
