/**
 * End to end: `bin/keyward injector` over HTTPS answers AdmissionReview v1 requests for a Deployment's pod
 * template (plain, already injected, Dapr-annotated, malformed); the returned JSON patch is applied with
 * `kubectl patch --local`, and the patched pod runs as the simulated-pod test runs one: the keyward
 * container's args and env start `bin/keyward` against the Kubernetes API test server (which serves the
 * Component), and the app reads a secret through it with the token the patch gave it.
 */
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { KEYWARD_BIN } from "../helpers/paths.js";
import { rssMiB } from "../helpers/process-memory.js";
import { runKeyward, startSidecar } from "../helpers/sidecar.js";
import { makeTestTls, type TestTls } from "../helpers/tls.js";
import { KubeApiTestServer } from "../servers/kubernetes/server.js";

const pexec = promisify(execFile);
const CANARY = `inj-${process.pid}-${Date.now()}`;
const TOKEN = `tok-${CANARY}`;
let api: KubeApiTestServer;
let tls: TestTls;
let injector: ChildProcess;
let out = "";
let port = 0;
let sa = "";

interface Pod {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; generateName?: string; namespace?: string; annotations?: Record<string, string> };
  spec: { containers: Container[]; initContainers?: Container[]; volumes?: unknown[] };
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string } };
}
interface Container {
  name: string;
  image?: string;
  args?: string[];
  env?: EnvVar[];
  restartPolicy?: string;
  securityContext?: Record<string, unknown>;
  resources?: { limits?: Record<string, string>; requests?: Record<string, string> };
  startupProbe?: { httpGet: { path: string; port: number } };
}

/** A Deployment's pod template as the API server sends it for review: generateName, no name yet. */
function templatePod(annotations: Record<string, string>, extra: Partial<Pod["spec"]> = {}): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { generateName: "order-processor-5d8f7b9c4-", namespace: "apps", annotations },
    spec: {
      containers: [{ name: "app", image: "node:20", env: [{ name: "SECRET_NAME", value: "mysecret" }] }],
      ...extra,
    },
  };
}

function review(uid: string, object: unknown, kind = "Pod"): unknown {
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid,
      kind: { group: "", version: "v1", kind },
      resource: { group: "", version: "v1", resource: kind === "Pod" ? "pods" : "deployments" },
      namespace: "apps",
      operation: "CREATE",
      object,
    },
  };
}

function post(body: string | Buffer, to = port): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: to,
        path: "/mutate",
        method: "POST",
        ca: tls.ca,
        headers: { "Content-Type": "application/json" },
      },
      (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

interface ReviewResponse {
  uid: string;
  allowed: boolean;
  patchType?: string;
  patch?: string;
  status?: { code: number; message: string };
}

async function mutate(uid: string, object: unknown, kind?: string, to = port): Promise<ReviewResponse> {
  const r = await post(JSON.stringify(review(uid, object, kind)), to);
  assert.equal(r.status, 200, r.text);
  const body = JSON.parse(r.text) as { apiVersion: string; kind: string; response: ReviewResponse };
  assert.equal(body.apiVersion, "admission.k8s.io/v1");
  assert.equal(body.kind, "AdmissionReview");
  return body.response;
}

/** Applies the patch as the API server would, with kubectl's client-side patch. */
async function applyPatch(pod: Pod, patch: string): Promise<Pod> {
  const dir = mkdtempSync(join(tmpdir(), "keyward-pod-"));
  const file = join(dir, "pod.json");
  writeFileSync(file, JSON.stringify({ ...pod, metadata: { ...pod.metadata, name: "order-processor-abc12" } }));
  const ops = Buffer.from(patch, "base64").toString("utf8");
  const r = await pexec("kubectl", ["patch", "--local", "-f", file, "--type", "json", "-p", ops, "-o", "json"], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", KUBECONFIG: "/nonexistent" },
  });
  return JSON.parse(r.stdout) as Pod;
}

before(async () => {
  api = await KubeApiTestServer.start();
  tls = makeTestTls(["127.0.0.1", "localhost"]);
  sa = mkdtempSync(join(tmpdir(), "keyward-sa-"));
  writeFileSync(join(sa, "token"), api.token);
  writeFileSync(join(sa, "ca.crt"), api.tls.ca);
  injector = spawn(
    process.execPath,
    [
      KEYWARD_BIN,
      "injector",
      "--tls-cert-file",
      tls.certPath,
      "--tls-key-file",
      tls.keyPath,
      "--port",
      "0",
      "--listen-address",
      "127.0.0.1",
      "--dapr-annotations",
    ],
    {
      env: {
        ...process.env,
        KUBERNETES_SERVICE_HOST: "127.0.0.1",
        KUBERNETES_SERVICE_PORT: String(api.port),
        KEYWARD_SERVICE_ACCOUNT_DIR: sa,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  injector.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  injector.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  for (let i = 0; i < 300 && !/injector listening.* port=(\d+)/.test(out); i++)
    await new Promise((r) => setTimeout(r, 50));
  const m = /injector listening.* port=(\d+)/.exec(out);
  assert.ok(m, out);
  port = Number(m[1]);
});

after(async () => {
  injector?.kill("SIGTERM");
  await api?.close();
});

void describe("keyward injector", () => {
  void it("serves /healthz over HTTPS and reads the API server's version for native sidecars", async () => {
    const status = await new Promise<number>((resolve, reject) =>
      request({ host: "127.0.0.1", port, path: "/healthz", ca: tls.ca }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on("error", reject)
        .end(),
    );
    assert.equal(status, 200);
    assert.match(out, /native_sidecars=true/);
  });

  void it("injects a native sidecar into an annotated pod, hardened, with DAPR_* env for the app", async () => {
    const pod = templatePod({
      "keyward.io/enabled": "true",
      "keyward.io/app-id": "orders",
      "keyward.io/api-token-secret": "keyward-api-token",
      "keyward.io/sidecar-cpu-limit": "200m",
    });
    const res = await mutate("uid-plain", pod);
    assert.equal(res.uid, "uid-plain");
    assert.equal(res.allowed, true);
    assert.equal(res.patchType, "JSONPatch");
    const ops = Buffer.from(res.patch!, "base64").toString("utf8");
    assert.match(ops, /"\/metadata\/annotations\/keyward.io~1injected"/, "RFC 6901 escaping");
    const patched = await applyPatch(pod, res.patch!);
    const sidecar = patched.spec.initContainers?.[0];
    assert.equal(sidecar?.name, "keyward");
    assert.equal(sidecar.restartPolicy, "Always");
    assert.ok(sidecar.args?.includes("--app-id=orders"));
    assert.deepEqual(sidecar.securityContext, {
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    assert.equal(sidecar.resources?.limits?.cpu, "200m");
    assert.equal(sidecar.startupProbe?.httpGet.path, "/v1.0/healthz");
    const appEnv = patched.spec.containers[0]!.env!.map((e) => e.name);
    assert.deepEqual(appEnv, ["SECRET_NAME", "DAPR_HTTP_PORT", "DAPR_GRPC_PORT", "DAPR_API_TOKEN"]);
    assert.equal(patched.metadata.annotations?.["keyward.io/injected"], "true");
  });

  void it("leaves pods alone that are not annotated or already injected", async () => {
    for (const [uid, pod] of [
      ["uid-none", templatePod({})],
      ["uid-done", templatePod({ "keyward.io/enabled": "true" }, { initContainers: [{ name: "keyward" }] })],
      ["uid-marked", templatePod({ "keyward.io/enabled": "true", "keyward.io/injected": "true" })],
    ] as const) {
      const res = await mutate(uid, pod);
      assert.deepEqual([res.uid, res.allowed, res.patch], [uid, true, undefined]);
    }
  });

  void it("honours dapr.io annotations with --dapr-annotations; keyward.io wins", async () => {
    const pod = templatePod({
      "dapr.io/enabled": "true",
      "dapr.io/app-id": "dapr-app",
      "dapr.io/log-level": "debug",
      "keyward.io/log-level": "warn",
    });
    const res = await mutate("uid-dapr", pod);
    const patched = await applyPatch(pod, res.patch!);
    const args = patched.spec.initContainers?.[0]?.args ?? [];
    assert.ok(args.includes("--app-id=dapr-app"), args.join(" "));
    assert.ok(args.includes("--log-level=warn"), args.join(" "));
  });

  void it("refuses malformed reviews with a well-formed answer and keeps serving", async () => {
    assert.equal((await post("{not json")).status, 400);
    const big = await post(Buffer.alloc(4 * 1024 * 1024, 0x20));
    assert.equal(big.status, 413);
    const wrongKind = JSON.parse((await post(JSON.stringify({ apiVersion: "v1", kind: "Pod" }))).text) as {
      response: ReviewResponse;
    };
    assert.equal(wrongKind.response.allowed, false);
    const noRequest = JSON.parse(
      (await post(JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" }))).text,
    ) as { response: ReviewResponse };
    assert.equal(noRequest.response.allowed, false);
    assert.equal(noRequest.response.status?.code, 400);
    const deployment = await mutate("uid-dep", { kind: "Deployment" }, "Deployment");
    assert.deepEqual([deployment.uid, deployment.allowed], ["uid-dep", false]);
    const badSpec = await mutate("uid-bad", {
      metadata: { annotations: { "keyward.io/enabled": "true" } },
      spec: { containers: "x" },
    });
    assert.equal(badSpec.allowed, false);
    const badPort = await mutate(
      "uid-port",
      templatePod({ "keyward.io/enabled": "true", "keyward.io/http-port": "99999" }),
    );
    assert.equal(badPort.allowed, false);
    assert.match(badPort.status!.message, /keyward.io\/http-port/);
    for (const junk of [
      "null",
      "[]",
      "42",
      '"x"',
      '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod"},"object":null}}',
    ])
      assert.equal((await post(junk)).status, 200, junk);
    assert.equal(injector.exitCode, null, out);
  });

  void it("the patched pod runs: its sidecar loads the Component from the API server and the app reads a secret", async (t) => {
    api.putSecret("apps", "keyward-api-token", { token: TOKEN });
    const dir = mkdtempSync(join(tmpdir(), "keyward-inj-"));
    const file = join(dir, "s.json");
    writeFileSync(file, JSON.stringify({ mysecret: `v-${CANARY}` }));
    api.putDapr("components", "apps", {
      metadata: { name: "secretstore" },
      spec: { type: "secretstores.local.file", version: "v1", metadata: [{ name: "secretsFile", value: file }] },
    });
    const pod = templatePod({
      "keyward.io/enabled": "true",
      "keyward.io/app-id": "orders",
      "keyward.io/api-token-secret": "keyward-api-token",
    });
    const res = await mutate("uid-run", pod);
    const patched = await applyPatch(pod, res.patch!);
    const kw = patched.spec.initContainers![0]!;
    // The kubelet's part: downward API and secretKeyRef values; ports and listen address to free loopback ones.
    const env: Record<string, string> = {
      KUBERNETES_SERVICE_HOST: "127.0.0.1",
      KUBERNETES_SERVICE_PORT: String(api.port),
      KEYWARD_SERVICE_ACCOUNT_DIR: sa,
    };
    const resolve = (e: EnvVar): string => {
      if (e.value !== undefined) return e.value;
      const f = e.valueFrom?.fieldRef?.fieldPath;
      if (f === "metadata.namespace") return patched.metadata.namespace!;
      if (f === "metadata.name") return patched.metadata.name!;
      const ref = e.valueFrom!.secretKeyRef!;
      assert.equal(ref.name, "keyward-api-token");
      return TOKEN;
    };
    for (const e of kw.env ?? []) env[e.name] = resolve(e);
    const args = (kw.args ?? []).map((a) =>
      a.startsWith("--dapr-http-port=") || a.startsWith("--dapr-grpc-port=")
        ? a.replace(/=\d+$/, "=0")
        : a === "--dapr-listen-addresses=0.0.0.0"
          ? "--dapr-listen-addresses=127.0.0.1"
          : a,
    );
    const started = Date.now();
    const sidecar = await startSidecar({
      resourcesArgs: [],
      appId: "orders",
      args: [...args, "--metrics-port=0"],
      env,
    });
    try {
      t.diagnostic(`sidecar ready in ${Date.now() - started} ms`);
      const appEnv = Object.fromEntries(patched.spec.containers[0]!.env!.map((e) => [e.name, resolve(e)]));
      assert.equal(appEnv.DAPR_API_TOKEN, TOKEN);
      const probe = await fetch(`${sidecar.httpUrl}${kw.startupProbe!.httpGet.path}`);
      assert.equal(probe.status, 204, "the probes' path answers without the token");
      const denied = await fetch(`${sidecar.httpUrl}/v1.0/secrets/secretstore/mysecret`);
      assert.equal(denied.status, 401, "the token is enforced");
      const ok = await fetch(`${sidecar.httpUrl}/v1.0/secrets/secretstore/mysecret`, {
        headers: { "dapr-api-token": appEnv.DAPR_API_TOKEN },
      });
      assert.deepEqual(await ok.json(), { mysecret: `v-${CANARY}` });
      assert.ok(!sidecar.output().includes(CANARY), sidecar.output());
    } finally {
      assert.equal(await sidecar.stop(), 0);
    }
  });

  void it("serves a rotated certificate without a restart", async () => {
    const next = makeTestTls(["127.0.0.1", "localhost"]);
    writeFileSync(tls.keyPath, next.key);
    writeFileSync(tls.certPath, next.cert);
    // Clients now trust only the new CA: the old certificate fails verification until the reload.
    tls = { ...tls, ca: next.ca };
    for (let i = 0; ; i++) {
      const r = await post("{}").catch(() => undefined);
      if (r) break;
      assert.ok(i < 100, `the new certificate was not served:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(out, /TLS certificate and key reloaded/);
  });

  void it("latency and memory per review", async (t) => {
    const pod = templatePod({ "keyward.io/enabled": "true" });
    const times: number[] = [];
    for (let i = 0; i < 200; i++) {
      const s = performance.now();
      await mutate(`uid-${i}`, pod);
      times.push(performance.now() - s);
    }
    times.sort((a, b) => a - b);
    const p = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(2);
    t.diagnostic(
      `injector review latency (new TLS connection each): p50 ${p(0.5)} ms, p99 ${p(0.99)} ms; RSS ${rssMiB(injector.pid!).toFixed(1)} MiB`,
    );
    assert.ok(!out.includes(TOKEN));
  });
});

void describe("keyward injector flags", () => {
  void it("refuses missing or invalid flags and unreadable certificates with a clear error", async () => {
    const cases: [string[], number, RegExp][] = [
      [["injector"], 2, /--tls-cert-file and --tls-key-file are required/],
      [
        ["injector", "--tls-cert-file", tls.certPath, "--tls-key-file", tls.keyPath, "--native-sidecars", "maybe"],
        2,
        /--native-sidecars: use auto, true or false/,
      ],
      [
        ["injector", "--tls-cert-file", "/nonexistent/c", "--tls-key-file", tls.keyPath, "--port", "0"],
        1,
        /cannot load the TLS certificate and key/,
      ],
    ];
    for (const [args, code, message] of cases) {
      const r = await runKeyward({}, args);
      assert.equal(r.code, code, r.output);
      assert.match(r.output, message);
    }
  });

  void it("--native-sidecars=false adds a regular container; dapr.io annotations count only with --dapr-annotations", async () => {
    const child = spawn(
      process.execPath,
      [
        KEYWARD_BIN,
        "injector",
        `--tls-cert-file=${tls.certPath}`,
        `--tls-key-file=${tls.keyPath}`,
        "--port=0",
        "--listen-address=127.0.0.1",
        "--native-sidecars=false",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let text = "";
    child.stdout!.on("data", (d: Buffer) => (text += d.toString()));
    try {
      for (let i = 0; i < 300 && !/injector listening.* port=(\d+)/.test(text); i++)
        await new Promise((r) => setTimeout(r, 50));
      const other = Number(/injector listening.* port=(\d+)/.exec(text)?.[1]);
      assert.ok(other > 0, text);
      const pod = templatePod({ "keyward.io/enabled": "true" });
      const res = await mutate("uid-regular", pod, undefined, other);
      const patched = await applyPatch(pod, res.patch!);
      assert.deepEqual(
        patched.spec.containers.map((c) => c.name),
        ["app", "keyward"],
      );
      assert.equal(patched.spec.initContainers, undefined);
      assert.equal(patched.spec.containers[1]!.restartPolicy, undefined);
      assert.ok(
        patched.spec.containers[1]!.args?.includes("--app-id=order-processor-5d8f7b9c4"),
        "app id from generateName",
      );
      const dapr = await mutate("uid-dapr-off", templatePod({ "dapr.io/enabled": "true" }), undefined, other);
      assert.deepEqual([dapr.allowed, dapr.patch], [true, undefined]);
    } finally {
      child.kill("SIGTERM");
    }
  });
});
