/** Vault store metadata: every field's default (daprd's where daprd has the field), aliases, and refusals. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseVaultConfig } from "../../src/stores/hashicorp/config.js";

void describe("hashicorp.vault metadata", () => {
  void it("defaults", () => {
    const c = parseVaultConfig({ vaultToken: "t" });
    assert.equal(c.address, "https://127.0.0.1:8200");
    assert.equal(c.enginePath, "secret");
    assert.equal(c.prefix, "dapr");
    assert.equal(c.valueType, "map");
    assert.equal(c.kvVersion, "auto");
    assert.equal(c.namespace, undefined);
    assert.equal(c.authNamespace, undefined);
    assert.deepEqual(c.tls, {
      skipVerify: false,
      caPem: undefined,
      caPath: undefined,
      caCert: undefined,
      serverName: undefined,
    });
    assert.deepEqual(c.auth, { method: "token", token: "t" });
    assert.equal(c.requestTimeoutMs, 30_000);
    assert.equal(c.tokenFileCheckMs, 1_000);
  });

  void it("daprd's prefix rules: empty prefix means dapr, vaultKVUsePrefix=false forces none; slashes are trimmed", () => {
    assert.equal(parseVaultConfig({ vaultToken: "t", vaultKVPrefix: "" }).prefix, "dapr");
    assert.equal(parseVaultConfig({ vaultToken: "t", vaultKVPrefix: "/team/app/" }).prefix, "team/app");
    assert.equal(parseVaultConfig({ vaultToken: "t", vaultKVUsePrefix: "false", vaultKVPrefix: "x" }).prefix, "");
    assert.equal(parseVaultConfig({ vaultToken: "t", vaultKVUsePrefix: "true" }).prefix, "dapr");
    assert.throws(
      () => parseVaultConfig({ vaultToken: "t", vaultKVUsePrefix: "maybe" }),
      /vaultKVUsePrefix: "maybe" is not a boolean/,
    );
    assert.equal(parseVaultConfig({ vaultToken: "t", enginePath: "/kv/team/" }).enginePath, "kv/team");
    assert.equal(parseVaultConfig({ vaultToken: "t", vaultAddr: "http://vault:8200/" }).address, "http://vault:8200");
  });

  void it("skipVerify is on only for the string true; TLS fields pass through", () => {
    for (const [v, on] of [
      ["true", true],
      ["TRUE", true],
      ["1", false],
      ["yes", false],
      ["false", false],
    ] as const) {
      assert.equal(parseVaultConfig({ vaultToken: "t", skipVerify: v }).tls.skipVerify, on, v);
    }
    const c = parseVaultConfig({
      vaultToken: "t",
      caPem: "PEM",
      caPath: "/d",
      caCert: "/f",
      tlsServerName: "vault.internal",
    });
    assert.deepEqual(c.tls, {
      skipVerify: false,
      caPem: "PEM",
      caPath: "/d",
      caCert: "/f",
      serverName: "vault.internal",
    });
  });

  void it("auth methods, their defaults and aliases", () => {
    assert.deepEqual(parseVaultConfig({ vaultTokenMountPath: "/run/token" }).auth, {
      method: "token",
      tokenFile: "/run/token",
    });
    assert.deepEqual(parseVaultConfig({ roleId: "r", secretId: "s" }).auth, {
      method: "approle",
      mountPath: "approle",
      roleId: "r",
      roleIdFile: undefined,
      secretId: "s",
      secretIdFile: undefined,
    });
    assert.deepEqual(
      parseVaultConfig({ appRoleRoleId: "r", secretIdPath: "/s", appRoleMountPath: "/team-approle/" }).auth,
      {
        method: "approle",
        mountPath: "team-approle",
        roleId: "r",
        roleIdFile: undefined,
        secretId: undefined,
        secretIdFile: "/s",
      },
    );
    assert.deepEqual(parseVaultConfig({ kubernetesRole: "web" }).auth, {
      method: "kubernetes",
      mountPath: "kubernetes",
      role: "web",
      jwtFile: "/var/run/secrets/kubernetes.io/serviceaccount/token",
    });
    assert.deepEqual(
      parseVaultConfig({
        authMethod: "Kubernetes",
        vaultKubernetesRole: "web",
        authMountPath: "k8s",
        kubernetesJwtPath: "/jwt",
      }).auth,
      { method: "kubernetes", mountPath: "k8s", role: "web", jwtFile: "/jwt" },
    );
  });

  void it("kvVersion, namespaces and durations", () => {
    assert.equal(parseVaultConfig({ vaultToken: "t", kvVersion: "1" }).kvVersion, 1);
    assert.equal(parseVaultConfig({ vaultToken: "t", vaultKVVersion: "v2" }).kvVersion, 2);
    assert.equal(parseVaultConfig({ vaultToken: "t", namespace: "/admin/team-a/" }).namespace, "admin/team-a");
    assert.equal(
      parseVaultConfig({ vaultToken: "t", namespace: "admin/team-a", authNamespace: "admin" }).authNamespace,
      "admin",
    );
    assert.equal(parseVaultConfig({ vaultToken: "t", namespace: "admin", authNamespace: "root" }).authNamespace, null);
    assert.equal(
      parseVaultConfig({ vaultToken: "t", requestTimeout: "1m30s", tokenFileCheckInterval: "250ms" }).requestTimeoutMs,
      90_000,
    );
    assert.equal(parseVaultConfig({ vaultToken: "t", requestTimeout: "5" }).requestTimeoutMs, 5_000);
    assert.throws(
      () => parseVaultConfig({ vaultToken: "t", requestTimeout: "soon" }),
      /requestTimeout: "soon" is not a positive duration/,
    );
  });

  void it("refusals", () => {
    assert.throws(
      () => parseVaultConfig({ vaultToken: "t", vaultAddr: "vault:8200" }),
      /must start with http:\/\/ or https:\/\//,
    );
    assert.throws(() => parseVaultConfig({ vaultToken: "t", vaultAddr: "::" }), /is not a URL/);
    assert.throws(
      () => parseVaultConfig({ vaultToken: "t", vaultValueType: "json" }),
      /invalid value type json, accepted values are map or text/,
    );
    assert.throws(() => parseVaultConfig({ roleId: "r", roleIdFile: "/r" }), /roleId and roleIdFile both set/);
  });
});
