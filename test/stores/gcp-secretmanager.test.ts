import { testTls } from "../servers/gcp/trust-test-ca.js";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createServer } from "node:net";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseEndpoint } from "../../src/stores/gcp/config.js";
import { definition, GcpSecretManagerStore } from "../../src/stores/gcp/secretmanager.js";
import { SecretStoreError, type ComponentMetadata, type SecretStoreErrorKind } from "../../src/stores/types.js";
import { describeSecretStoreConformance } from "../conformance/secret-store.case.js";
import { recordingLogger, storeContext } from "../helpers/store-context.js";
import { startGcpFixture, type GcpFixture } from "../servers/gcp/fixture.js";

let fx: GcpFixture;
const log = recordingLogger();
/** Every message a store produced, checked at the end for leaked values and credentials. */
const messages: string[] = [];
const SEEDED = ["s3cr3t-alpha-7781", "s3cr3t-beta-9913", "s3cr3t-old-4410"];

async function open(metadata: ComponentMetadata): Promise<GcpSecretManagerStore> {
  const s = new GcpSecretManagerStore();
  await s.init(metadata, storeContext("gcp", 10_000, log));
  return s;
}

function failsWith(kind: SecretStoreErrorKind, pattern: RegExp): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof SecretStoreError, `expected SecretStoreError, got ${String(err)}`);
    messages.push(err.message);
    assert.equal(err.kind, kind, err.message);
    assert.match(err.message, pattern);
    return true;
  };
}

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

before(async () => {
  fx = await startGcpFixture({ defaultPageSize: 2 });
  fx.server.seed(fx.projectId, "conftestsecret", "abcd");
  fx.server.seed(fx.projectId, "secondsecret", "efgh");
});
after(() => fx.close());

describeSecretStoreConformance({
  name: "gcp.secretmanager",
  create: () => new GcpSecretManagerStore(),
  metadata: () => fx.metadata({ shortBulkNames: "true" }),
});

describe("gcp.secretmanager", () => {
  let store: GcpSecretManagerStore;
  before(async () => {
    fx.server.seed(fx.projectId, "versioned", SEEDED[2] as string);
    fx.server.seed(fx.projectId, "versioned", SEEDED[0] as string);
    fx.server.seed(fx.projectId, "multi-line", "line1\nline2 ünïcode");
    store = await open(fx.metadata());
  });
  after(() => store.close());

  it("is registered as gcp.secretmanager and loads Google's client only on init", () => {
    assert.equal(definition.type, "gcp.secretmanager");
    const module = fileURLToPath(new URL("../../src/stores/gcp/secretmanager.js", import.meta.url));
    const script = `const m = await import(${JSON.stringify(module)}); m.definition.create();
      const { createRequire } = await import("node:module");
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes("google-cloud") || k.includes("google-gax") || k.includes("grpc-js"));
      process.stdout.write(JSON.stringify(loaded));`;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    assert.deepEqual(JSON.parse(out), []);
  });

  it("gets the latest version, or the one version_id names", async () => {
    assert.deepEqual(await store.getSecret({ name: "versioned", metadata: {} }), { versioned: SEEDED[0] });
    assert.deepEqual(await store.getSecret({ name: "versioned", metadata: { version_id: "1" } }), {
      versioned: SEEDED[2],
    });
    assert.deepEqual(await store.getSecret({ name: "versioned", metadata: { version_id: "latest" } }), {
      versioned: SEEDED[0],
    });
    assert.deepEqual(await store.getSecret({ name: "versioned", metadata: { version_id: "" } }), {
      versioned: SEEDED[0],
    });
    assert.deepEqual(await store.getSecret({ name: "multi-line", metadata: {} }), {
      "multi-line": "line1\nline2 ünïcode",
    });
    await assert.rejects(
      store.getSecret({ name: "versioned", metadata: { version_id: "7" } }),
      failsWith(
        "not_found",
        /"versioned" version "7": not found \(NOT_FOUND: Secret Version \[projects\/770011223344\/secrets\/versioned\/versions\/7\] not found\.\)/,
      ),
    );
    await assert.rejects(
      store.getSecret({ name: "versioned", metadata: { version_id: "first" } }),
      failsWith("invalid_request", /invalid request \(INVALID_ARGUMENT/),
    );
  });

  it("an empty secret name is daprd's error", async () => {
    await assert.rejects(store.getSecret({ name: "", metadata: {} }), { message: "missing secret name in request" });
  });

  it("bulk keys are full resource names by default (daprd), pages through ListSecrets", async () => {
    const before = fx.server.calls.filter((c) => c.method === "ListSecrets").length;
    const bulk = await store.bulkGetSecret({ metadata: {} });
    const lists = fx.server.calls.filter((c) => c.method === "ListSecrets").length - before;
    const full = (n: string) => `projects/${fx.projectNumber}/secrets/${n}`;
    assert.deepEqual(bulk[full("conftestsecret")], { [full("conftestsecret")]: "abcd" });
    assert.deepEqual(bulk[full("versioned")], { [full("versioned")]: SEEDED[0] });
    assert.equal(bulk.conftestsecret, undefined);
    assert.equal(Object.keys(bulk).length, 4);
    // Four secrets at the server's page size of two: two pages.
    assert.equal(lists, 2);
  });

  it("bulk pages through many secrets and skips ones without a readable latest version", async () => {
    const f = await startGcpFixture({ projectId: "paging-proj", projectNumber: "99", defaultPageSize: 3 });
    try {
      for (let i = 0; i < 20; i++) f.server.seed("paging-proj", `s${String(i).padStart(2, "0")}`, `value-${i}`);
      f.server.seed("paging-proj", "disabled", "x");
      f.server.seed("paging-proj", "destroyed", "y");
      f.server.seed("paging-proj", "empty", "z");
      const s = await open(f.metadata({ shortBulkNames: "true" }, f.key));
      f.server.setVersionState("paging-proj", "disabled", 1, "DISABLED");
      f.server.setVersionState("paging-proj", "destroyed", 1, "DESTROYED");
      const bulk = await s.bulkGetSecret({ metadata: {} });
      assert.equal(Object.keys(bulk).length, 21);
      assert.deepEqual(bulk.s07, { s07: "value-7" });
      assert.deepEqual(bulk.empty, { empty: "z" });
      assert.equal(bulk.disabled, undefined);
      assert.equal(bulk.destroyed, undefined);
      assert.equal(f.server.calls.filter((c) => c.method === "ListSecrets").length, 8);
      await s.close();
    } finally {
      await f.close();
    }
  });

  it('shortBulkNames: "true" returns plain secret names', async () => {
    const s = await open(fx.metadata({ shortBulkNames: "true" }));
    const bulk = await s.bulkGetSecret({ metadata: {} });
    assert.deepEqual(bulk.versioned, { versioned: SEEDED[0] });
    assert.deepEqual(Object.keys(bulk).sort(), ["conftestsecret", "multi-line", "secondsecret", "versioned"]);
    await s.close();
  });

  it("not found and disabled versions are not_found errors that name the secret", async () => {
    await assert.rejects(
      store.getSecret({ name: "nope", metadata: {} }),
      failsWith(
        "not_found",
        /^failed to access secret version of "nope": not found \(NOT_FOUND: Secret \[projects\/770011223344\/secrets\/nope\] not found or has no versions\.\)$/,
      ),
    );
    fx.server.seed(fx.projectId, "switched-off", "v");
    fx.server.setVersionState(fx.projectId, "switched-off", 1, "DISABLED");
    await assert.rejects(
      store.getSecret({ name: "switched-off", metadata: {} }),
      failsWith(
        "not_found",
        /"switched-off": version disabled or destroyed \(FAILED_PRECONDITION: .* is in DISABLED state\.\)/,
      ),
    );
  });

  it("permission denied is told apart, for get and for bulk", async () => {
    fx.server.seed(fx.projectId, "forbidden", "zzz-forbidden-value");
    fx.server.deny(`projects/${fx.projectId}/secrets/forbidden`, fx.key.client_email);
    await assert.rejects(
      store.getSecret({ name: "forbidden", metadata: {} }),
      failsWith(
        "permission_denied",
        /"forbidden": permission denied \(PERMISSION_DENIED: Permission 'secretmanager\.versions\.access' denied/,
      ),
    );
    await assert.rejects(store.bulkGetSecret({ metadata: {} }), failsWith("permission_denied", /permission denied/));
    const other = await open(fx.metadata({ project_id: "someone-elses" }));
    await assert.rejects(
      other.bulkGetSecret({ metadata: {} }),
      failsWith(
        "permission_denied",
        /^failed to list secrets in "projects\/someone-elses": permission denied \(PERMISSION_DENIED: Permission 'secretmanager\.secrets\.list'/,
      ),
    );
    await other.close();
    fx.server.reset();
  });

  it("throttling is retried briefly, then reported as throttled", async () => {
    fx.server.throttleNext(2, "AccessSecretVersion");
    assert.deepEqual(await store.getSecret({ name: "conftestsecret", metadata: {} }), { conftestsecret: "abcd" });
    fx.server.throttleNext(10, "AccessSecretVersion");
    try {
      await assert.rejects(
        store.getSecret({ name: "conftestsecret", metadata: {} }),
        failsWith(
          "throttled",
          /^failed to access secret version of "conftestsecret": throttled \(quota exceeded, retries exhausted\) \(RESOURCE_EXHAUSTED: Quota exceeded[^()]*\)$/,
        ),
      );
    } finally {
      fx.server.reset();
    }
  });

  it("an unreachable endpoint is reported as unreachable", async () => {
    const port = await closedPort();
    const s = await open(fx.metadata({ endpoint: `127.0.0.1:${port}` }));
    await assert.rejects(
      s.getSecret({ name: "conftestsecret", metadata: {} }),
      failsWith("unavailable", new RegExp(`Secret Manager unreachable at 127\\.0\\.0\\.1:${port} \\(UNAVAILABLE`)),
    );
    await s.close();
  });

  it("bad credentials (a deleted key) are told apart", async () => {
    const stale = fx.identity.createServiceAccount(
      `stale@${fx.projectId}.iam.gserviceaccount.com`,
      fx.projectId,
      fx.auth.tokenUri,
    );
    fx.identity.revokeKey(stale.private_key_id);
    const s = await open(fx.metadata({}, stale));
    await assert.rejects(
      s.getSecret({ name: "conftestsecret", metadata: {} }),
      failsWith(
        "bad_credentials",
        /"conftestsecret": bad credentials \(UNAUTHENTICATED: Request had invalid authentication credentials/,
      ),
    );
    await s.close();
  });

  it("a caller's abort signal cancels the call", async () => {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(
      store.getSecret({ name: "conftestsecret", metadata: {} }, ac.signal),
      failsWith("unavailable", /request cancelled/),
    );
  });

  it("accepts daprd's camelCase names and snake_case aliases, case-insensitively, and keys with \\n escapes", async () => {
    const k = fx.key;
    const camel = await open({
      projectID: k.project_id,
      type: k.type,
      privateKeyID: k.private_key_id,
      privateKey: k.private_key.replace(/\n/g, "\\n"),
      clientEmail: k.client_email,
      clientID: k.client_id,
      authURI: k.auth_uri,
      tokenURI: k.token_uri,
      authProviderX509CertURL: k.auth_provider_x509_cert_url,
      clientX509CertURL: k.client_x509_cert_url,
      endpoint: `127.0.0.1:${fx.server.port}`,
    });
    assert.deepEqual(await camel.getSecret({ name: "secondsecret", metadata: {} }), { secondsecret: "efgh" });
    await camel.close();
    const upper = await open({
      PROJECT_ID: k.project_id,
      Type: k.type,
      PRIVATE_KEY_ID: k.private_key_id,
      Private_Key: k.private_key,
      CLIENT_EMAIL: k.client_email,
      Endpoint: `https://127.0.0.1:${fx.server.port}`,
    });
    assert.deepEqual(await upper.getSecret({ name: "secondsecret", metadata: {} }), { secondsecret: "efgh" });
    assert.equal(fx.server.calls.at(-1)?.principal, k.client_email);
    await upper.close();
  });

  it("init errors: daprd's messages for missing fields, clear ones for bad keys and endpoints", async () => {
    const k = fx.key;
    const base = fx.metadata();
    const without = (name: string) => Object.fromEntries(Object.entries(base).filter(([n]) => n !== name));
    await assert.rejects(open(without("project_id")), { message: "missing property `project_id` in metadata" });
    await assert.rejects(open(without("type")), {
      message: "failed to setup secretmanager client: missing property `type` in metadata",
    });
    await assert.rejects(open(without("private_key")), {
      message: "failed to setup secretmanager client: missing property `private_key` in metadata",
    });
    await assert.rejects(open(without("client_email")), {
      message: "failed to setup secretmanager client: missing property `client_email` in metadata",
    });
    const broken = k.private_key.slice(0, 200) + "garbage" + k.private_key.slice(260);
    await assert.rejects(
      open({ ...base, private_key: broken }),
      failsWith(
        "bad_credentials",
        /^failed to setup secretmanager client: property `private_key` is not a PEM private key$/,
      ),
    );
    await assert.rejects(
      open({ ...base, endpoint: "http://127.0.0.1:1" }),
      failsWith("invalid_config", /plaintext http is not supported/),
    );
    await assert.rejects(open({ ...base, endpoint: "a b:c" }), failsWith("invalid_config", /is not host:port/));
    await assert.rejects(open({ ...base, shortBulkNames: "perhaps" }), /shortBulkNames: "perhaps" is not a boolean/);
    await assert.rejects(
      open({ ...base, type: "authorized_user" }),
      /credential type "authorized_user" is not supported/,
    );
  });

  it("endpoint forms: host:port, host alone (443), https:// prefix, bracketed IPv6", () => {
    assert.deepEqual(parseEndpoint("10.1.2.3:8443"), { host: "10.1.2.3", port: 8443 });
    assert.deepEqual(parseEndpoint("secretmanager.europe-west1.rep.googleapis.com"), {
      host: "secretmanager.europe-west1.rep.googleapis.com",
      port: 443,
    });
    assert.deepEqual(parseEndpoint("https://sm.private.example:444/"), { host: "sm.private.example", port: 444 });
    assert.deepEqual(parseEndpoint("[::1]:9000"), { host: "::1", port: 9000 });
    assert.throws(() => parseEndpoint("host:99999"), /is not host:port/);
  });

  it("no secret value, key or token appears in any message or log line", () => {
    assert.ok(messages.length >= 10);
    const forbidden = [
      ...SEEDED,
      "zzz-forbidden-value",
      fx.key.private_key.split("\n")[1] as string,
      ...fx.identity.issued,
    ];
    for (const line of [...messages, ...log.lines]) {
      for (const f of forbidden) assert.ok(!line.includes(f), `leak in: ${line}`);
      assert.doesNotMatch(line, /eyJ[\w-]+\.[\w-]+/);
    }
    assert.ok(testTls.caPath);
  });
});
