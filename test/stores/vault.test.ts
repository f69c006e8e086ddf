/**
 * `secretstores.hashicorp.vault` against the Vault test server: the shared conformance suite, and daprd's
 * certification cases (components-contrib `tests/certification/secretstores/hashicorp/vault`).
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseVaultConfig } from "../../src/stores/hashicorp/config.js";
import { VaultSecretStore } from "../../src/stores/hashicorp/vault.js";
import { MULTIPLE_KEY_VALUES_PER_SECRET, SecretStoreError, type ComponentMetadata } from "../../src/stores/types.js";
import { describeSecretStoreConformance } from "../conformance/secret-store.case.js";
import { recordingLogger, storeContext, type RecordingLogger } from "../helpers/store-context.js";
import { makeTestTls } from "../helpers/tls.js";
import { seedDaprFixtures, seedVersions } from "../servers/vault/fixtures.js";
import { startVaultServer, type VaultTestServer } from "../servers/vault/server.js";

let conf: VaultTestServer;
describeSecretStoreConformance({
  name: "hashicorp.vault",
  create: () => new VaultSecretStore(),
  setup: async () => {
    conf = await startVaultServer({ rootToken: `hvs.conformance-${process.pid}-${Date.now()}` });
    seedDaprFixtures(conf);
  },
  teardown: () => conf.close(),
  metadata: () => ({ vaultAddr: conf.url, vaultToken: conf.rootToken }),
  features: [MULTIPLE_KEY_VALUES_PER_SECRET],
});

const logs: RecordingLogger[] = [];
const stores: VaultSecretStore[] = [];
async function open(metadata: ComponentMetadata): Promise<VaultSecretStore> {
  const s = new VaultSecretStore();
  const log = recordingLogger();
  logs.push(log);
  await s.init(metadata, storeContext("my-hashicorp-vault", 10_000, log));
  stores.push(s);
  return s;
}
const get = (s: VaultSecretStore, name: string, metadata: Record<string, string> = {}) =>
  s.getSecret({ name, metadata });

async function rejectsWith(
  p: Promise<unknown>,
  kind: SecretStoreError["kind"],
  pattern: RegExp,
): Promise<SecretStoreError> {
  let caught: unknown;
  await assert.rejects(p, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof SecretStoreError, `expected SecretStoreError, got ${String(caught)}`);
  assert.equal(caught.kind, kind, caught.message);
  assert.match(caught.message, pattern);
  return caught;
}

void describe("hashicorp.vault certification (daprd's cases)", () => {
  let vault: VaultTestServer;
  let md: ComponentMetadata;
  before(async () => {
    vault = await startVaultServer({ rootToken: `hvs.cert-root-${process.pid}-${Date.now()}` });
    seedDaprFixtures(vault);
    md = { vaultAddr: vault.url, vaultToken: vault.rootToken };
  });
  after(async () => {
    for (const s of stores) await s.close();
    await vault.close();
    // No token the server ever issued appears in anything the stores logged.
    for (const log of logs)
      for (const line of log.lines) for (const t of vault.state.issued) assert.ok(!line.includes(t), line);
  });

  void it("basic retrieval, a missing secret is an error, and recovery after Vault restarts", async () => {
    const s = await open(md);
    assert.deepEqual(await get(s, "secondsecret"), { secondsecret: "efgh" });
    await rejectsWith(
      get(s, "this_secret_is_not_there"),
      "not_found",
      /getSecret this_secret_is_not_there failed secret key or version not exist/,
    );
    await vault.stop();
    await rejectsWith(get(s, "secondsecret"), "unavailable", /unreachable/);
    await vault.start();
    assert.deepEqual(await get(s, "secondsecret"), { secondsecret: "efgh" });
  });

  void it("multiple key/values per secret, with the capability; other prefixes are not visible", async () => {
    const s = await open(md);
    assert.deepEqual(s.features(), [MULTIPLE_KEY_VALUES_PER_SECRET]);
    assert.deepEqual(await get(s, "multiplekeyvaluessecret"), { first: "1", second: "2", third: "3" });
    await rejectsWith(get(s, "secretUnderAlternativePrefix"), "not_found", /secretUnderAlternativePrefix/);
    await rejectsWith(get(s, "secretWithNoPrefix"), "not_found", /secretWithNoPrefix/);
  });

  void it("a non-default vaultKVPrefix", async () => {
    const s = await open({ ...md, vaultKVPrefix: "alternativePrefix" });
    assert.deepEqual(await get(s, "secretUnderAlternativePrefix"), { altPrefixKey: "altPrefixValue" });
    await rejectsWith(get(s, "secretWithNoPrefix"), "not_found", /secretWithNoPrefix/);
    assert.deepEqual(await s.bulkGetSecret({ metadata: {} }), {
      secretUnderAlternativePrefix: { altPrefixKey: "altPrefixValue" },
    });
  });

  void it("vaultKVUsePrefix=false reads from the mount root and bulk walks every folder", async () => {
    const s = await open({ ...md, vaultKVUsePrefix: "false", vaultKVPrefix: "ignored" });
    assert.deepEqual(await get(s, "secretWithNoPrefix"), { noPrefixKey: "noProblem" });
    await rejectsWith(get(s, "conftestsecret"), "not_found", /conftestsecret/);
    await rejectsWith(get(s, "secretUnderAlternativePrefix"), "not_found", /secretUnderAlternativePrefix/);
    const bulk = await s.bulkGetSecret({ metadata: {} });
    assert.deepEqual(Object.keys(bulk), [
      "alternativePrefix/secretUnderAlternativePrefix",
      "dapr/conftestsecret",
      "dapr/multiplekeyvaluessecret",
      "dapr/secondsecret",
      "secretWithNoPrefix",
    ]);
    assert.deepEqual(bulk["dapr/multiplekeyvaluessecret"], { first: "1", second: "2", third: "3" });
  });

  void it("vaultValueType=text: name/value semantics with the data as JSON text, no capability", async () => {
    const s = await open({ ...md, vaultValueType: "text" });
    assert.deepEqual(s.features(), []);
    assert.deepEqual(await get(s, "secondsecret"), { secondsecret: '{"secondsecret":"efgh"}' });
    assert.deepEqual(await get(s, "multiplekeyvaluessecret"), {
      multiplekeyvaluessecret: '{"first":"1","second":"2","third":"3"}',
    });
    await rejectsWith(get(s, "secretWithNoPrefix"), "not_found", /secretWithNoPrefix/);
    await assert.rejects(
      open({ ...md, vaultValueType: "yaml" }),
      /invalid value type yaml, accepted values are map or text/,
    );
  });

  void it("vaultAddr: a wrong address initialises and then fails with 'unreachable'; the default is https://127.0.0.1:8200", async () => {
    const s = await open({ vaultAddr: "http://127.0.0.1:1", vaultToken: "hvs.whatever" });
    await rejectsWith(
      get(s, "secondsecret"),
      "unavailable",
      /Vault at http:\/\/127\.0\.0\.1:1 is unreachable reading secret "secondsecret".*ECONNREFUSED/,
    );
    assert.equal(parseVaultConfig({ vaultToken: "x" }).address, "https://127.0.0.1:8200");
  });

  void it("enginePath: a custom KV v2 mount, with bulk", async () => {
    vault.state.mountSecrets("", "customSecretsPath", "kv", 2);
    vault.put(
      "dapr/secretUnderCustomPath",
      { the: "trick", was: "the", path: "parameter" },
      { mount: "customSecretsPath" },
    );
    const s = await open({ ...md, enginePath: "customSecretsPath" });
    assert.deepEqual(await s.bulkGetSecret({ metadata: {} }), {
      secretUnderCustomPath: { the: "trick", was: "the", path: "parameter" },
    });
    assert.deepEqual(await get(s, "secretUnderCustomPath"), { the: "trick", was: "the", path: "parameter" });
    const explicit = await open({ ...md, enginePath: "secret" });
    assert.deepEqual(await get(explicit, "conftestsecret"), { conftestsecret: "abcd" });
  });

  void it("versioning: latest by default, a past version through version_id", async () => {
    seedVersions(vault);
    const s = await open(md);
    assert.ok("secretUnderTest" in (await s.bulkGetSecret({ metadata: {} })));
    assert.deepEqual(await get(s, "secretUnderTest"), { versionedKey: "latestValue" });
    assert.deepEqual(await get(s, "secretUnderTest", { version_id: "2" }), { versionedKey: "secondVersion" });
    assert.deepEqual(await get(s, "secretUnderTest", { version_id: "0" }), { versionedKey: "latestValue" });
    // Bulk with a version skips secrets that lack it (as daprd), and keeps the ones that have it.
    assert.deepEqual(await s.bulkGetSecret({ metadata: { version_id: "4" } }), {
      secretUnderTest: { versionedKey: "v4" },
    });
  });

  void it("vaultToken / vaultTokenMountPath: happy case, both, neither, broken path, bad token", async () => {
    const dir = mkdtempSync(join(tmpdir(), "keyward-vault-token-"));
    const file = join(dir, "vault_token_file.txt");
    writeFileSync(file, `  ${vault.rootToken}\n`);
    const s = await open({ vaultAddr: vault.url, vaultTokenMountPath: file });
    assert.deepEqual(await get(s, "secondsecret"), { secondsecret: "efgh" });
    await assert.rejects(open({ vaultAddr: vault.url, vaultTokenMountPath: file, vaultToken: vault.rootToken }), {
      message: "token mount path and token both set",
    });
    await assert.rejects(open({ vaultAddr: vault.url }), { message: "token mount path and token not set" });
    await assert.rejects(
      open({ vaultAddr: vault.url, vaultTokenMountPath: join(dir, "nope") }),
      /couldn't read vault token from mount path .*nope: ENOENT/,
    );
    const bad = await open({
      vaultAddr: vault.url,
      vaultToken: "this-is-not-the-correct-vault-token-to-talk-to-our-server",
    });
    const err = await rejectsWith(
      get(bad, "secondsecret"),
      "bad_credentials",
      /Vault rejected the token reading secret "secondsecret".*invalid, expired or revoked/,
    );
    assert.ok(!err.message.includes("this-is-not-the-correct"), err.message);
  });

  void it("metadata names are case-insensitive, as daprd decodes them", async () => {
    const s = await open({ VAULTADDR: vault.url, VaultToken: vault.rootToken, VAULTKVPREFIX: "alternativePrefix" });
    assert.deepEqual(await get(s, "secretUnderAlternativePrefix"), { altPrefixKey: "altPrefixValue" });
  });
});

void describe("hashicorp.vault certification: TLS (caFamily)", () => {
  let vault: VaultTestServer;
  const tls = makeTestTls();
  const wrong = makeTestTls();
  before(async () => {
    vault = await startVaultServer({ tls: { cert: tls.cert, key: tls.key }, rootToken: `hvs.tls-root-${process.pid}` });
    seedDaprFixtures(vault);
  });
  after(async () => {
    for (const s of stores) await s.close();
    await vault.close();
  });
  const base = () => ({ vaultAddr: vault.url, vaultToken: vault.rootToken });

  void it("caCert, caPath (every file in the folder) and caPem, with tlsServerName", async () => {
    const caDir = join(tls.dir, "cas");
    mkdirSync(join(caDir, "nested"), { recursive: true });
    writeFileSync(join(caDir, "a-wrong-ca.pem"), wrong.ca);
    writeFileSync(join(caDir, "nested", "right-ca.pem"), tls.ca);
    const variants: Record<string, string>[] = [
      { caCert: tls.caPath },
      { caPath: caDir },
      { caPem: tls.ca },
      { caCert: tls.caPath, tlsServerName: "localhost" },
    ];
    for (const extra of variants) {
      const s = await open({ ...base(), ...extra });
      assert.deepEqual(await get(s, "secondsecret"), { secondsecret: "efgh" }, JSON.stringify(Object.keys(extra)));
    }
  });

  void it("caPem wins over caPath and caCert", async () => {
    const s = await open({ ...base(), caPem: tls.ca, caCert: wrong.caPath, caPath: wrong.dir });
    assert.deepEqual(await get(s, "secondsecret"), { secondsecret: "efgh" });
  });

  void it("a tlsServerName that does not match, or a wrong CA, initialise and then fail with a TLS message", async () => {
    const badName = await open({ ...base(), caCert: tls.caPath, tlsServerName: "badTlsServerName" });
    await rejectsWith(
      get(badName, "secondsecret"),
      "unavailable",
      /TLS verification of Vault at https:\/\/127\.0\.0\.1:\d+ failed.*badtlsservername/i,
    );
    const badCa = await open({ ...base(), caCert: wrong.caPath, tlsServerName: "localhost" });
    await rejectsWith(get(badCa, "secondsecret"), "unavailable", /TLS verification .* failed/);
    const systemPool = await open(base());
    await rejectsWith(get(systemPool, "secondsecret"), "unavailable", /TLS verification .* failed/);
  });

  void it("skipVerify=true ignores a wrong CA; only the string true turns it on", async () => {
    const s = await open({ ...base(), skipVerify: "true", caCert: wrong.caPath, tlsServerName: "hashicorp_vault" });
    assert.deepEqual(await get(s, "secondsecret"), { secondsecret: "efgh" });
    const notOn = await open({ ...base(), skipVerify: "1", caCert: wrong.caPath });
    await rejectsWith(get(notOn, "secondsecret"), "unavailable", /TLS/);
  });

  void it("an unreadable or non-PEM CA fails init clearly", async () => {
    await assert.rejects(
      open({ ...base(), caCert: join(tls.dir, "missing.pem") }),
      /couldn't read CA file from disk: .*missing\.pem: ENOENT/,
    );
    await assert.rejects(open({ ...base(), caPem: "not a certificate" }), /couldn't read PEM from caPem/);
  });
});
