/**
 * The name the scope checks is the name the store reads, for Kubernetes and HashiCorp Vault: a secret the
 * Configuration denies stays unreadable under other spellings of its name (case, NUL and control characters,
 * dot segments, doubled and trailing slashes, percent encodings, Unicode compatibility forms), over HTTP and
 * gRPC, single and bulk, against the Kubernetes API and Vault test servers.
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { describeTransports } from "../helpers/clients.js";
import { assertBulkWithout, assertSpellings, scopesConfig } from "../helpers/denied-names.js";
import { componentYaml, startSidecar, type Sidecar } from "../helpers/sidecar.js";
import { makeTestTls } from "../helpers/tls.js";
import { KubeApiTestServer } from "../servers/kubernetes/server.js";
import { startVaultServer, type VaultTestServer } from "../servers/vault/server.js";

const K8S_VALUE = `k8s-canary-${process.pid}-${Date.now()}`;
const VAULT_VALUE = `vault-canary-${process.pid}-${Date.now()}`;
let api: KubeApiTestServer;
let vault: VaultTestServer;
let sidecar: Sidecar;

before(async () => {
  api = await KubeApiTestServer.start();
  api.putSecret("apps", "db-password", { password: K8S_VALUE });
  api.putSecret("apps", "public", { mode: "live" });
  const kubeconfigPath = api.writeKubeconfig();
  const tls = makeTestTls();
  vault = await startVaultServer({ tls: { cert: tls.cert, key: tls.key }, rootToken: `hvs.root-${VAULT_VALUE}` });
  vault.put("dapr/db", { password: VAULT_VALUE });
  vault.put("dapr/team/db", { password: VAULT_VALUE });
  vault.put("dapr/public", { mode: "live" });
  vault.policy("app", { "secret/data/dapr/*": ["read"], "secret/metadata/dapr/*": ["list", "read"] });
  const vaultToken = vault.token({ policies: ["app"], ttl: 3600 }).id;
  sidecar = await startSidecar({
    components: {
      "k8s.yaml": componentYaml("k8s", "secretstores.kubernetes", { kubeconfigPath, defaultNamespace: "apps" }),
      // The watch component lists the namespace at start-up; a busy test machine may need more than 5 s.
      "k8s-watch.yaml": componentYaml(
        "k8s-watch",
        "secretstores.kubernetes",
        { kubeconfigPath, defaultNamespace: "apps", watch: "true" },
        "  initTimeout: 60s\n",
      ),
      "vault.yaml": componentYaml("vault", "secretstores.hashicorp.vault", {
        vaultAddr: vault.url,
        caCert: tls.caPath,
        vaultToken,
      }),
    },
    config: scopesConfig([
      { storeName: "k8s", deniedSecrets: ["db-password"] },
      { storeName: "k8s-watch", deniedSecrets: ["db-password"] },
      { storeName: "vault", deniedSecrets: ["db", "team/db"] },
    ]),
  });
});

after(async () => {
  if (sidecar) assert.equal(await sidecar.stop(), 0, sidecar.output());
  assert.ok(!sidecar.output().includes(K8S_VALUE) && !sidecar.output().includes(VAULT_VALUE), "a value was logged");
  await api?.close();
  await vault?.close();
});

describeTransports(
  "denied names in other spellings",
  () => sidecar,
  (client) => {
    void it("kubernetes refuses anything that is not a Secret name, with and without the watch cache", async () => {
      for (const store of ["k8s", "k8s-watch"]) {
        const ok = await client().get(store, "public");
        assert.deepEqual(ok.ok && ok.data, { mode: "live" });
        await assertSpellings(client(), store, K8S_VALUE, {
          "db-password": "denied",
          "DB-PASSWORD": "refused",
          "Db-password": "refused",
          "db-password\u0000": "refused",
          "db-password\u0000x": "refused",
          "db-password\n": "refused",
          "db-password/": "refused",
          "./db-password": "refused",
          "../apps/secrets/db-password": "refused",
          "x/../db-password": "refused",
          "db-password.": "refused",
          "db-password%00": "refused",
          "db%2Dpassword": "refused",
          "\uFF44\uFF42-password": "refused",
          "db-password\u200B": "refused",
          // An HTTP client resolves a bare ".." itself (another route); over gRPC it reaches the store.
          "..": client().transport === "grpc" ? "refused" : "elsewhere",
        });
      }
    });

    void it("vault refuses dot segments, empty segments and control characters; case and encodings name other paths", async () => {
      const ok = await client().get("vault", "public");
      assert.deepEqual(ok.ok && ok.data, { mode: "live" });
      await assertSpellings(client(), "vault", VAULT_VALUE, {
        db: "denied",
        "team/db": "denied",
        "db/": "refused",
        "/db": "refused",
        "./db": "refused",
        "db/.": "refused",
        "x/../db": "refused",
        "team//db": "refused",
        "team/./db": "refused",
        "team/x/../db": "refused",
        "db\u0000": "refused",
        "db\u0000x": "refused",
        "db\t": "refused",
        "team/db\u007f": "refused",
        DB: "elsewhere",
        "TEAM/db": "elsewhere",
        "%2e/db": "elsewhere",
        "team%2Fdb": "elsewhere",
        "db%00": "elsewhere",
        "\uFF44\uFF42": "elsewhere",
      });
    });

    void it("bulk leaves the denied secrets out", async () => {
      for (const store of ["k8s", "k8s-watch"])
        await assertBulkWithout(client(), store, K8S_VALUE, (n) => n === "db-password");
      await assertBulkWithout(client(), "vault", VAULT_VALUE, (n) => n === "db" || n === "team/db");
    });
  },
);
