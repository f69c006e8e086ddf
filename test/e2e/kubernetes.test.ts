/**
 * End to end: `bin/keyward serve` with `secretstores.kubernetes` components pointed at the Kubernetes API
 * test server through `kubeconfigPath`, read with the official Dapr SDK over HTTP and gRPC (and the raw
 * gRPC API for per-request metadata). One component reads through to the API server as daprd does, one
 * uses the watch-backed cache. Then Kubernetes mode as in a pod: the built-in `kubernetes` store created with
 * no metadata, on the service account's token and CA and KUBERNETES_SERVICE_HOST/PORT.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { DaprClient } from "@dapr/dapr";
import { sdkClient } from "../helpers/sdk.js";
import { daprGrpcClient, unary, type DaprGrpcClient } from "../helpers/clients.js";
import { componentYaml, startSidecar, type Sidecar } from "../helpers/sidecar.js";
import { KubeApiTestServer } from "../servers/kubernetes/server.js";

const CANARY = `k8s-e2e-${process.pid}-${Date.now()}`;
let api: KubeApiTestServer;
let sidecar: Sidecar;
let http: DaprClient;
let grpc: DaprClient;
let raw: DaprGrpcClient;

before(async () => {
  api = await KubeApiTestServer.start();
  api.putSecret("apps", "mysecret", { username: "admin", password: `pw-${CANARY}` });
  api.putSecret("apps", "rotating", { v: "one" });
  api.putSecret("team-b", "mysecret", { username: "team-b" });
  api.putSecret("locked", "guarded", { k: `locked-${CANARY}` });
  api.forbid("get", "locked");
  const kubeconfigPath = api.writeKubeconfig();
  sidecar = await startSidecar({
    components: {
      "k8s.yaml": componentYaml("k8s", "secretstores.kubernetes", { kubeconfigPath, defaultNamespace: "apps" }),
      "k8s-watch.yaml": componentYaml("k8s-watch", "secretstores.kubernetes", {
        kubeconfigPath,
        defaultNamespace: "apps",
        watch: "true",
      }),
    },
  });
  http = sdkClient(sidecar, "HTTP");
  grpc = sdkClient(sidecar, "GRPC");
  raw = daprGrpcClient(sidecar.grpcAddress);
});

after(async () => {
  raw?.close();
  await http?.stop();
  await grpc?.stop();
  if (sidecar) assert.equal(await sidecar.stop(), 0, sidecar.output());
  await api?.close();
});

void describe("Kubernetes secret store end to end through bin/keyward", () => {
  void it("a multi-key Secret over HTTP with the Dapr SDK and over gRPC", async () => {
    const want = { username: "admin", password: `pw-${CANARY}` };
    assert.deepEqual(await http.secret.get("k8s", "mysecret"), want);
    assert.deepEqual(await http.secret.get("k8s-watch", "mysecret"), want);
    // The SDK's gRPC get keeps only the first key of the answer, so multi-key answers are checked raw.
    for (const store of ["k8s", "k8s-watch"]) {
      const r = await unary(raw, "GetSecret", { store_name: store, key: "mysecret" });
      assert.equal(r.err, undefined, r.err?.message);
      assert.deepEqual(r.res?.data, want);
    }
    assert.deepEqual(await grpc.secret.get("k8s", "rotating"), { v: "one" });
    assert.deepEqual(await grpc.secret.get("k8s-watch", "rotating"), { v: "one" });
    assert.equal(
      api.count({ verb: "get", namespace: "apps", name: "mysecret" }),
      2,
      "only the plain component reads through",
    );
  });

  void it("bulk lists the namespace over both transports", async () => {
    const want = { mysecret: { username: "admin", password: `pw-${CANARY}` }, rotating: { v: "one" } };
    assert.deepEqual(await http.secret.getBulk("k8s"), want);
    assert.deepEqual(await grpc.secret.getBulk("k8s"), want);
    assert.deepEqual(await http.secret.getBulk("k8s-watch"), want);
  });

  void it("the namespace comes from request metadata over HTTP and gRPC", async () => {
    assert.deepEqual(await http.secret.get("k8s", "mysecret", "metadata.namespace=team-b"), { username: "team-b" });
    const r = await unary(raw, "GetSecret", {
      store_name: "k8s-watch",
      key: "mysecret",
      metadata: { namespace: "team-b" },
    });
    assert.equal(r.err, undefined, r.err?.message);
    assert.deepEqual(r.res?.data, { username: "team-b" });
  });

  void it("the watch-backed component sees an update without asking the API server per read", async () => {
    const gets = api.count({ verb: "get", namespace: "apps", name: "rotating" });
    api.putSecret("apps", "rotating", { v: "two" });
    let last: unknown;
    for (let i = 0; i < 100; i++) {
      last = await http.secret.get("k8s-watch", "rotating");
      if (JSON.stringify(last) === JSON.stringify({ v: "two" })) break;
      await sleep(50);
    }
    assert.deepEqual(last, { v: "two" });
    assert.equal(api.count({ verb: "get", namespace: "apps", name: "rotating" }), gets);
  });

  void it("missing and forbidden secrets are ERR_SECRET_GET with the API server's reason", async () => {
    const message = async (path: string): Promise<string> => {
      const res = await fetch(`${sidecar.httpUrl}/v1.0/secrets/${path}`);
      assert.equal(res.status, 500);
      const body = (await res.json()) as { errorCode: string; message: string };
      assert.equal(body.errorCode, "ERR_SECRET_GET");
      return body.message;
    };
    assert.match(
      await message("k8s/nope"),
      /failed getting secret with key nope from secret store k8s: .*secret "nope" not found in namespace "apps".*secrets "nope" not found/,
    );
    assert.match(await message("k8s-watch/nope"), /secrets "nope" not found/);
    const denied = await message("k8s/guarded?metadata.namespace=locked");
    assert.match(denied, /permission denied: .*verb "get" on secrets in namespace "locked"/);
    assert.match(denied, /cannot get resource "secrets" in API group "" in the namespace "locked"/);
    const r = await unary(raw, "GetSecret", { store_name: "k8s", key: "nope" });
    assert.equal(r.err?.code, 13);
    assert.match(r.err?.details ?? "", /secrets "nope" not found/);
  });

  void it("no capability is advertised, as daprd", async () => {
    const md = (await (await fetch(`${sidecar.httpUrl}/v1.0/metadata`)).json()) as {
      components?: { name: string; type: string; capabilities?: string[] }[];
    };
    const k8s = md.components?.find((c) => c.name === "k8s");
    assert.equal(k8s?.type, "secretstores.kubernetes");
    assert.deepEqual(k8s?.capabilities ?? [], []);
  });

  void it("the sidecar's output holds no secret value or token", () => {
    const out = sidecar.output();
    assert.ok(!out.includes(CANARY), out);
    assert.ok(!out.includes(api.token), out);
  });
});

void describe("Kubernetes mode: the built-in kubernetes store on the pod's service account", () => {
  let pod: Sidecar;
  let client: DaprClient;

  before(async () => {
    // What a pod has: the service-account folder, the API server's address in the environment, NAMESPACE.
    const sa = mkdtempSync(join(tmpdir(), "keyward-sa-"));
    writeFileSync(join(sa, "token"), api.token);
    writeFileSync(join(sa, "ca.crt"), api.tls.ca);
    writeFileSync(join(sa, "namespace"), "apps");
    const secretsFile = join(sa, "local.json");
    writeFileSync(secretsFile, JSON.stringify({ greeting: "hello" }));
    api.putSecret("apps", "local-file-path", { path: secretsFile });
    pod = await startSidecar({
      args: ["--mode", "kubernetes"],
      env: {
        KUBERNETES_SERVICE_HOST: "127.0.0.1",
        KUBERNETES_SERVICE_PORT: String(api.port),
        KEYWARD_SERVICE_ACCOUNT_DIR: sa,
        NAMESPACE: "apps",
      },
      // secretKeyRef without auth.secretStore resolves against the built-in kubernetes store.
      components: {
        "file.yaml": `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: from-ref
spec:
  type: secretstores.local.file
  version: v1
  metadata:
  - name: secretsFile
    secretKeyRef:
      name: local-file-path
      key: path
`,
      },
    });
    client = sdkClient(pod, "HTTP");
  });

  after(async () => {
    await client?.stop();
    if (pod) assert.equal(await pod.stop(), 0, pod.output());
  });

  void it("reads with in-cluster credentials and the NAMESPACE of the pod", async () => {
    assert.deepEqual(await client.secret.get("kubernetes", "mysecret"), {
      username: "admin",
      password: `pw-${CANARY}`,
    });
    assert.deepEqual(await client.secret.get("kubernetes", "mysecret", "metadata.namespace=team-b"), {
      username: "team-b",
    });
    assert.match(pod.output(), /in-cluster service account/);
  });

  void it("resolves secretKeyRef through it", async () => {
    assert.deepEqual(await client.secret.get("from-ref", "greeting"), { greeting: "hello" });
  });

  void it("the output holds no secret value or token", () => {
    assert.ok(!pod.output().includes(CANARY));
    assert.ok(!pod.output().includes(api.token));
  });
});

void describe("daprd's --kubeconfig flag", () => {
  void it("points a component without kubeconfigPath at the cluster", async () => {
    const s = await startSidecar({
      components: { "k.yaml": componentYaml("k", "secretstores.kubernetes", { defaultNamespace: "apps" }) },
      args: ["--kubeconfig", api.writeKubeconfig()],
      env: { KUBECONFIG: "/nonexistent/kubeconfig", KUBERNETES_SERVICE_HOST: undefined },
    });
    try {
      const res = await fetch(`${s.httpUrl}/v1.0/secrets/k/mysecret?metadata.namespace=team-b`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { username: "team-b" });
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });
});
