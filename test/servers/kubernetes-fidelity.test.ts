/**
 * Fidelity of the Kubernetes API test server: the real `kubectl` (1.32) and `@kubernetes/client-node` are
 * pointed at it through a kubeconfig and must see what they see against kube-apiserver.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import type * as K8s from "@kubernetes/client-node";
import { KubeApiTestServer } from "./kubernetes/server.js";

const pexec = promisify(execFile);

let server: KubeApiTestServer;
let home: string;
let kubeconfig: string;

async function kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    // Never execFileSync: the server answers from this same process.
    const r = await pexec("kubectl", ["--request-timeout=15s", ...args], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, KUBECONFIG: kubeconfig },
      timeout: 60_000,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : 1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

before(async () => {
  server = await KubeApiTestServer.start();
  home = mkdtempSync(join(tmpdir(), "kw-kubectl-"));
  kubeconfig = join(home, "config");
  writeFileSync(kubeconfig, server.kubeconfig({ namespace: "default" }), { mode: 0o600 });
  server.putSecret("apps", "mysecret", { username: "admin", password: "s3cret" });
  server.putSecret("apps", "other", { token: "t" }, { labels: { tier: "web" } });
  for (let i = 0; i < 5; i++) server.putSecret("chunks", `c${i}`, { i: String(i) });
});
after(async () => server.close());

describe("kubectl against the test API server", () => {
  it("discovery: version and api-resources", async () => {
    const v = await kubectl("version", "-o", "json");
    assert.equal(v.code, 0, v.stderr);
    assert.equal(
      (JSON.parse(v.stdout) as { serverVersion: { gitVersion: string } }).serverVersion.gitVersion,
      "v1.32.0-keyward-test",
    );
    const r = await kubectl("api-resources", "--api-group=");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^secrets\s+v1\s+true\s+Secret$/m);
    assert.match(r.stdout, /^namespaces\s+ns\s+v1\s+false\s+Namespace$/m);
  });

  it("get secrets -n X -o json decodes to the stored secrets", async () => {
    const r = await kubectl("get", "secrets", "-n", "apps", "-o", "json");
    assert.equal(r.code, 0, r.stderr);
    const list = JSON.parse(r.stdout) as {
      items: {
        kind: string;
        metadata: { name: string; namespace: string; resourceVersion: string };
        data: Record<string, string>;
      }[];
    };
    assert.deepEqual(
      list.items.map((i) => i.metadata.name),
      ["mysecret", "other"],
    );
    const my = list.items[0];
    assert.equal(my?.kind, "Secret");
    assert.equal(my?.metadata.namespace, "apps");
    assert.equal(Buffer.from(my?.data.password ?? "", "base64").toString(), "s3cret");
    const sel = await kubectl("get", "secrets", "-n", "apps", "-l", "tier=web", "-o", "name");
    assert.equal(sel.stdout.trim(), "secret/other");
  });

  it("get secret NAME prints the server-side table", async () => {
    const r = await kubectl("get", "secret", "mysecret", "-n", "apps");
    assert.equal(r.code, 0, r.stderr);
    const [header, row] = r.stdout.trim().split("\n");
    assert.match(header ?? "", /^NAME\s+TYPE\s+DATA\s+AGE$/);
    assert.match(row ?? "", /^mysecret\s+Opaque\s+2\s+\d+s$/);
  });

  it("lists in chunks (limit/continue) and across namespaces", async () => {
    const r = await kubectl("get", "secrets", "-n", "chunks", "--chunk-size=2", "-o", "name");
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split("\n"), ["secret/c0", "secret/c1", "secret/c2", "secret/c3", "secret/c4"]);
    assert.ok(server.requests.filter((q) => q.verb === "list" && q.namespace === "chunks").length >= 3, "three pages");
    const all = await kubectl("get", "secrets", "-A", "-o", "name");
    assert.equal(all.stdout.trim().split("\n").length, 7);
  });

  it("create --validate=false -f file.json creates the secret; stringData becomes data", async () => {
    const file = join(home, "secret.json");
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "from-file", namespace: "apps" },
        stringData: { greeting: "hello" },
      }),
    );
    const r = await kubectl("create", "--validate=false", "-f", file);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), "secret/from-file created");
    const stored = server.state.getSecret("apps", "from-file");
    assert.equal(Buffer.from(stored?.data?.greeting ?? "", "base64").toString(), "hello");
    const again = await kubectl("create", "--validate=false", "-f", file);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /Error from server \(AlreadyExists\).*secrets "from-file" already exists/);
  });

  it("protobuf bodies (create secret generic) are refused with 415", async () => {
    const r = await kubectl("create", "secret", "generic", "proto", "-n", "apps", "--from-literal=a=b");
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /unknown format/);
    assert.equal(server.requests.filter((q) => q.method === "POST" && q.status === 415).length, 1);
  });

  it("not-found and forbidden messages are the API server's", async () => {
    const nf = await kubectl("get", "secret", "nope", "-n", "apps");
    assert.notEqual(nf.code, 0);
    assert.equal(nf.stderr.trim(), 'Error from server (NotFound): secrets "nope" not found');
    server.forbid("get", "apps");
    server.forbid("list", "apps");
    try {
      const fb = await kubectl("get", "secret", "mysecret", "-n", "apps");
      assert.equal(
        fb.stderr.trim(),
        'Error from server (Forbidden): secrets "mysecret" is forbidden: User "system:serviceaccount:default:keyward" cannot get resource "secrets" in API group "" in the namespace "apps"',
      );
      const fl = await kubectl("get", "secrets", "-n", "apps");
      assert.match(
        fl.stderr,
        /Error from server \(Forbidden\): secrets is forbidden: User ".*" cannot list resource "secrets" in API group "" in the namespace "apps"/,
      );
    } finally {
      server.allow("get", "apps");
      server.allow("list", "apps");
    }
  });

  it("a Role with resourceNames allows get of those names only, and no list", async () => {
    server.setRole("apps", [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"], resourceNames: ["mysecret"] }]);
    try {
      assert.equal(
        (await kubectl("get", "secret", "mysecret", "-n", "apps", "-o", "name")).stdout.trim(),
        "secret/mysecret",
      );
      assert.match(
        (await kubectl("get", "secret", "other", "-n", "apps")).stderr,
        /\(Forbidden\): secrets "other" is forbidden: .* cannot get resource "secrets"/,
      );
      assert.match(
        (await kubectl("get", "secrets", "-n", "apps")).stderr,
        /cannot list resource "secrets" in API group "" in the namespace "apps"/,
      );
      assert.match(
        (await kubectl("get", "secret", "c0", "-n", "chunks")).stderr,
        /cannot get resource "secrets" in API group "" in the namespace "chunks"/,
      );
    } finally {
      server.clearRoles();
    }
  });

  it("a wrong token is Unauthorized", async () => {
    const bad = join(home, "bad-config");
    writeFileSync(bad, server.kubeconfig({ token: "not-a-valid-token" }));
    const r = await kubectl("--kubeconfig", bad, "get", "secrets", "-n", "apps");
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /You must be logged in to the server \(Unauthorized\)/);
  });

  it("delete removes the secret", async () => {
    server.putSecret("apps", "doomed", { x: "1" });
    const r = await kubectl("delete", "secret", "doomed", "-n", "apps");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'secret "doomed" deleted');
    assert.equal(server.state.getSecret("apps", "doomed"), undefined);
  });

  it("dapr.io resources: discovery, apply, get, delete and RBAC refusals as for a CRD", async () => {
    const r = await kubectl("api-resources", "--api-group=dapr.io");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^components\s+dapr\.io\/v1alpha1\s+true\s+Component$/m);
    const file = join(home, "component.yaml");
    writeFileSync(
      file,
      "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: vault\nspec:\n  type: secretstores.local.env\n  version: v1\n  metadata: []\n",
    );
    const applied = await kubectl("-n", "apps", "apply", "--validate=false", "-f", file);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /component\.dapr\.io\/vault created/);
    const got = await kubectl("-n", "apps", "get", "components", "-o", "json");
    const items = (
      JSON.parse(got.stdout) as { items: { kind: string; metadata: { name: string }; spec: { type: string } }[] }
    ).items;
    assert.deepEqual(
      items.map((i) => [i.kind, i.metadata.name, i.spec.type]),
      [["Component", "vault", "secretstores.local.env"]],
    );
    server.forbid("list", "apps", "components");
    try {
      const refused = await kubectl("-n", "apps", "get", "components");
      assert.notEqual(refused.code, 0);
      assert.match(
        refused.stderr,
        /Error from server \(Forbidden\): components\.dapr\.io is forbidden: User ".*" cannot list resource "components" in API group "dapr\.io" in the namespace "apps"/,
      );
    } finally {
      server.allow("list", "apps", "components");
    }
    const deleted = await kubectl("-n", "apps", "delete", "component", "vault");
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(server.dapr.list("components", "apps").length, 0);
  });
});

describe("@kubernetes/client-node against the test API server", () => {
  let k8s: typeof K8s;
  let kc: K8s.KubeConfig;
  let core: K8s.CoreV1Api;

  before(async () => {
    k8s = await import("@kubernetes/client-node");
    kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfig);
    core = kc.makeApiClient(k8s.CoreV1Api);
  });

  it("discovery and version", async () => {
    const versions = await kc.makeApiClient(k8s.CoreApi).getAPIVersions();
    assert.deepEqual(versions.versions, ["v1"]);
    const resources = await core.getAPIResources();
    assert.ok(resources.resources.some((r) => r.name === "secrets" && r.namespaced && r.verbs.includes("watch")));
    const version = await kc.makeApiClient(k8s.VersionApi).getCode();
    assert.equal(version.minor, "32");
  });

  it("read, list and create Secrets", async () => {
    const s = await core.readNamespacedSecret({ name: "mysecret", namespace: "apps" });
    assert.equal(Buffer.from(s.data?.username ?? "", "base64").toString(), "admin");
    assert.ok(Number(s.metadata?.resourceVersion) > 0);
    const list = await core.listNamespacedSecret({ namespace: "chunks", limit: 3 });
    assert.equal(list.items.length, 3);
    assert.ok(list.metadata?._continue);
    assert.equal(list.metadata?.remainingItemCount, 2);
    const rest = await core.listNamespacedSecret({
      namespace: "chunks",
      limit: 3,
      _continue: list.metadata?._continue,
    });
    assert.deepEqual(
      rest.items.map((i) => i.metadata?.name),
      ["c3", "c4"],
    );
    assert.equal(
      rest.metadata?.resourceVersion,
      list.metadata?.resourceVersion,
      "a chunked list is one resourceVersion",
    );
    const created = await core.createNamespacedSecret({
      namespace: "apps",
      body: { metadata: { name: "made-by-client" }, stringData: { k: "v" } },
    });
    assert.equal(created.metadata?.namespace, "apps");
    assert.equal(Buffer.from(created.data?.k ?? "", "base64").toString(), "v");
  });

  it("errors are ApiExceptions with the Status body", async () => {
    const status = (err: unknown): { code: number; reason?: string; message?: string } => {
      const e = err as { code: number; body: string };
      return { code: e.code, ...(JSON.parse(e.body) as { reason?: string; message?: string }) };
    };
    await assert.rejects(core.readNamespacedSecret({ name: "nope", namespace: "apps" }), (err: unknown) => {
      assert.ok(err instanceof k8s.ApiException);
      assert.deepEqual(status(err), {
        code: 404,
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: 'secrets "nope" not found',
        reason: "NotFound",
        details: { name: "nope", kind: "secrets" },
      });
      return true;
    });
    server.forbid("list", "apps");
    try {
      await assert.rejects(core.listNamespacedSecret({ namespace: "apps" }), (err: unknown) => {
        const st = status(err);
        assert.equal(st.code, 403);
        assert.equal(st.reason, "Forbidden");
        assert.match(st.message ?? "", /cannot list resource "secrets" in API group "" in the namespace "apps"/);
        return true;
      });
    } finally {
      server.allow("list", "apps");
    }
    await assert.rejects(
      core.createNamespacedSecret({ namespace: "apps", body: { metadata: { name: "Bad_Name" } } }),
      (err: unknown) => status(err).code === 422 && status(err).reason === "Invalid",
    );
    const badKc = new k8s.KubeConfig();
    badKc.loadFromString(server.kubeconfig({ token: "wrong" }));
    await assert.rejects(
      badKc.makeApiClient(k8s.CoreV1Api).readNamespacedSecret({ name: "mysecret", namespace: "apps" }),
      (err: unknown) => (err as { code: number }).code === 401,
    );
  });

  it("watch streams events, and an expired resourceVersion gets an ERROR 410 event", async () => {
    const watch = new k8s.Watch(kc);
    const seen: string[] = [];
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const list = await core.listNamespacedSecret({ namespace: "apps" });
    const controller = await watch.watch(
      "/api/v1/namespaces/apps/secrets",
      { resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: true },
      (phase: string, obj: { metadata?: { name?: string } }) => {
        seen.push(`${phase} ${obj.metadata?.name ?? ""}`);
        if (phase === "DELETED") done();
      },
      () => done(),
    );
    server.putSecret("apps", "watched", { a: "1" });
    server.putSecret("apps", "watched", { a: "2" });
    server.bookmark();
    server.deleteSecret("apps", "watched");
    await finished;
    controller.abort();
    assert.deepEqual(seen, ["ADDED watched", "MODIFIED watched", "BOOKMARK ", "DELETED watched"]);

    const old = list.metadata?.resourceVersion ?? "1";
    server.compact();
    const errors: { code?: number; reason?: string }[] = [];
    await new Promise<void>((resolve, reject) => {
      void watch.watch(
        "/api/v1/namespaces/apps/secrets",
        { resourceVersion: old },
        (phase: string, obj: { code?: number; reason?: string }) => {
          if (phase === "ERROR") errors.push(obj);
        },
        (err: unknown) => (err ? reject(err as Error) : resolve()),
      );
    });
    assert.deepEqual(
      errors.map((e) => [e.code, e.reason]),
      [[410, "Expired"]],
    );
  });

  it("answers 415 to protobuf and serves again after a restart on the same port", async () => {
    const code = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${server.url}/api/v1/namespaces/apps/secrets`,
        {
          method: "POST",
          ca: server.tls.ca,
          headers: { Authorization: `Bearer ${server.token}`, "Content-Type": "application/vnd.kubernetes.protobuf" },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end(Buffer.from([0x6b, 0x38, 0x73, 0x00]));
    });
    assert.equal(code, 415);
    const port = server.port;
    await server.stop();
    await assert.rejects(
      core.readNamespacedSecret({ name: "mysecret", namespace: "apps" }),
      (err: unknown) => (err as { code?: string }).code === "ECONNREFUSED",
    );
    await server.restart();
    assert.equal(server.port, port);
    const s = await core.readNamespacedSecret({ name: "mysecret", namespace: "apps" });
    assert.equal(s.metadata?.name, "mysecret");
  });
});
