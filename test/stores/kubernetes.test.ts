import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { KubernetesSecretStore, NAMESPACE_MISSING } from "../../src/stores/kubernetes/kubernetes.js";
import { SecretStoreError, type ComponentMetadata } from "../../src/stores/types.js";
import { describeSecretStoreConformance } from "../conformance/secret-store.case.js";
import {
  recordingLogger,
  storeContext,
  type ContextOverrides,
  type RecordingLogger,
} from "../helpers/store-context.js";
import { KubeApiTestServer } from "../servers/kubernetes/server.js";

const CANARY = `canary-${process.pid}-${Date.now()}`;

let conformanceServer: KubeApiTestServer;
let conformanceKubeconfig = "";
describeSecretStoreConformance({
  name: "kubernetes",
  create: () => new KubernetesSecretStore(),
  metadata: () => ({ kubeconfigPath: conformanceKubeconfig, defaultNamespace: "default" }),
  setup: async () => {
    conformanceServer = await KubeApiTestServer.start();
    conformanceServer.putSecret("default", "conftestsecret", { conftestsecret: "abcd" });
    conformanceServer.putSecret("default", "secondsecret", { secondsecret: "efgh" });
    conformanceKubeconfig = conformanceServer.writeKubeconfig();
  },
  teardown: async () => conformanceServer.close(),
});

function rejectsWith(kind: SecretStoreError["kind"], ...patterns: (RegExp | string)[]): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof SecretStoreError, `expected SecretStoreError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    for (const p of patterns) {
      if (typeof p === "string")
        assert.ok(
          err.message.includes(p),
          `message ${JSON.stringify(err.message)} should contain ${JSON.stringify(p)}`,
        );
      else assert.match(err.message, p);
    }
    assert.ok(!err.message.includes(CANARY), "no secret value in the message");
    return true;
  };
}

describe("kubernetes store", () => {
  let server: KubeApiTestServer;
  let kubeconfig: string;
  const stores: KubernetesSecretStore[] = [];
  const log: RecordingLogger = recordingLogger();

  /** The context's environment is empty unless a test gives one: nothing of this process leaks into the store. */
  async function open(metadata: ComponentMetadata, context: ContextOverrides = {}): Promise<KubernetesSecretStore> {
    const s = new KubernetesSecretStore();
    stores.push(s);
    await s.init(metadata, storeContext("kubernetes", 10_000, log, { env: {}, ...context }));
    return s;
  }

  before(async () => {
    server = await KubeApiTestServer.start();
    kubeconfig = server.writeKubeconfig();
    for (const ns of ["ns-a", "ns-b", "ns-c"]) server.putSecret(ns, "where", { where: ns });
    server.putSecret("default", "db", {
      username: "admin",
      password: `${CANARY}-pw`,
      "config.json": '{"a":1}',
      unicode: "héllo ✓",
    });
    server.putSecret("default", "empty", {});
  });
  after(async () => {
    for (const s of stores) await s.close();
    await server.close();
  });

  it("namespace: request metadata, then env NAMESPACE, then defaultNamespace", async () => {
    const s = await open({ kubeconfigPath: kubeconfig, defaultNamespace: "ns-c" });
    assert.deepEqual(await s.getSecret({ name: "where", metadata: {} }), { where: "ns-c" });
    process.env.NAMESPACE = "ns-a";
    try {
      // The store sees the namespace its context names, never this process's environment.
      const app = await open({ kubeconfigPath: kubeconfig, defaultNamespace: "ns-c" }, { namespace: "ns-b" });
      assert.deepEqual(await s.getSecret({ name: "where", metadata: {} }), { where: "ns-c" });
      assert.deepEqual(await app.getSecret({ name: "where", metadata: {} }), { where: "ns-b" });
      assert.deepEqual(await app.getSecret({ name: "where", metadata: { namespace: "ns-a" } }), { where: "ns-a" });
      // An empty request value does not count, as in daprd.
      assert.deepEqual(await app.getSecret({ name: "where", metadata: { namespace: "" } }), { where: "ns-b" });
      assert.deepEqual(Object.keys((await app.bulkGetSecret({ metadata: { namespace: "ns-a" } })) ?? {}), ["where"]);
    } finally {
      delete process.env.NAMESPACE;
    }
    assert.equal(server.count({ verb: "get", namespace: "ns-a", name: "where" }), 1);
  });

  it("without any namespace source the read fails with daprd's message", async () => {
    const s = await open({ kubeconfigPath: kubeconfig });
    await assert.rejects(
      s.getSecret({ name: "where", metadata: {} }),
      rejectsWith("invalid_request", NAMESPACE_MISSING),
    );
    await assert.rejects(s.bulkGetSecret({ metadata: {} }), { message: NAMESPACE_MISSING });
    await assert.rejects(
      s.getSecret({ name: "where", metadata: { namespace: "../etc" } }),
      rejectsWith("invalid_request", "not a valid Kubernetes namespace"),
    );
  });

  it("a missing secret is not_found with the API server's reason and message", async () => {
    const s = await open({ kubeconfigPath: kubeconfig, defaultNamespace: "default" });
    await assert.rejects(
      s.getSecret({ name: "nope", metadata: {} }),
      rejectsWith(
        "not_found",
        'secret "nope" not found in namespace "default"',
        "404 NotFound",
        'secrets "nope" not found',
      ),
    );
  });

  it("an RBAC denial names the verb and the namespace to grant", async () => {
    server.putSecret("restricted", "guarded", { k: CANARY });
    server.forbid("get", "restricted");
    server.forbid("list", "restricted");
    try {
      const s = await open({ kubeconfigPath: kubeconfig, defaultNamespace: "restricted" });
      await assert.rejects(
        s.getSecret({ name: "guarded", metadata: {} }),
        rejectsWith(
          "permission_denied",
          'verb "get" on secrets in namespace "restricted"',
          "403 Forbidden",
          'cannot get resource "secrets"',
          'User "system:serviceaccount:default:keyward"',
        ),
      );
      await assert.rejects(
        s.bulkGetSecret({ metadata: {} }),
        rejectsWith("permission_denied", 'verb "list" on secrets in namespace "restricted"', 'add verb "list"'),
      );
    } finally {
      server.allow("get", "restricted");
      server.allow("list", "restricted");
    }
  });

  it("multi-key secrets come back whole, values base64-decoded; no capability is advertised", async () => {
    const s = await open({ kubeconfigPath: kubeconfig, defaultNamespace: "default" });
    assert.deepEqual(await s.getSecret({ name: "db", metadata: {} }), {
      username: "admin",
      password: `${CANARY}-pw`,
      "config.json": '{"a":1}',
      unicode: "héllo ✓",
    });
    assert.deepEqual(await s.getSecret({ name: "empty", metadata: {} }), {});
    assert.deepEqual([...s.features()], []);
  });

  it("sequential reads reuse a kept-alive connection instead of a TLS handshake each", async () => {
    const s = await open({ kubeconfigPath: kubeconfig, defaultNamespace: "default" });
    await s.getSecret({ name: "db", metadata: {} });
    const before = server.connections;
    for (let i = 0; i < 20; i++) await s.getSecret({ name: "db", metadata: {} });
    assert.ok(server.connections - before <= 2, `${server.connections - before} new connections for 20 reads`);
  });

  it("bulk lists the namespace in chunks and returns every secret's keys", async () => {
    for (let i = 0; i < 520; i++) server.putSecret("bulk", `s-${String(i).padStart(4, "0")}`, { v: String(i) });
    server.putSecret("bulk", "multi", { a: "1", b: "2" });
    const s = await open({ kubeconfigPath: kubeconfig, defaultNamespace: "bulk" });
    const before = server.count({ verb: "list", namespace: "bulk" });
    const bulk = await s.bulkGetSecret({ metadata: {} });
    assert.equal(Object.keys(bulk).length, 521);
    assert.deepEqual(bulk["s-0519"], { v: "519" });
    assert.deepEqual(bulk.multi, { a: "1", b: "2" });
    assert.equal(server.count({ verb: "list", namespace: "bulk" }) - before, 2, "two chunks of at most 500");
  });

  it("a rejected token is bad_credentials, without the token in the message", async () => {
    const bad = `bad-token-${CANARY}`;
    const s = await open({ kubeconfigPath: server.writeKubeconfig({ token: bad }), defaultNamespace: "default" });
    await assert.rejects(
      s.getSecret({ name: "db", metadata: {} }),
      rejectsWith("bad_credentials", "rejected the credentials", "401"),
    );
    await assert.rejects(s.getSecret({ name: "db", metadata: {} }), (err: Error) => !err.message.includes(bad));
    // A token the HTTP client itself refuses (the client's error quotes the header value): still not echoed.
    const dir = mkdtempSync(join(tmpdir(), "kw-kc-"));
    const broken = join(dir, "config");
    writeFileSync(broken, server.kubeconfig({ token: JSON.stringify(`${bad}\nsecond-line`) }));
    const s2 = await open({ kubeconfigPath: broken, defaultNamespace: "default" });
    await assert.rejects(s2.getSecret({ name: "db", metadata: {} }), (err: unknown) => {
      assert.ok(err instanceof SecretStoreError);
      assert.ok(!err.message.includes(bad) && !err.message.includes(CANARY), err.message);
      return true;
    });
  });

  it("throttling and an unreachable server are reported as such", async () => {
    const s = await open({ kubeconfigPath: kubeconfig, defaultNamespace: "default" });
    server.throttle(1);
    await assert.rejects(s.getSecret({ name: "db", metadata: {} }), rejectsWith("throttled", "429 TooManyRequests"));
    const closed = await KubeApiTestServer.start({ tls: server.tls });
    const deadUrl = closed.url;
    await closed.close();
    const dead = await open({
      kubeconfigPath: server.writeKubeconfig({ server: deadUrl }),
      defaultNamespace: "default",
    });
    await assert.rejects(
      dead.getSecret({ name: "db", metadata: {} }),
      rejectsWith("unavailable", "cannot reach the Kubernetes API server", "ECONNREFUSED"),
    );
  });

  it("requestTimeout and the caller's signal bound a hung request", async () => {
    const s = await open({ kubeconfigPath: kubeconfig, defaultNamespace: "default", requestTimeout: "300ms" });
    const release = server.holdLists();
    try {
      await assert.rejects(s.bulkGetSecret({ metadata: {} }), rejectsWith("unavailable", "timed out"));
      const slow = await open({ kubeconfigPath: kubeconfig, defaultNamespace: "default" });
      await assert.rejects(
        slow.bulkGetSecret({ metadata: {} }, AbortSignal.timeout(200)),
        rejectsWith("unavailable", "timed out"),
      );
    } finally {
      release();
    }
    await assert.rejects(
      open({ kubeconfigPath: kubeconfig, requestTimeout: "soon" }),
      /requestTimeout: "soon" is not a positive duration/,
    );
  });

  it("bad metadata fails init with a clear message", async () => {
    await assert.rejects(open({ kubeconfigPath: kubeconfig, watch: "maybe" }), /watch: "maybe" is not a boolean/);
    await assert.rejects(
      open({ kubeconfigPath: kubeconfig, defaultNamespace: "Not_Valid" }),
      rejectsWith("invalid_config", "defaultNamespace"),
    );
    await assert.rejects(
      open({ kubeconfigPath: join(tmpdir(), `nope-${process.pid}`, "config") }),
      rejectsWith("invalid_config", "cannot load kubeconfig", "ENOENT"),
    );
    const dir = mkdtempSync(join(tmpdir(), "kw-kc-"));
    const broken = join(dir, "broken");
    writeFileSync(broken, `users:\n- name: x\n  user:\n    token: ${CANARY}\n  : : [\n`);
    await assert.rejects(open({ kubeconfigPath: broken }), rejectsWith("invalid_config", "not a valid kubeconfig"));
    const noContext = join(dir, "nocontext");
    writeFileSync(noContext, "apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n");
    await assert.rejects(
      open({ kubeconfigPath: noContext }),
      rejectsWith("invalid_config", "no usable current context"),
    );
  });

  describe("where the configuration comes from", () => {
    function saDir(token: string): string {
      const dir = mkdtempSync(join(tmpdir(), "kw-sa-"));
      // Token files written by hand often end in a newline; client-go trims it, so must we.
      writeFileSync(join(dir, "token"), `${token}\n`);
      writeFileSync(join(dir, "ca.crt"), server.tls.ca);
      writeFileSync(join(dir, "namespace"), "default");
      return dir;
    }

    it("in a pod: the service account and KUBERNETES_SERVICE_HOST/PORT, with metadata {}", async () => {
      const env = {
        KUBERNETES_SERVICE_HOST: "127.0.0.1",
        KUBERNETES_SERVICE_PORT: String(server.port),
        KEYWARD_SERVICE_ACCOUNT_DIR: saDir(server.token),
        HOME: mkdtempSync(join(tmpdir(), "kw-home-")),
      };
      const s = await open({}, { env, namespace: "default" });
      assert.deepEqual(await s.getSecret({ name: "db", metadata: {} }), {
        username: "admin",
        password: `${CANARY}-pw`,
        "config.json": '{"a":1}',
        unicode: "héllo ✓",
      });
      assert.ok(
        log.lines.some((l) => l.includes("in-cluster service account")),
        "logs where the config came from",
      );
    });

    it("an explicit kubeconfigPath wins over the in-cluster service account", async () => {
      const env = {
        KUBERNETES_SERVICE_HOST: "127.0.0.1",
        KUBERNETES_SERVICE_PORT: "1",
        KEYWARD_SERVICE_ACCOUNT_DIR: saDir("wrong"),
      };
      const s = await open({ kubeconfigPath: kubeconfig, defaultNamespace: "ns-a" }, { env });
      assert.deepEqual(await s.getSecret({ name: "where", metadata: {} }), { where: "ns-a" });
    });

    it("--kubeconfig argument, then KUBECONFIG (a list; missing entries skipped), then ~/.kube/config", async () => {
      const home = mkdtempSync(join(tmpdir(), "kw-home-"));
      const viaArg = await open({ defaultNamespace: "ns-a" }, { env: { HOME: home }, kubeconfig });
      assert.deepEqual(await viaArg.getSecret({ name: "where", metadata: {} }), { where: "ns-a" });
      const viaEnv = await open(
        { defaultNamespace: "ns-b" },
        { env: { HOME: home, KUBECONFIG: `${join(home, "missing")}:${kubeconfig}` } },
      );
      assert.deepEqual(await viaEnv.getSecret({ name: "where", metadata: {} }), { where: "ns-b" });
      await assert.rejects(
        open({}, { env: { HOME: home } }),
        rejectsWith("invalid_config", "no Kubernetes configuration found"),
      );
      mkdirSync(join(home, ".kube"));
      writeFileSync(join(home, ".kube", "config"), server.kubeconfig());
      const viaHome = await open({ defaultNamespace: "ns-c" }, { env: { HOME: home } });
      assert.deepEqual(await viaHome.getSecret({ name: "where", metadata: {} }), { where: "ns-c" });
    });
  });

  it("nothing logged holds a secret value or the token", () => {
    for (const line of log.lines) {
      assert.ok(!line.includes(CANARY), line);
      assert.ok(!line.includes(server.token), line);
    }
  });
});
