/**
 * deploy/injector, deploy/injector-cert-manager and deploy/app-namespace rendered with `kubectl kustomize`:
 * the webhook's wiring (service, path, port, CA injection, failure policy, selectors), least-privilege RBAC
 * (no Secret access for the injector, nothing cluster-wide for sidecars), the injector Deployment's
 * container run as `bin/keyward injector` and probed over HTTPS, and the app-namespace Role enforced by the
 * Kubernetes API test server while a sidecar loads its Components and reads a Secret under it.
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { KEYWARD_BIN, REPO_ROOT } from "../helpers/paths.js";
import { runKeyward, startSidecar } from "../helpers/sidecar.js";
import { makeTestTls } from "../helpers/tls.js";
import { KubeApiTestServer, type PolicyRule } from "../servers/kubernetes/server.js";

const pexec = promisify(execFile);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rendered manifests are walked by known paths
type Obj = any;

async function render(dir: string): Promise<Obj[]> {
  const r = await pexec("kubectl", ["kustomize", dir], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp" },
  });
  return parseAllDocuments(r.stdout).map((d) => d.toJSON() as Obj);
}

const find = (objs: Obj[], kind: string): Obj[] => objs.filter((o) => o.kind === kind);

void describe("deploy/injector", () => {
  void it("wires the webhook to the Service and the injector's port, and documents its choices", async () => {
    const objs = await render(join(REPO_ROOT, "deploy", "injector"));
    const [hook] = find(objs, "MutatingWebhookConfiguration");
    const w = hook.webhooks[0];
    assert.deepEqual(w.admissionReviewVersions, ["v1"]);
    assert.equal(w.sideEffects, "None");
    assert.ok(["Ignore", "Fail"].includes(w.failurePolicy));
    assert.deepEqual(w.rules[0].resources, ["pods"]);
    assert.deepEqual(w.rules[0].operations, ["CREATE"]);
    assert.equal(w.clientConfig.service.path, "/mutate");
    const excluded = w.namespaceSelector.matchExpressions[0].values as string[];
    assert.ok(excluded.includes("keyward-system") && excluded.includes("kube-system"), "never its own namespace");
    const [svc] = find(objs, "Service");
    assert.equal(svc.metadata.name, w.clientConfig.service.name);
    assert.equal(svc.metadata.namespace, w.clientConfig.service.namespace);
    assert.equal(svc.spec.ports[0].port, w.clientConfig.service.port);
    const [dep] = find(objs, "Deployment");
    const c = dep.spec.template.spec.containers[0];
    const port = c.ports.find((p: Obj) => p.name === svc.spec.ports[0].targetPort);
    assert.ok(c.args.includes(`--port=${port.containerPort}`));
    assert.deepEqual(c.securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    assert.equal(dep.spec.template.spec.securityContext.runAsNonRoot, true);
    assert.equal(c.readinessProbe.httpGet.scheme, "HTTPS");
    const secret = dep.spec.template.spec.volumes[0].secret.secretName;
    assert.equal(secret, "keyward-injector-tls");
    assert.match(readFileSync(join(REPO_ROOT, "deploy", "injector", "self-signed-cert.sh"), "utf8"), /keyward-injector-tls/);
    assert.ok(readFileSync(join(REPO_ROOT, "deploy", "injector", "mutatingwebhook.yaml"), "utf8").includes("failurePolicy"));
  });

  void it("grants the injector nothing but GET /version: no Secrets, no resources", async () => {
    const objs = await render(join(REPO_ROOT, "deploy", "injector"));
    const roles = [...find(objs, "ClusterRole"), ...find(objs, "Role")];
    assert.equal(roles.length, 1);
    assert.deepEqual(roles[0].rules, [{ nonResourceURLs: ["/version"], verbs: ["get"] }]);
  });

  void it("the cert-manager overlay issues the Service's certificate and injects its CA", async () => {
    const objs = await render(join(REPO_ROOT, "deploy", "injector-cert-manager"));
    const [hook] = find(objs, "MutatingWebhookConfiguration");
    const [cert] = find(objs, "Certificate");
    assert.equal(hook.metadata.annotations["cert-manager.io/inject-ca-from"], `${cert.metadata.namespace}/${cert.metadata.name}`);
    assert.equal(cert.spec.secretName, "keyward-injector-tls");
    const svc = hook.webhooks[0].clientConfig.service;
    assert.ok(cert.spec.dnsNames.includes(`${svc.name}.${svc.namespace}.svc`));
    assert.equal(find(objs, "Issuer").length, 1);
  });

  void it("the Deployment's container starts as bin/keyward injector and answers its probe", async () => {
    const objs = await render(join(REPO_ROOT, "deploy", "injector"));
    const c = find(objs, "Deployment")[0].spec.template.spec.containers[0];
    assert.deepEqual(c.command.slice(-2), ["/app/bin/keyward", "injector"]);
    const tls = makeTestTls(["127.0.0.1"]);
    const mount = c.volumeMounts[0].mountPath as string;
    const args = (c.args as string[]).map((a) =>
      a.replace(`${mount}/tls.crt`, tls.certPath).replace(`${mount}/tls.key`, tls.keyPath).replace(/^--port=\d+$/, "--port=0"),
    );
    const child = spawn(process.execPath, [KEYWARD_BIN, "injector", ...args, "--listen-address=127.0.0.1"], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, KUBERNETES_SERVICE_HOST: undefined, KUBECONFIG: "/nonexistent" },
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    try {
      for (let i = 0; i < 300 && !/"port":(\d+)/.test(out); i++) await new Promise((r) => setTimeout(r, 50));
      const port = Number(/"port":(\d+)/.exec(out)?.[1]);
      assert.ok(port > 0, out);
      const status = await new Promise<number>((resolve, reject) =>
        request({ host: "127.0.0.1", port, path: c.readinessProbe.httpGet.path, ca: tls.ca }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
          .on("error", reject)
          .end(),
      );
      assert.equal(status, 200);
      assert.match(out, /native_sidecars/, "without an API server it falls back to regular containers");
    } finally {
      child.kill("SIGTERM");
    }
  });
});

void describe("deploy/app-namespace", () => {
  void it("its Role, enforced by the API test server, is enough for a sidecar; without it start-up names what is missing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "keyward-appns-"));
    cpSync(join(REPO_ROOT, "deploy", "app-namespace"), dir, { recursive: true });
    const kz = join(dir, "kustomization.yaml");
    writeFileSync(kz, readFileSync(kz, "utf8").replace(/^namespace: .*$/m, "namespace: shop"));
    const objs = await render(dir);
    const [role] = find(objs, "Role");
    const [binding] = find(objs, "RoleBinding");
    assert.equal(binding.subjects[0].namespace, "shop");
    assert.equal(find(objs, "ClusterRole").length + find(objs, "ClusterRoleBinding").length, 0);
    const secretRule = (role.rules as PolicyRule[]).find((r) => r.resources.includes("secrets"));
    assert.deepEqual(secretRule?.verbs, ["get"], "no list or watch of Secrets");

    const api = await KubeApiTestServer.start();
    try {
      api.setRole("shop", role.rules as PolicyRule[]);
      api.putSecret("shop", "db", { password: "pw-appns" });
      api.putDapr("components", "shop", { metadata: { name: "kv" }, spec: { type: "secretstores.kubernetes", version: "v1", metadata: [] } });
      const sa = mkdtempSync(join(tmpdir(), "keyward-sa-"));
      writeFileSync(join(sa, "token"), api.token);
      writeFileSync(join(sa, "ca.crt"), api.tls.ca);
      const env = { KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: String(api.port), KEYWARD_SERVICE_ACCOUNT_DIR: sa };
      const s = await startSidecar({ resourcesArgs: [], args: ["--mode", "kubernetes"], env: { ...env, NAMESPACE: "shop" } });
      try {
        const res = await fetch(`${s.httpUrl}/v1.0/secrets/kv/db`);
        assert.deepEqual(await res.json(), { password: "pw-appns" });
      } finally {
        assert.equal(await s.stop(), 0);
      }
      const refused = await runKeyward({ resourcesArgs: [], args: ["--mode", "kubernetes"], env: { ...env, NAMESPACE: "other" } });
      assert.equal(refused.code, 1);
      assert.match(refused.output, /cannot list components\.dapr\.io in namespace other: forbidden/);
    } finally {
      await api.close();
    }
  });
});
