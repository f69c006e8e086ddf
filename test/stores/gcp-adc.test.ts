/**
 * Application Default Credentials (no key in the metadata), as Google's auth library finds them:
 * a key file named by GOOGLE_APPLICATION_CREDENTIALS, then the GCE/GKE metadata server (GCE_METADATA_HOST
 * points at the local one), and a clear init error when there are none.
 */
import "../servers/gcp/trust-test-ca.js";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { GcpSecretManagerStore } from "../../src/stores/gcp/secretmanager.js";
import { SecretStoreError, type ComponentMetadata } from "../../src/stores/types.js";
import { recordingLogger, storeContext } from "../helpers/store-context.js";
import { startGcpFixture, type GcpFixture } from "../servers/gcp/fixture.js";

// No gcloud user credentials from the machine may stand in for the ones under test.
const home = mkdtempSync(join(tmpdir(), "keyward-gcp-home-"));
process.env.HOME = home;
for (const v of [
  "GOOGLE_APPLICATION_CREDENTIALS",
  "GCE_METADATA_HOST",
  "GCE_METADATA_IP",
  "METADATA_SERVER_DETECTION",
  "GOOGLE_CLOUD_UNIVERSE_DOMAIN",
])
  delete process.env[v];

const log = recordingLogger();

async function open(metadata: ComponentMetadata): Promise<GcpSecretManagerStore> {
  const s = new GcpSecretManagerStore();
  await s.init(metadata, storeContext("gcp-adc", 15_000, log));
  return s;
}

describe("gcp.secretmanager with Application Default Credentials", () => {
  let fx: GcpFixture;
  let md: ComponentMetadata;
  before(async () => {
    fx = await startGcpFixture({ metadataServer: true });
    fx.server.seed(fx.projectId, "adc-secret", "adc-value-3318");
    md = { project_id: fx.projectId, endpoint: `127.0.0.1:${fx.server.port}` };
  });
  beforeEach(() => {
    delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
    delete process.env.GCE_METADATA_HOST;
    delete process.env.METADATA_SERVER_DETECTION;
  });
  after(() => fx.close());

  it("uses the key file GOOGLE_APPLICATION_CREDENTIALS names", async () => {
    const file = join(home, "sa.json");
    writeFileSync(file, JSON.stringify(fx.key));
    process.env.GOOGLE_APPLICATION_CREDENTIALS = file;
    const s = await open(md);
    assert.deepEqual(await s.getSecret({ name: "adc-secret", metadata: {} }), { "adc-secret": "adc-value-3318" });
    assert.equal(fx.server.calls.at(-1)?.principal, fx.key.client_email);
    assert.equal(fx.server.calls.at(-1)?.credential, "self-signed-jwt");
    await s.close();
  });

  it("uses the metadata server's service-account token on GCE/GKE", async () => {
    process.env.GCE_METADATA_HOST = fx.auth.metadataHost;
    const s = await open(md);
    assert.deepEqual(await s.getSecret({ name: "adc-secret", metadata: {} }), { "adc-secret": "adc-value-3318" });
    const call = fx.server.calls.at(-1);
    assert.equal(call?.credential, "access-token");
    assert.equal(call?.principal, `${fx.projectNumber}-compute@developer.gserviceaccount.com`);
    assert.ok(fx.auth.counts.metadataTokens >= 1);
    await s.close();
  });

  it("fails init clearly when there are no default credentials", async () => {
    process.env.METADATA_SERVER_DETECTION = "none";
    await assert.rejects(open(md), (err: unknown) => {
      assert.ok(err instanceof SecretStoreError);
      assert.equal(err.kind, "bad_credentials");
      assert.match(
        err.message,
        /^failed to setup secretmanager client: no Application Default Credentials: Could not load the default credentials/,
      );
      return true;
    });
  });

  it("logs which credentials it uses and nothing secret", () => {
    assert.ok(log.lines.some((l) => l.includes("application default credentials")));
    for (const line of log.lines) {
      assert.ok(!line.includes("adc-value-3318"));
      for (const t of fx.identity.issued) assert.ok(!line.includes(t));
    }
  });
});
