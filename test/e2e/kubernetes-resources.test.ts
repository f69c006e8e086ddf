/**
 * Kubernetes mode without --resources-path: `bin/keyward serve` as in a pod (service account token and CA,
 * KUBERNETES_SERVICE_HOST/PORT, NAMESPACE) lists and watches the dapr.io Components, Resiliencies and the
 * Configuration named by --config on the Kubernetes API test server; loads and scopes them, reloads on
 * every watch event (a broken change leaves the old instance serving), survives dropped watches and 410
 * Expired, and stops with a clear error when RBAC refuses the list.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { runKeyward, startSidecar, type Sidecar } from "../helpers/sidecar.js";
import { KubeApiTestServer } from "../servers/kubernetes/server.js";

const CANARY = `k8s-res-${process.pid}-${Date.now()}`;
const NS = "apps";
let api: KubeApiTestServer;
let dir: string;
let sidecar: Sidecar;

/** A `secretstores.local.file` Component reading `file`, as `kubectl apply` sends it. */
function fileComponent(name: string, file: string | undefined, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: "dapr.io/v1alpha1",
    kind: "Component",
    metadata: { name, namespace: NS },
    spec: {
      type: "secretstores.local.file",
      version: "v1",
      metadata: file === undefined ? [] : [{ name: "secretsFile", value: file }],
    },
    ...extra,
  };
}

function secretsFile(name: string, values: Record<string, string>): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(values));
  return path;
}

function podEnv(): Record<string, string> {
  const sa = mkdtempSync(join(tmpdir(), "keyward-sa-"));
  writeFileSync(join(sa, "token"), api.token);
  writeFileSync(join(sa, "ca.crt"), api.tls.ca);
  return {
    KUBERNETES_SERVICE_HOST: "127.0.0.1",
    KUBERNETES_SERVICE_PORT: String(api.port),
    KEYWARD_SERVICE_ACCOUNT_DIR: sa,
    NAMESPACE: NS,
  };
}

async function read(store: string, key: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${sidecar.httpUrl}/v1.0/secrets/${store}/${key}`);
  return { status: res.status, body: await res.json().catch(() => undefined) };
}

/** Polls until `check` passes (reloads are asynchronous); returns the milliseconds it took. */
async function eventually(check: () => Promise<boolean>, what: string, ms = 10_000): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (await check()) return Date.now() - start;
    await sleep(25);
  }
  assert.fail(`${what} did not happen in ${ms} ms:\n${sidecar.output()}`);
}

const served = (store: string, key: string, value: string) => async () => {
  const r = await read(store, key);
  return r.status === 200 && JSON.stringify(r.body) === JSON.stringify({ [key]: value });
};

before(async () => {
  api = await KubeApiTestServer.start();
  dir = mkdtempSync(join(tmpdir(), "keyward-k8s-res-"));
  api.putDapr("components", NS, fileComponent("vault-a", secretsFile("a", { token: `a-${CANARY}` })));
  api.putDapr("components", NS, {
    ...fileComponent("other-app-only", secretsFile("o", { token: "o" })),
    scopes: ["someone-else"],
  });
  api.putDapr("components", "elsewhere", fileComponent("foreign", secretsFile("f", { token: "f" })));
  api.putDapr("configurations", NS, {
    apiVersion: "dapr.io/v1alpha1",
    kind: "Configuration",
    metadata: { name: "kw-config" },
    spec: { secrets: { scopes: [{ storeName: "vault-a", defaultAccess: "deny", allowedSecrets: ["token"] }] } },
  });
  api.putDapr("resiliencies", NS, {
    apiVersion: "dapr.io/v1alpha1",
    kind: "Resiliency",
    metadata: { name: "res" },
    spec: {
      policies: { timeouts: { short: "5s" } },
      targets: { components: { "vault-a": { outbound: { timeout: "short" } } } },
    },
  });
  sidecar = await startSidecar({
    resourcesArgs: [],
    args: ["--mode", "kubernetes", "--config", "kw-config"],
    env: podEnv(),
  });
});

after(async () => {
  if (sidecar) assert.equal(await sidecar.stop(), 0, sidecar.output());
  await api?.close();
});

void describe("Kubernetes mode: resources from the API server", () => {
  void it("loads the namespace's Components, applies their scopes and the named Configuration", async () => {
    assert.deepEqual(await read("vault-a", "token"), { status: 200, body: { token: `a-${CANARY}` } });
    // The Configuration's secret scope denies every other key of vault-a.
    assert.equal((await read("vault-a", "other")).status, 403);
    assert.notEqual((await read("other-app-only", "token")).status, 200, "scoped to another app");
    assert.notEqual((await read("foreign", "token")).status, 200, "another namespace");
    assert.match(sidecar.output(), /loading resources from the Kubernetes API server/);
    assert.ok(api.count({ verb: "list", resource: "components", namespace: NS }) >= 1);
    assert.ok(api.count({ verb: "watch", resource: "components", namespace: NS }) >= 1);
  });

  void it("adds, modifies and deletes components on watch events; a broken change keeps the old one", async (t) => {
    const created = Date.now();
    api.putDapr("components", NS, fileComponent("vault-b", secretsFile("b1", { k: "one" })));
    await eventually(served("vault-b", "k", "one"), "vault-b added");
    t.diagnostic(`new Component served after ${Date.now() - created} ms`);
    api.putDapr("components", NS, fileComponent("vault-b", secretsFile("b2", { k: "two" })));
    await eventually(served("vault-b", "k", "two"), "vault-b modified");
    // No secretsFile: init fails, so the previous instance keeps serving.
    api.putDapr("components", NS, fileComponent("vault-b", undefined));
    await eventually(async () => /initialization error occurred for vault-b/.test(sidecar.output()), "broken reload");
    assert.ok(await served("vault-b", "k", "two")());
    api.deleteDapr("components", NS, "vault-b");
    await eventually(async () => (await read("vault-b", "k")).status !== 200, "vault-b removed");
  });

  void it("follows the Configuration: a changed scope applies without a restart", async () => {
    api.putDapr("configurations", NS, {
      metadata: { name: "kw-config" },
      spec: { secrets: { scopes: [{ storeName: "vault-a", defaultAccess: "deny", allowedSecrets: [] }] } },
    });
    await eventually(async () => (await read("vault-a", "token")).status === 403, "scope tightened");
  });

  void it("survives dropped watches and relists after 410 Expired", async () => {
    api.dropWatches();
    api.putDapr("components", NS, fileComponent("after-drop", secretsFile("d", { k: "d" })));
    await eventually(served("after-drop", "k", "d"), "component added after a dropped watch");
    // Created while no watch is open, then the history is compacted: only a relist can find it.
    api.dropWatches();
    api.putDapr("components", NS, fileComponent("after-410", secretsFile("e", { k: "e" })));
    api.compact();
    await eventually(served("after-410", "k", "e"), "component added after 410");
    assert.match(sidecar.output(), /relisting components\.dapr\.io/);
  });

  void it("a watch refused at run time is logged with verb, resource and namespace; loaded components keep serving", async () => {
    api.forbid("watch", NS, "components");
    try {
      api.dropWatches();
      await eventually(
        async () => /cannot watch components\.dapr\.io in namespace apps: forbidden/.test(sidecar.output()),
        "the refusal logged",
      );
      assert.ok(await served("after-drop", "k", "d")());
    } finally {
      api.allow("watch", NS, "components");
    }
  });

  void it("the output holds no secret value or token", () => {
    assert.ok(!sidecar.output().includes(CANARY));
    assert.ok(!sidecar.output().includes(api.token));
  });
});

void describe("Kubernetes mode: refusals and scale", () => {
  void it("RBAC refusing the list stops start-up with the verb, resource and namespace", async () => {
    api.forbid("list", NS, "components");
    try {
      const r = await runKeyward({ resourcesArgs: [], args: ["--mode", "kubernetes"], env: podEnv() });
      assert.equal(r.code, 1, r.output);
      assert.match(r.output, /cannot list components\.dapr\.io in namespace apps: forbidden/);
    } finally {
      api.allow("list", NS, "components");
    }
  });

  void it("out of the cluster, --kubeconfig points at the API server", async () => {
    const s = await startSidecar({
      resourcesArgs: [],
      args: ["--mode", "kubernetes", "--kubeconfig", api.writeKubeconfig()],
      env: { NAMESPACE: NS, KUBERNETES_SERVICE_HOST: undefined, KUBECONFIG: "/nonexistent" },
    });
    try {
      const res = await fetch(`${s.httpUrl}/v1.0/secrets/vault-a/token`);
      assert.deepEqual(await res.json(), { token: `a-${CANARY}` });
      assert.match(s.output(), /--kubeconfig/);
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });

  void it("a missing Configuration stops start-up", async () => {
    const r = await runKeyward({
      resourcesArgs: [],
      args: ["--mode", "kubernetes", "--config", "nope"],
      env: podEnv(),
    });
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /Configuration \\?"nope\\?" \(--config\) not found in namespace apps/);
  });

  void it("starts with 50 Components", async (t) => {
    for (let i = 0; i < 50; i++)
      api.putDapr("components", "many", {
        ...fileComponent(`c${i}`, secretsFile(`m${i}`, { k: String(i) })),
        metadata: { name: `c${i}` },
      });
    const start = Date.now();
    const s = await startSidecar({
      resourcesArgs: [],
      args: ["--mode", "kubernetes"],
      env: { ...podEnv(), NAMESPACE: "many" },
    });
    try {
      t.diagnostic(`ready with 50 Components in ${Date.now() - start} ms (process start included)`);
      const res = await fetch(`${s.httpUrl}/v1.0/secrets/c49/k`);
      assert.deepEqual(await res.json(), { k: "49" });
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });
});
