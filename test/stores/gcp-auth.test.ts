/**
 * Service-account authentication of the GCP store: the self-signed JWT Google's client sends by default
 * (no token endpoint call), and `selfSignedJWT: "false"`, which exchanges the key at its `token_uri`
 * (the local token endpoint here) for an OAuth access token.
 */
import "../servers/gcp/trust-test-ca.js";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, before, describe, it } from "node:test";
import { GcpSecretManagerStore } from "../../src/stores/gcp/secretmanager.js";
import { SecretStoreError, type ComponentMetadata } from "../../src/stores/types.js";
import { recordingLogger, storeContext } from "../helpers/store-context.js";
import { startGcpFixture, type GcpFixture } from "../servers/gcp/fixture.js";

const log = recordingLogger();
const messages: string[] = [];

async function open(metadata: ComponentMetadata): Promise<GcpSecretManagerStore> {
  const s = new GcpSecretManagerStore();
  await s.init(metadata, storeContext("gcp-auth", 10_000, log));
  return s;
}

function failsWith(kind: string, pattern: RegExp): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof SecretStoreError, String(err));
    messages.push(err.message);
    assert.equal(err.kind, kind, err.message);
    assert.match(err.message, pattern);
    return true;
  };
}

describe("gcp.secretmanager service-account auth", () => {
  let fx: GcpFixture;
  before(async () => {
    fx = await startGcpFixture();
    fx.server.seed(fx.projectId, "auth-secret", "auth-value-5521");
  });
  after(() => fx.close());

  it("by default signs its own JWT with the key and never calls token_uri", async () => {
    const s = await open(fx.metadata());
    assert.deepEqual(await s.getSecret({ name: "auth-secret", metadata: {} }), { "auth-secret": "auth-value-5521" });
    const call = fx.server.calls.at(-1);
    assert.equal(call?.credential, "self-signed-jwt");
    assert.equal(call?.principal, fx.key.client_email);
    assert.deepEqual(fx.auth.counts, { granted: 0, refused: 0, metadataTokens: 0 });
    await s.close();
  });

  it('selfSignedJWT: "false" exchanges the key at token_uri once and reuses the access token', async () => {
    const s = await open(fx.metadata({ selfSignedJWT: "false" }));
    for (let i = 0; i < 3; i++)
      assert.deepEqual(await s.getSecret({ name: "auth-secret", metadata: {} }), { "auth-secret": "auth-value-5521" });
    const bulk = await s.bulkGetSecret({ metadata: {} });
    assert.deepEqual(Object.values(bulk), [
      { [`projects/${fx.projectNumber}/secrets/auth-secret`]: "auth-value-5521" },
    ]);
    const call = fx.server.calls.at(-1);
    assert.equal(call?.credential, "access-token");
    assert.equal(call?.principal, fx.key.client_email);
    assert.equal(fx.auth.counts.granted, 1);
    await s.close();
  });

  it("a key the token endpoint refuses is bad credentials, naming the endpoint's reason", async () => {
    const stale = fx.identity.createServiceAccount(
      `gone@${fx.projectId}.iam.gserviceaccount.com`,
      fx.projectId,
      fx.auth.tokenUri,
    );
    fx.identity.revokeKey(stale.private_key_id);
    const s = await open(fx.metadata({ selfSignedJWT: "false" }, stale));
    await assert.rejects(
      s.getSecret({ name: "auth-secret", metadata: {} }),
      failsWith(
        "bad_credentials",
        /^failed to access secret version of "auth-secret": bad credentials \(could not get an access token\) \(UNAUTHENTICATED: .*token endpoint http:\/\/127\.0\.0\.1:\d+\/token refused the service-account key \(invalid_grant: Invalid JWT Signature\.\)\)$/,
      ),
    );
    assert.equal(fx.auth.counts.refused, 1);
    await s.close();
  });

  it("an unreachable token_uri is told apart from bad credentials", async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const { port } = srv.address() as { port: number };
    await new Promise<void>((r) => srv.close(() => r()));
    const s = await open(fx.metadata({ selfSignedJWT: "false", token_uri: `http://127.0.0.1:${port}/token` }));
    await assert.rejects(
      s.getSecret({ name: "auth-secret", metadata: {} }),
      failsWith(
        "unavailable",
        new RegExp(
          `could not reach the token service .*token endpoint http://127\\.0\\.0\\.1:${port}/token unreachable \\(ECONNREFUSED\\)`,
        ),
      ),
    );
    await s.close();
  });

  it('selfSignedJWT: "false" without a key is a configuration error', async () => {
    await assert.rejects(
      open({ project_id: fx.projectId, selfSignedJWT: "false" }),
      failsWith("invalid_config", /needs a service-account key/),
    );
  });

  it("neither key nor token appears in messages or logs", () => {
    const forbidden = [fx.key.private_key.split("\n")[2] as string, ...fx.identity.issued, "auth-value-5521"];
    assert.ok(fx.identity.issued.length >= 1);
    for (const line of [...messages, ...log.lines]) for (const f of forbidden) assert.ok(!line.includes(f), line);
  });
});
