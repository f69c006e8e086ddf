/**
 * The bundled artefact splits each store and its vendor SDK into chunks of their own: a sidecar with only
 * a local.file store, started as users start it (bin/keyward, which runs the bundle), answers over HTTP
 * and gRPC having loaded no chunk that holds a cloud SDK and none of the external GCP SDK. Every module the
 * process resolves is recorded by a module-resolution hook, so a static import of a store (which would
 * load its SDK at start-up) fails this test.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { grpcSecretsClient } from "../helpers/clients.js";
import { useRecordedSidecar, type Metafile } from "../helpers/module-log.js";
import { REPO_ROOT } from "../helpers/paths.js";

/** Inputs that belong to a cloud store's SDK (or its transitive dependencies, which only they pull in). */
const VENDOR = /node_modules\/(@aws-sdk|@smithy|@aws-crypto|@azure|@kubernetes|@google-cloud|google-gax|node-vault)\//;

const SECRET = `bundle-chunks-${process.pid}-${Date.now()}`;

describe("bundled artefact: vendor SDKs load lazily", () => {
  const recorded = useRecordedSidecar(SECRET);

  it("serves the secret over HTTP and gRPC from the bundle", async () => {
    const res = await fetch(`${recorded.sidecar.httpUrl}/v1.0/secrets/local/token`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { token: SECRET });
    const grpc = grpcSecretsClient(recorded.sidecar.grpcAddress);
    try {
      assert.deepEqual(await grpc.get("local", "token"), { ok: true, data: { token: SECRET }, status: "OK" });
    } finally {
      grpc.close();
    }
  });

  it("loaded the bundle, and no chunk or package of a cloud SDK", () => {
    const resolved = recorded.modules.resolved();
    const bundle = pathToFileURL(join(REPO_ROOT, "dist", "keyward")).href + "/";
    assert.ok(resolved.includes(`${bundle}main.js`), "bin/keyward ran dist/keyward/main.js");
    assert.ok(!resolved.some((u) => u.includes("/dist/src/")), "nothing from tsc's output");

    const meta = JSON.parse(readFileSync(join(REPO_ROOT, "dist", "bundle-meta.json"), "utf8")) as Metafile;
    const vendorChunks = Object.entries(meta.outputs)
      .filter(([, o]) => Object.keys(o.inputs).some((i) => VENDOR.test(i)))
      .map(([file]) => pathToFileURL(join(REPO_ROOT, file)).href);
    assert.ok(vendorChunks.length >= 4, `the cloud SDKs have chunks of their own: ${vendorChunks.length}`);
    const loaded = vendorChunks.filter((c) => resolved.includes(c)).map((c) => relative(bundle, c));
    assert.deepEqual(loaded, [], "no vendor chunk loaded");
    assert.deepEqual(
      resolved.filter((u) => VENDOR.test(u)),
      [],
      "no vendor package resolved",
    );
    assert.ok(!recorded.sidecar.output().includes(SECRET), "the secret value is not in the output");
  });
});
