/**
 * The name the scope checks is the name the store reads, for Azure Key Vault, GCP Secret Manager and the AWS
 * stores: a secret the Configuration denies stays unreadable under other spellings of its name (case where
 * the backend ignores it, ARNs, version selectors, resource names, NUL and control characters, slashes,
 * percent encodings, Unicode compatibility forms), over HTTP and gRPC, single and bulk.
 */
import { testTls } from "../servers/gcp/trust-test-ca.js";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { describeTransports } from "../helpers/clients.js";
import { assertBulkWithout, assertSpellings, scopesConfig } from "../helpers/denied-names.js";
import { isolateAwsEnv, MOTO_CREDENTIALS, MOTO_REGION, motoMetadata, startMoto, type Moto } from "../helpers/moto.js";
import { componentYaml, startSidecar, type Sidecar } from "../helpers/sidecar.js";
import { startAzureTestEnvironment, type AzureTestEnvironment } from "../servers/azure/index.js";
import { keyMetadata, startGcpFixture, type GcpFixture } from "../servers/gcp/fixture.js";

isolateAwsEnv();

const VALUE = `cloud-canary-${process.pid}-${Date.now()}`;
const CLIENT_SECRET = `names-client-secret-${process.pid}`;
let azure: AzureTestEnvironment;
let gcp: GcpFixture;
let moto: Moto;
let secretArn: string;
let sidecar: Sidecar;

before(async () => {
  azure = await startAzureTestEnvironment();
  const app = azure.directory.addApp({ secret: CLIENT_SECRET });
  azure.vault.grant(app, ["get", "list"]);
  azure.vault.setSecret("db-password", VALUE);
  azure.vault.setSecret("public", "live");

  gcp = await startGcpFixture({ projectId: "shop-prod", projectNumber: "512300004567" });
  gcp.server.seed("shop-prod", "db-password", VALUE);
  gcp.server.seed("shop-prod", "public", "live");

  moto = await startMoto();
  const sm = new SecretsManagerClient({ region: MOTO_REGION, endpoint: moto.endpoint, credentials: MOTO_CREDENTIALS });
  secretArn = (await sm.send(new CreateSecretCommand({ Name: "db-password", SecretString: VALUE }))).ARN as string;
  await sm.send(new CreateSecretCommand({ Name: "public", SecretString: "live" }));
  sm.destroy();
  const ssm = new SSMClient({ region: MOTO_REGION, endpoint: moto.endpoint, credentials: MOTO_CREDENTIALS });
  await ssm.send(new PutParameterCommand({ Name: "/shop/prod/api-key", Value: VALUE, Type: "SecureString" }));
  await ssm.send(new PutParameterCommand({ Name: "/shop/prod/api-key", Value: "v2", Overwrite: true }));
  await ssm.send(new PutParameterCommand({ Name: "/shop/prod/public", Value: "live", Type: "String" }));
  ssm.destroy();

  const azureMetadata = {
    vaultName: "shop-kv",
    vaultUrl: azure.vault.url,
    azureTenantId: azure.directory.tenantId,
    azureClientId: app.clientId,
    azureClientSecret: CLIENT_SECRET,
    azureAuthMethods: "ClientCredentials",
  };
  const gcpMetadata = { ...keyMetadata(gcp.key), endpoint: `127.0.0.1:${gcp.server.port}` };
  sidecar = await startSidecar({
    components: {
      "kv.yaml": componentYaml("kv", "secretstores.azure.keyvault", azureMetadata),
      "kv-upper.yaml": componentYaml("kv-upper", "secretstores.azure.keyvault", azureMetadata),
      "kv-allow.yaml": componentYaml("kv-allow", "secretstores.azure.keyvault", azureMetadata),
      "gcp-allow.yaml": componentYaml("gcp-allow", "secretstores.gcp.secretmanager", gcpMetadata),
      "gcp.yaml": componentYaml("gcp", "secretstores.gcp.secretmanager", gcpMetadata),
      "gcp-short.yaml": componentYaml("gcp-short", "secretstores.gcp.secretmanager", {
        ...gcpMetadata,
        shortBulkNames: "true",
      }),
      "sm.yaml": componentYaml("sm", "secretstores.aws.secretmanager", motoMetadata(moto)),
      "ssm.yaml": componentYaml(
        "ssm",
        "secretstores.aws.parameterstore",
        motoMetadata(moto, { prefix: "/shop/prod/" }),
      ),
    },
    config: scopesConfig([
      { storeName: "kv", deniedSecrets: ["db-password"] },
      { storeName: "kv-upper", deniedSecrets: ["DB-Password"] },
      { storeName: "kv-allow", allowedSecrets: ["PUBLIC"] },
      { storeName: "gcp-allow", allowedSecrets: ["projects/shop-prod/secrets/public"] },
      { storeName: "gcp", deniedSecrets: ["db-password"] },
      { storeName: "gcp-short", deniedSecrets: ["projects/shop-prod/secrets/db-password"] },
      { storeName: "sm", deniedSecrets: ["db-password"] },
      { storeName: "ssm", deniedSecrets: ["api-key"] },
    ]),
    env: {
      NODE_EXTRA_CA_CERTS: azure.tls.caPath,
      AZURE_AUTHORITY_HOST: azure.authority.url,
      GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: testTls.caPath,
      HOME: mkdtempSync(join(tmpdir(), "keyward-names-home-")),
      GOOGLE_APPLICATION_CREDENTIALS: undefined,
    },
  });
});

after(async () => {
  if (sidecar) assert.equal(await sidecar.stop(), 0, sidecar.output());
  assert.ok(!sidecar.output().includes(VALUE), "a secret value reached the log");
  await azure?.close();
  await gcp?.close();
  await moto?.stop();
});

describeTransports(
  "denied names in other spellings",
  () => sidecar,
  (client) => {
    const readsPublic = async (store: string) => {
      const o = await client().get(store, "public");
      assert.deepEqual(o.ok && o.data, { public: "live" }, `${store}: ${JSON.stringify(o)}`);
    };

    void it("azure key vault: names ignore case, so scopes do; anything but a Key Vault name is refused", async () => {
      for (const store of ["kv", "kv-upper"]) {
        await readsPublic(store);
        await assertSpellings(client(), store, VALUE, {
          "db-password": "denied",
          "DB-PASSWORD": "denied",
          "Db-Password": "denied",
          "db-passworD": "denied",
          "db-password/": "refused",
          "db-password/0123456789abcdef0123456789abcdef": "refused",
          "db-password\u0000": "refused",
          "db-password\u0000x": "refused",
          db_password: "refused",
          "db-password%00": "refused",
          "db%2Dpassword": "refused",
          "\uFF44\uFF42-password": "refused",
          "db-pa\u017Fsword": "refused",
          "db-password ": "refused",
        });
        // A version goes into the URL path after the name: only a version identifier may.
        for (const version_id of ["../db-password", "..%2Fdb-password", "x/../../db-password", "\u0000"]) {
          const o = await client().get(store, "public", { version_id });
          assert.ok(!o.ok && /is not a Key Vault version/.test(o.message), JSON.stringify(o));
        }
      }
    });

    void it("gcp secret manager: only secret IDs, compared as IDs in bulk resource names too", async () => {
      for (const store of ["gcp", "gcp-short"]) {
        await readsPublic(store);
        await assertSpellings(client(), store, VALUE, {
          "db-password": "denied",
          "db-password/versions/latest": "refused",
          "db-password/versions/1": "refused",
          "../secrets/db-password": "refused",
          "x/../db-password": "refused",
          "projects/shop-prod/secrets/db-password": "refused",
          "db-password\u0000": "refused",
          "db-password\n": "refused",
          "db%2Dpassword": "refused",
          "\uFF44\uFF42-password": "refused",
          "DB-PASSWORD": "elsewhere",
        });
      }
    });

    void it("aws secrets manager: an ARN is checked as the name it resolves to", async () => {
      await readsPublic("sm");
      const partialArn = secretArn.slice(0, secretArn.lastIndexOf("-"));
      await assertSpellings(client(), "sm", VALUE, {
        "db-password": "denied",
        [secretArn]: "denied",
        [partialArn]: "denied",
        "db-password\u0000": "refused",
        "db-password ": "refused",
        "db-password\n": "refused",
        "\uFF44\uFF42-password": "refused",
        [`${secretArn}\u0000`]: "refused",
        "DB-PASSWORD": "elsewhere",
        "db-password%00": "elsewhere",
      });
    });

    void it("aws parameter store: no version or label selector, no ARN, no empty level", async () => {
      const o = await client().get("ssm", "public");
      assert.deepEqual(o.ok && o.data, { public: "live" });
      await assertSpellings(client(), "ssm", VALUE, {
        "api-key": "denied",
        "api-key:1": "refused",
        "api-key:2": "refused",
        "/api-key": "refused",
        "api-key/": "refused",
        "./api-key": "refused",
        "../prod/api-key": "refused",
        "api-key\u0000": "refused",
        "arn:aws:ssm:us-east-1:123456789012:parameter/shop/prod/api-key": "refused",
        "\uFF41pi-key": "refused",
        "API-KEY": "elsewhere",
      });
      const versioned = await client().get("ssm", "api-key", { version_id: "1" });
      assert.ok(!versioned.ok && !JSON.stringify(versioned).includes(VALUE));
    });

    void it("allow-lists are folded the same way: any case in Key Vault, resource names as IDs in Secret Manager", async () => {
      for (const store of ["kv-allow", "gcp-allow"]) {
        await readsPublic(store);
        await assertSpellings(client(), store, VALUE, { "db-password": "denied", "DB-PASSWORD": "denied" });
        const bulk = await client().bulk(store);
        assert.deepEqual(bulk.ok && Object.keys(bulk.data ?? {}).map((n) => n.slice(n.lastIndexOf("/") + 1)), [
          "public",
        ]);
      }
    });

    void it("bulk leaves the denied secrets out, whatever form the store lists names in", async () => {
      const isDb = (n: string) => n.toLowerCase() === "db-password" || n.endsWith("/db-password");
      for (const store of ["kv", "kv-upper", "gcp", "gcp-short", "sm"])
        await assertBulkWithout(client(), store, VALUE, isDb);
      await assertBulkWithout(client(), "ssm", VALUE, (n) => n === "api-key");
    });
  },
);
