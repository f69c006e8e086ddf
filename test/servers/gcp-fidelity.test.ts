/**
 * Fidelity of the GCP Secret Manager test server, checked with Google's official Node client
 * (@google-cloud/secret-manager): over plaintext with insecure credentials, then over TLS with a real
 * service-account credential (the client's self-signed JWT) and without one.
 */
import { testTls as tls } from "./gcp/trust-test-ca.js";
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { SecretManagerServiceClient } from "@google-cloud/secret-manager";
import { TestIdentity } from "./gcp/identity.js";
import { crc32c, startGcpSecretManager, type GcpSecretManagerServer } from "./gcp/server.js";

function rpcError(code: grpc.status, details: RegExp, reason?: string): (err: unknown) => boolean {
  return (err: unknown) => {
    const e = err as { code?: number; details?: string; reason?: string };
    assert.equal(e.code, code, `code of ${String(err)}`);
    assert.match(e.details ?? "", details);
    if (reason !== undefined) assert.equal(e.reason, reason);
    return true;
  };
}

describe("GCP Secret Manager test server with the official client (plaintext)", () => {
  let server: GcpSecretManagerServer;
  let client: SecretManagerServiceClient;
  before(async () => {
    server = await startGcpSecretManager({ projects: { "fid-proj": "424242" } });
    // universeDomain given: the library need not look for ambient credentials (a metadata-server probe).
    client = new SecretManagerServiceClient({
      apiEndpoint: "127.0.0.1",
      port: server.port,
      sslCreds: grpc.credentials.createInsecure(),
      universeDomain: "googleapis.com",
    });
  });
  after(async () => {
    await client.close();
    await server.close();
  });

  it("creates a secret, adds versions, accesses latest and numbered versions", async () => {
    const [secret] = await client.createSecret({
      parent: "projects/fid-proj",
      secretId: "db-pass",
      secret: { replication: { automatic: {} }, labels: { team: "a" } },
    });
    assert.equal(secret.name, "projects/424242/secrets/db-pass");
    assert.deepEqual(secret.labels, { team: "a" });
    const data = Buffer.from("first");
    const [v1] = await client.addSecretVersion({
      parent: "projects/fid-proj/secrets/db-pass",
      payload: { data, dataCrc32c: crc32c(data) },
    });
    assert.equal(v1.name, "projects/424242/secrets/db-pass/versions/1");
    assert.equal(v1.state, "ENABLED");
    assert.equal(v1.clientSpecifiedPayloadChecksum, true);
    await client.addSecretVersion({
      parent: "projects/424242/secrets/db-pass",
      payload: { data: Buffer.from("second") },
    });

    const [latest] = await client.accessSecretVersion({ name: "projects/fid-proj/secrets/db-pass/versions/latest" });
    assert.equal(latest.name, "projects/424242/secrets/db-pass/versions/2");
    assert.equal(Buffer.from(latest.payload?.data as Uint8Array).toString(), "second");
    assert.equal(Number(latest.payload?.dataCrc32c), crc32c(Buffer.from("second")));
    const [first] = await client.accessSecretVersion({ name: "projects/fid-proj/secrets/db-pass/versions/1" });
    assert.equal(Buffer.from(first.payload?.data as Uint8Array).toString(), "first");

    const [got] = await client.getSecret({ name: "projects/fid-proj/secrets/db-pass" });
    assert.equal(got.name, "projects/424242/secrets/db-pass");
    assert.ok(got.createTime?.seconds);
    const [versions] = await client.listSecretVersions({ parent: "projects/fid-proj/secrets/db-pass" });
    assert.deepEqual(
      versions.map((v) => v.name),
      ["projects/424242/secrets/db-pass/versions/2", "projects/424242/secrets/db-pass/versions/1"],
    );
  });

  it("rejects a payload whose checksum does not match, and a duplicate secret", async () => {
    await assert.rejects(
      client.addSecretVersion({
        parent: "projects/fid-proj/secrets/db-pass",
        payload: { data: Buffer.from("x"), dataCrc32c: 1 },
      }),
      rpcError(grpc.status.INVALID_ARGUMENT, /Checksum mismatch/),
    );
    await assert.rejects(
      client.createSecret({
        parent: "projects/fid-proj",
        secretId: "db-pass",
        secret: { replication: { automatic: {} } },
      }),
      rpcError(grpc.status.ALREADY_EXISTS, /Secret \[projects\/424242\/secrets\/db-pass\] already exists/),
    );
    await assert.rejects(
      client.createSecret({ parent: "projects/fid-proj", secretId: "bad/id", secret: {} }),
      rpcError(grpc.status.INVALID_ARGUMENT, /Secret ID/),
    );
  });

  it("pages ListSecrets with page_size and next_page_token; the client's auto-pagination sees them all", async () => {
    for (let i = 0; i < 5; i++) server.seed("fid-proj", `page-${i}`, `v${i}`);
    const names: string[] = [];
    let pageToken: string | undefined;
    let pages = 0;
    do {
      const [secrets, , response] = await client.listSecrets(
        { parent: "projects/fid-proj", pageSize: 2, pageToken },
        { autoPaginate: false },
      );
      assert.ok(secrets.length <= 2);
      assert.equal(response?.totalSize, 6);
      names.push(...secrets.map((s) => s.name as string));
      pageToken = response?.nextPageToken || undefined;
      pages++;
    } while (pageToken && pages < 10);
    assert.equal(pages, 3);
    assert.deepEqual(
      names,
      ["db-pass", "page-0", "page-1", "page-2", "page-3", "page-4"].map((n) => `projects/424242/secrets/${n}`),
    );

    const all: string[] = [];
    for await (const s of client.listSecretsAsync({ parent: "projects/fid-proj", pageSize: 4 }))
      all.push(s.name as string);
    assert.deepEqual(all, names);
    await assert.rejects(
      client.listSecrets({ parent: "projects/fid-proj", pageToken: "bogus" }, { autoPaginate: false }),
      rpcError(grpc.status.INVALID_ARGUMENT, /Invalid page token/),
    );
  });

  it("disabled and destroyed versions answer FAILED_PRECONDITION; enabling restores access", async () => {
    server.seed("fid-proj", "rotating", "old");
    server.seed("fid-proj", "rotating", "new");
    const [disabled] = await client.disableSecretVersion({ name: "projects/fid-proj/secrets/rotating/versions/2" });
    assert.equal(disabled.state, "DISABLED");
    await assert.rejects(
      client.accessSecretVersion({ name: "projects/fid-proj/secrets/rotating/versions/latest" }),
      rpcError(
        grpc.status.FAILED_PRECONDITION,
        /^Secret Version \[projects\/424242\/secrets\/rotating\/versions\/2\] is in DISABLED state\.$/,
      ),
    );
    await client.enableSecretVersion({ name: "projects/fid-proj/secrets/rotating/versions/2" });
    const [ok] = await client.accessSecretVersion({ name: "projects/fid-proj/secrets/rotating/versions/latest" });
    assert.equal(Buffer.from(ok.payload?.data as Uint8Array).toString(), "new");
    const [destroyed] = await client.destroySecretVersion({ name: "projects/fid-proj/secrets/rotating/versions/1" });
    assert.equal(destroyed.state, "DESTROYED");
    assert.ok(destroyed.destroyTime?.seconds);
    await assert.rejects(
      client.accessSecretVersion({ name: "projects/fid-proj/secrets/rotating/versions/1" }),
      rpcError(grpc.status.FAILED_PRECONDITION, /is in DESTROYED state/),
    );
  });

  it("answers NOT_FOUND, PERMISSION_DENIED (with ErrorInfo) and INVALID_ARGUMENT as the API does", async () => {
    await assert.rejects(
      client.accessSecretVersion({ name: "projects/fid-proj/secrets/nope/versions/latest" }),
      rpcError(grpc.status.NOT_FOUND, /^Secret \[projects\/424242\/secrets\/nope\] not found or has no versions\.$/),
    );
    await assert.rejects(
      client.accessSecretVersion({ name: "projects/fid-proj/secrets/db-pass/versions/9" }),
      rpcError(
        grpc.status.NOT_FOUND,
        /^Secret Version \[projects\/424242\/secrets\/db-pass\/versions\/9\] not found\.$/,
      ),
    );
    await assert.rejects(
      client.accessSecretVersion({ name: "projects/other/secrets/db-pass/versions/latest" }),
      rpcError(
        grpc.status.PERMISSION_DENIED,
        /^Permission 'secretmanager\.versions\.access' denied for resource 'projects\/other\/secrets\/db-pass\/versions\/latest' \(or it may not exist\)\.$/,
        "IAM_PERMISSION_DENIED",
      ),
    );
    server.deny("projects/fid-proj/secrets/page-0");
    await assert.rejects(
      client.accessSecretVersion({ name: "projects/fid-proj/secrets/page-0/versions/1" }),
      rpcError(grpc.status.PERMISSION_DENIED, /secretmanager\.versions\.access/),
    );
    await assert.rejects(
      client.listSecrets({ parent: "projects/nowhere" }),
      rpcError(grpc.status.PERMISSION_DENIED, /secretmanager\.secrets\.list/),
    );
    await assert.rejects(
      client.accessSecretVersion({ name: "projects/fid-proj/secrets/db-pass/versions/first" }),
      rpcError(grpc.status.INVALID_ARGUMENT, /Invalid resource field value/),
    );
  });

  it("injected quota errors are RESOURCE_EXHAUSTED with RATE_LIMIT_EXCEEDED", async () => {
    server.throttleNext(1, "GetSecret");
    await assert.rejects(
      client.getSecret({ name: "projects/fid-proj/secrets/db-pass" }),
      rpcError(grpc.status.RESOURCE_EXHAUSTED, /Quota exceeded/, "RATE_LIMIT_EXCEEDED"),
    );
    await client.getSecret({ name: "projects/fid-proj/secrets/db-pass" });
  });
});

describe("GCP Secret Manager test server with the official client (TLS, bearer auth)", () => {
  const identity = new TestIdentity();
  let server: GcpSecretManagerServer;
  const key = identity.createServiceAccount("reader@fid-proj.iam.gserviceaccount.com", "fid-proj");
  before(async () => {
    server = await startGcpSecretManager({
      identity,
      tls: { cert: tls.cert, key: tls.key },
      projects: { "fid-proj": "424242" },
    });
    server.seed("fid-proj", "api-key", "tls-value");
  });
  after(() => server.close());

  it("accepts the client's self-signed JWT from a service-account key", async () => {
    const client = new SecretManagerServiceClient({
      apiEndpoint: "localhost",
      port: server.port,
      credentials: key,
      projectId: "fid-proj",
    });
    try {
      const [v] = await client.accessSecretVersion({ name: "projects/fid-proj/secrets/api-key/versions/latest" });
      assert.equal(Buffer.from(v.payload?.data as Uint8Array).toString(), "tls-value");
      const last = server.calls.at(-1);
      assert.equal(last?.principal, key.client_email);
      assert.equal(last?.credential, "self-signed-jwt");
    } finally {
      await client.close();
    }
  });

  it("refuses a call without credentials (CREDENTIALS_MISSING) and one signed by a deleted key", async () => {
    const bare = new SecretManagerServiceClient({
      apiEndpoint: "localhost",
      port: server.port,
      sslCreds: grpc.credentials.createSsl(Buffer.from(tls.ca)),
      universeDomain: "googleapis.com",
    });
    try {
      await assert.rejects(
        bare.accessSecretVersion({ name: "projects/fid-proj/secrets/api-key/versions/latest" }),
        rpcError(grpc.status.UNAUTHENTICATED, /missing required authentication credential/, "CREDENTIALS_MISSING"),
      );
    } finally {
      await bare.close();
    }
    const stale = identity.createServiceAccount("old@fid-proj.iam.gserviceaccount.com", "fid-proj");
    identity.revokeKey(stale.private_key_id);
    const client = new SecretManagerServiceClient({ apiEndpoint: "localhost", port: server.port, credentials: stale });
    try {
      await assert.rejects(
        client.accessSecretVersion({ name: "projects/fid-proj/secrets/api-key/versions/latest" }),
        rpcError(grpc.status.UNAUTHENTICATED, /invalid authentication credentials/),
      );
    } finally {
      await client.close();
    }
  });
});
