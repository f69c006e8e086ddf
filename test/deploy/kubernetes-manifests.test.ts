/**
 * Checks of deploy/kubernetes and the Dockerfile. They are not applied to a live cluster in CI, so
 * everything that can be checked without one is: required fields, the sidecar's wiring (ports, probes,
 * mounts, env), hardening, that the Role grants exactly the verbs the ConfigMap's components need, and a
 * simulated pod: the keyward container's exact args, env and mounted files run as `bin/keyward serve` against
 * the Kubernetes API test server enforcing the manifests' Role, probed on its probe path, and read by the
 * app container's own script.
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { parse, parseAllDocuments } from "yaml";
import { REPO_ROOT } from "../helpers/paths.js";
import { startSidecar } from "../helpers/sidecar.js";
import { KubeApiTestServer, type PolicyRule } from "../servers/kubernetes/server.js";

const pexec = promisify(execFile);
const DEPLOY = join(REPO_ROOT, "deploy", "kubernetes");
const TRUTHY = new Set(["y", "yes", "true", "t", "on", "1"]);

// Minimal shapes of the objects read here.
interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  [k: string]: unknown;
}
interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string } } }[];
  ports?: { name?: string; containerPort: number }[];
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  securityContext?: { runAsNonRoot?: boolean; readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[] } };
  resources?: { limits?: Record<string, string>; requests?: Record<string, string> };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface Probe {
  httpGet?: { path: string; port: number | string };
}
interface PodSpec {
  serviceAccountName?: string;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
  volumes?: { name: string; configMap?: { name: string; items?: { key: string; path: string }[] }; emptyDir?: object }[];
}
interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
interface Component {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: { type: string; version?: string; metadata?: { name: string; value?: unknown }[] | null };
}
interface Configuration {
  kind: string;
  spec?: { secrets?: { scopes?: { storeName: string; defaultAccess?: string; allowedSecrets?: string[] }[] } };
}

function documents(text: string, where: string): Obj[] {
  return parseAllDocuments(text).map((d) => {
    assert.equal(d.errors.length, 0, `${where}: ${d.errors.map((e) => e.message).join("; ")}`);
    return d.toJS() as Obj;
  }).filter((o) => o !== null);
}

function objectsIn(dir: string): Obj[] {
  const out: Obj[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".yaml") && n !== "kustomization.yaml")) out.push(...documents(readFileSync(join(dir, f), "utf8"), f));
  return out;
}

function baseObjects(): Obj[] {
  return objectsIn(DEPLOY);
}

/** The watch variant: watch/'s objects replace their namesakes in the base, as `kubectl apply` does. */
function watchObjects(): Obj[] {
  const overrides = objectsIn(join(DEPLOY, "watch"));
  const key = (o: Obj) => `${o.kind}/${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
  const byKey = new Map(overrides.map((o) => [key(o), o]));
  const base = baseObjects();
  for (const o of overrides) assert.ok(base.some((b) => key(b) === key(o)), `watch/ replaces an existing ${key(o)}`);
  return base.map((o) => byKey.get(key(o)) ?? o);
}

function one<T>(objs: Obj[], kind: string): T {
  const found = objs.filter((o) => o.kind === kind);
  assert.equal(found.length, 1, `exactly one ${kind}`);
  return found[0] as unknown as T;
}

function flag(args: string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === `--${name}`) return args[i + 1];
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return undefined;
}

function podOf(objs: Obj[]): PodSpec {
  return (one<{ spec: { template: { spec: PodSpec } } }>(objs, "Deployment")).spec.template.spec;
}

function keywardContainer(pod: PodSpec): Container {
  const c = pod.containers.find((x) => (x.image ?? "").includes("keyward"));
  assert.ok(c, "a container runs the keyward image");
  return c;
}

/** The resources folder and Configuration the keyward container reads, resolved through its mounts. */
function mountedResources(objs: Obj[]): { components: Component[]; configuration: Configuration | undefined } {
  const pod = podOf(objs);
  const kw = keywardContainer(pod);
  const args = kw.args ?? [];
  const cm = one<{ metadata: { name: string }; data: Record<string, string> }>(objs, "ConfigMap");
  const filesAt = (dir: string): Record<string, string> => {
    const mount = kw.volumeMounts?.find((m) => dir === m.mountPath || dir.startsWith(`${m.mountPath}/`));
    assert.ok(mount, `${dir} is mounted`);
    const vol = pod.volumes?.find((v) => v.name === mount.name);
    assert.equal(vol?.configMap?.name, cm.metadata.name, `${dir} comes from the ConfigMap`);
    const out: Record<string, string> = {};
    for (const item of vol?.configMap?.items ?? Object.keys(cm.data).map((k) => ({ key: k, path: k }))) {
      assert.ok(cm.data[item.key] !== undefined, `ConfigMap has key ${item.key}`);
      out[join(mount.mountPath, item.path)] = cm.data[item.key] as string;
    }
    return out;
  };
  const resourcesPath = flag(args, "resources-path");
  assert.ok(resourcesPath, "--resources-path is set");
  const components = Object.entries(filesAt(resourcesPath))
    .filter(([p]) => p.startsWith(`${resourcesPath}/`) && /\.ya?ml$/i.test(p))
    .flatMap(([p, text]) => documents(text, p))
    .filter((o) => o.kind === "Component") as unknown as Component[];
  const configPath = flag(args, "config");
  let configuration: Configuration | undefined;
  if (configPath) {
    const text = filesAt(configPath.slice(0, configPath.lastIndexOf("/")))[configPath];
    assert.ok(text, `${configPath} exists in the mount`);
    configuration = parse(text) as Configuration;
  }
  return { components, configuration };
}

/** What the Role must allow for the mounted components: get; list and watch when a component uses `watch`. */
function requiredVerbs(components: Component[]): string[] {
  const k8s = components.filter((c) => c.spec.type.toLowerCase() === "secretstores.kubernetes");
  const watch = k8s.some((c) => (c.spec.metadata ?? []).some((m) => m.name.toLowerCase() === "watch" && TRUTHY.has(String(m.value).toLowerCase())));
  return watch ? ["get", "list", "watch"] : ["get"];
}

function checkRbac(objs: Obj[], variant: string): void {
  const { components, configuration } = mountedResources(objs);
  assert.ok(components.some((c) => c.spec.type === "secretstores.kubernetes"), `${variant}: a Kubernetes secret store component is mounted`);
  for (const c of components) {
    assert.equal(c.apiVersion, "dapr.io/v1alpha1");
    assert.ok(c.metadata.name && c.spec.type.startsWith("secretstores."), `${variant}: component ${c.metadata.name} is a secret store`);
  }
  const role = one<{ kind: string; metadata: { name: string; namespace: string }; rules: Rule[] }>(objs, "Role");
  assert.equal(objs.filter((o) => o.kind === "ClusterRole" || o.kind === "ClusterRoleBinding").length, 0, "namespace-scoped RBAC only");
  const secretRules = role.rules.filter((r) => r.resources.includes("secrets"));
  assert.equal(secretRules.length, 1, `${variant}: one rule for secrets`);
  const rule = secretRules[0] as Rule;
  assert.deepEqual(rule.apiGroups, [""]);
  assert.deepEqual(rule.resources, ["secrets"], "no other resources");
  assert.ok(!role.rules.some((r) => r.verbs.includes("*") || r.resources.includes("*")), "no wildcards");
  assert.deepEqual([...rule.verbs].sort(), requiredVerbs(components), `${variant}: Role verbs match the components' features`);
  if (rule.verbs.includes("list") || rule.verbs.includes("watch")) {
    assert.equal(rule.resourceNames, undefined, `${variant}: a namespace-wide list/watch cannot be narrowed by resourceNames`);
  } else if (rule.resourceNames) {
    // Secret scopes and resourceNames must agree, or reads the scopes allow would fail with 403.
    const allowed = new Set((configuration?.spec?.secrets?.scopes ?? []).flatMap((s) => s.allowedSecrets ?? []));
    const pod = podOf(objs);
    const appReads = pod.containers.flatMap((c) => c.env ?? []).filter((e) => e.name === "SECRET_NAME").map((e) => e.value as string);
    for (const name of [...allowed, ...appReads]) assert.ok(rule.resourceNames.includes(name), `${variant}: resourceNames include ${name}`);
  }
}

async function render(dir: string): Promise<Obj[]> {
  const r = await pexec("kubectl", ["kustomize", dir], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp" } });
  return documents(r.stdout, dir);
}

interface PodRun {
  api: KubeApiTestServer;
  appLine: string;
  probes: number[];
  output: string;
}

/**
 * Runs the manifests' pod here: the cluster state they create (Secrets, the Role enforced by the API test
 * server), the service-account mount, the ConfigMap files at their mount paths, the keyward container's
 * args and env (ports and listen address mapped to free loopback ones), its probes, then the app
 * container's command until it prints its first line.
 */
async function simulatePod(objs: Obj[], role: PolicyRule[] = one<{ rules: PolicyRule[] }>(objs, "Role").rules): Promise<PodRun> {
  const ns = one<Obj>(objs, "Namespace").metadata?.name as string;
  const api = await KubeApiTestServer.start({ namespaces: [ns] });
  try {
    const values: string[] = [];
    for (const o of objs.filter((x) => x.kind === "Secret")) {
      const data: Record<string, string> = {};
      for (const [k, v] of Object.entries((o.data ?? {}) as Record<string, string>)) data[k] = Buffer.from(v, "base64").toString("utf8");
      Object.assign(data, (o.stringData ?? {}) as Record<string, string>);
      values.push(...Object.values(data));
      api.putSecret(ns, o.metadata?.name as string, data);
    }
    api.setRole(ns, role);
    const root = mkdtempSync(join(tmpdir(), "keyward-pod-"));
    const sa = join(root, "serviceaccount");
    mkdirSync(sa);
    writeFileSync(join(sa, "token"), api.token);
    writeFileSync(join(sa, "ca.crt"), api.tls.ca);
    writeFileSync(join(sa, "namespace"), ns);

    const pod = podOf(objs);
    const kw = keywardContainer(pod);
    const app = pod.containers.find((c) => c !== kw) as Container;
    const cm = one<{ metadata: { name: string }; data: Record<string, string> }>(objs, "ConfigMap");
    const mounts = new Map<string, string>();
    for (const m of kw.volumeMounts ?? []) {
      const local = join(root, "mounts", m.mountPath);
      mkdirSync(local, { recursive: true });
      mounts.set(m.mountPath, local);
      const vol = pod.volumes?.find((v) => v.name === m.name);
      if (vol?.configMap) {
        assert.equal(vol.configMap.name, cm.metadata.name);
        for (const item of vol.configMap.items ?? Object.keys(cm.data).map((k) => ({ key: k, path: k }))) writeFileSync(join(local, item.path), cm.data[item.key] as string);
      }
    }
    const local = (value: string): string => {
      for (const [mp, dir] of mounts) if (value === mp || value.startsWith(`${mp}/`)) return dir + value.slice(mp.length);
      return value;
    };
    const apiToken = `pod-token-${process.pid}`;
    const envOf = (c: Container): Record<string, string> => {
      const env: Record<string, string> = {};
      for (const e of c.env ?? []) {
        if (e.value !== undefined) env[e.name] = e.value;
        else if (e.valueFrom?.fieldRef) env[e.name] = e.valueFrom.fieldRef.fieldPath === "metadata.namespace" ? ns : "order-processor-0";
        else if (e.valueFrom?.secretKeyRef) env[e.name] = apiToken;
      }
      return env;
    };
    const args: string[] = [];
    for (const a of kw.args ?? []) {
      const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
      const name = m?.[1] ?? "";
      // The helper picks free ports and the app id, and reads the text log; tests stay on 127.0.0.1.
      if (["app-id", "dapr-http-port", "dapr-grpc-port", "metrics-port", "log-as-json"].includes(name)) continue;
      if (name === "dapr-listen-addresses") args.push("--dapr-listen-addresses=127.0.0.1");
      else args.push(m?.[2] !== undefined ? `--${name}=${local(m[2])}` : local(a));
    }
    const sidecar = await startSidecar({
      appId: flag(kw.args ?? [], "app-id") as string,
      resourcesArgs: [],
      args,
      env: { ...envOf(kw), KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: String(api.port), KEYWARD_SERVICE_ACCOUNT_DIR: sa },
    });
    try {
      const probes: number[] = [];
      for (const probe of [kw.startupProbe, kw.readinessProbe, kw.livenessProbe]) {
        const res = await fetch(`${sidecar.httpUrl}${probe?.httpGet?.path ?? "/"}`);
        probes.push(res.status);
      }
      const [cmd, ...cmdArgs] = app.command ?? [];
      assert.equal(cmd, "node");
      const appEnv = { ...envOf(app), DAPR_HTTP_PORT: String(sidecar.httpPort), DAPR_GRPC_PORT: String(sidecar.grpcPort), PATH: process.env.PATH ?? "" };
      const child = spawn(process.execPath, cmdArgs, { env: appEnv, stdio: ["ignore", "pipe", "pipe"] });
      const appLine = await new Promise<string>((resolve, reject) => {
        let out = "";
        const timer = setTimeout(() => reject(new Error(`the app printed nothing: ${out}`)), 30_000);
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          if (out.includes("\n")) {
            clearTimeout(timer);
            resolve(out.split("\n")[0] as string);
          }
        });
        child.stderr.on("data", (d: Buffer) => (out += d.toString()));
      });
      child.kill();
      const output = sidecar.output();
      for (const v of [...values, apiToken, api.token]) assert.ok(!output.includes(v), "the sidecar logs no secret value or token");
      return { api, appLine, probes, output };
    } finally {
      assert.equal(await sidecar.stop(), 0, sidecar.output());
    }
  } finally {
    await api.close();
  }
}

describe("deploy/kubernetes manifests", () => {
  const objs = baseObjects();

  it("every object has apiVersion, kind, name, and the one namespace", () => {
    const ns = one<Obj>(objs, "Namespace").metadata?.name;
    assert.ok(ns);
    for (const o of objs) {
      assert.ok(o.apiVersion && o.kind && o.metadata?.name, `required fields: ${JSON.stringify(o).slice(0, 80)}`);
      if (o.kind !== "Namespace") assert.equal(o.metadata?.namespace, ns, `${o.kind} ${o.metadata?.name} is in ${ns}`);
    }
    const kinds = objs.map((o) => o.kind).sort();
    for (const k of ["ConfigMap", "Deployment", "Role", "RoleBinding", "ServiceAccount"]) assert.ok(kinds.includes(k), `has a ${k}`);
  });

  it("each kustomization lists every manifest of its folder", () => {
    for (const dir of [DEPLOY, join(DEPLOY, "watch")]) {
      const k = parse(readFileSync(join(dir, "kustomization.yaml"), "utf8")) as { resources: string[] };
      const files = readdirSync(dir).filter((n) => n.endsWith(".yaml") && n !== "kustomization.yaml").sort();
      assert.deepEqual([...k.resources].sort(), files, dir);
    }
  });

  it("the RoleBinding gives the Role to the Deployment's ServiceAccount", () => {
    const sa = one<Obj>(objs, "ServiceAccount");
    const role = one<Obj>(objs, "Role");
    const rb = one<{ roleRef: { apiGroup: string; kind: string; name: string }; subjects: { kind: string; name: string; namespace?: string }[] }>(objs, "RoleBinding");
    assert.deepEqual(rb.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata?.name });
    assert.deepEqual(rb.subjects, [{ kind: "ServiceAccount", name: sa.metadata?.name, namespace: sa.metadata?.namespace }]);
    assert.equal(podOf(objs).serviceAccountName, sa.metadata?.name);
  });

  it("the Deployment runs the app and Keyward side by side, wired to each other", () => {
    const dep = one<{ spec: { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> } } } }>(objs, "Deployment");
    for (const [k, v] of Object.entries(dep.spec.selector.matchLabels)) assert.equal(dep.spec.template.metadata.labels[k], v, "selector matches the pod labels");
    const pod = podOf(objs);
    assert.equal(pod.containers.length, 2);
    const kw = keywardContainer(pod);
    const app = pod.containers.find((c) => c !== kw) as Container;
    const args = kw.args ?? [];
    const httpPort = Number(flag(args, "dapr-http-port") ?? 3500);
    const grpcPort = Number(flag(args, "dapr-grpc-port") ?? 50001);
    assert.equal(httpPort, 3500);
    assert.equal(grpcPort, 50001);
    assert.equal(kw.ports?.find((p) => p.name === "http")?.containerPort, httpPort);
    assert.equal(kw.ports?.find((p) => p.name === "grpc")?.containerPort, grpcPort);
    assert.ok(flag(args, "app-id"), "--app-id is set");
    assert.ok(args.includes("--strict"), "--strict: a resource warning stops the pod instead of being skipped");
    const appEnv = Object.fromEntries((app.env ?? []).map((e) => [e.name, e]));
    assert.equal(appEnv.DAPR_HTTP_PORT?.value, String(httpPort), "the app is told the sidecar's HTTP port");
    assert.equal(appEnv.DAPR_GRPC_PORT?.value, String(grpcPort), "and its gRPC port");
    const kwEnv = Object.fromEntries((kw.env ?? []).map((e) => [e.name, e]));
    assert.equal(kwEnv.NAMESPACE?.valueFrom?.fieldRef?.fieldPath, "metadata.namespace", "NAMESPACE from the downward API");
  });

  it("probes hit /v1.0/healthz on the HTTP port, which listens where the kubelet can reach it, behind a token", () => {
    const kw = keywardContainer(podOf(objs));
    const args = kw.args ?? [];
    const httpPort = Number(flag(args, "dapr-http-port") ?? 3500);
    for (const name of ["startupProbe", "readinessProbe", "livenessProbe"] as const) {
      const probe = kw[name];
      assert.ok(probe?.httpGet, `${name} is an HTTP probe`);
      assert.equal(probe.httpGet.path, "/v1.0/healthz");
      const port = typeof probe.httpGet.port === "number" ? probe.httpGet.port : kw.ports?.find((p) => p.name === probe.httpGet?.port)?.containerPort;
      assert.equal(port, httpPort, `${name} targets the HTTP API port`);
    }
    const listen = (flag(args, "dapr-listen-addresses") ?? "127.0.0.1").split(",");
    assert.ok(listen.some((a) => a === "0.0.0.0" || a === "[::]" || a === "::"), "kubelet probes connect to the pod IP, not loopback");
    const token = (kw.env ?? []).find((e) => e.name === "DAPR_API_TOKEN");
    assert.ok(token?.valueFrom?.secretKeyRef, "a non-loopback API requires the API token, from a Secret");
    assert.ok(!objs.some((o) => o.kind === "Secret" && o.metadata?.name === token.valueFrom?.secretKeyRef?.name), "the token Secret is created by the operator, never committed");
    const np = objs.find((o) => o.kind === "NetworkPolicy") as { spec: { policyTypes: string[]; ingress: unknown[] } } | undefined;
    assert.ok(np && np.spec.policyTypes.includes("Ingress") && np.spec.ingress.length === 0, "ingress to the pod is denied");
  });

  it("both containers are hardened: non-root, read-only root file system, no privilege escalation, no capabilities", () => {
    const pod = podOf(objs);
    for (const c of pod.containers) {
      const sc = c.securityContext ?? {};
      assert.ok(sc.runAsNonRoot === true || pod.securityContext?.runAsNonRoot === true, `${c.name} runs as non-root`);
      assert.equal(sc.readOnlyRootFilesystem, true, `${c.name} read-only root`);
      assert.equal(sc.allowPrivilegeEscalation, false, `${c.name} no privilege escalation`);
      assert.deepEqual(sc.capabilities?.drop, ["ALL"], `${c.name} drops capabilities`);
      assert.ok(c.resources?.limits?.memory, `${c.name} has a memory limit`);
    }
    const kw = keywardContainer(pod);
    for (const m of kw.volumeMounts ?? []) if (m.mountPath !== "/tmp") assert.equal(m.readOnly, true, `${m.mountPath} mounted read-only`);
  });

  it("base: the Role grants exactly what the mounted components use (get, on named Secrets)", () => {
    checkRbac(objs, "base");
    const rule = one<{ rules: Rule[] }>(objs, "Role").rules[0] as Rule;
    assert.deepEqual(rule.verbs, ["get"]);
    assert.ok(rule.resourceNames && rule.resourceNames.length > 0, "read-through access is narrowed to named Secrets");
  });

  it("the kustomizations render; the watch variant's Role adds list and watch for its watch component", async () => {
    const top = await render(DEPLOY);
    assert.equal(top.length, objs.length);
    checkRbac(top, "deploy/kubernetes");
    assert.deepEqual((await render(join(DEPLOY, "watch"))).map((o) => o.kind).sort(), ["ConfigMap", "Role"]);
    const watch = watchObjects();
    const { components } = mountedResources(watch);
    assert.deepEqual(requiredVerbs(components), ["get", "list", "watch"], "the watch variant mounts a component with watch: true");
    checkRbac(watch, "watch");
    const config = (o: Obj[]) => one<{ data: Record<string, string> }>(o, "ConfigMap").data["config.yaml"];
    assert.equal(config(watch), config(objs), "both variants carry the same Configuration");
  });
});

describe("the manifests' pod, simulated against the Kubernetes API test server", () => {
  it("base: probes pass, the app reads mysecret, and the Role's get on named Secrets is all it takes", async () => {
    const run = await simulatePod(baseObjects());
    assert.deepEqual(run.probes, [204, 204, 204]);
    assert.equal(run.appLine, "read mysecret: keys password, username");
    assert.deepEqual(run.api.requests.filter((r) => r.status === 403).map((r) => `${r.verb} ${r.path}`), [], "nothing the Role refuses");
    assert.ok(run.api.count({ verb: "get", name: "mysecret" }) >= 1, "read through with get");
    assert.equal(run.api.count({ verb: "list" }) + run.api.count({ verb: "watch" }), 0, "no list or watch needed");
  });

  it("watch: the Role's list and watch let the component serve the app from its copy", async () => {
    const run = await simulatePod(watchObjects());
    assert.deepEqual(run.probes, [204, 204, 204]);
    assert.equal(run.appLine, "read mysecret: keys password, username");
    assert.deepEqual(run.api.requests.filter((r) => r.status === 403).map((r) => `${r.verb} ${r.path}`), []);
    assert.equal(run.api.count({ verb: "list", namespace: "keyward-demo" }), 1);
    assert.ok(run.api.count({ verb: "watch", namespace: "keyward-demo" }) >= 1);
    assert.equal(run.api.count({ verb: "get" }), 0, "the app's read never reached the API server");
  });

  it("the simulation catches a Role too narrow for the components (watch component, get-only Role)", async () => {
    const baseRole = one<{ rules: PolicyRule[] }>(baseObjects(), "Role").rules;
    const run = await simulatePod(watchObjects(), baseRole);
    assert.ok(run.api.requests.some((r) => r.verb === "list" && r.status === 403), "list refused");
    assert.match(run.output, /cannot list secrets/);
  });
});

describe("Dockerfile", () => {
  const text = readFileSync(join(REPO_ROOT, "Dockerfile"), "utf8");
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  const stages: { name: string; lines: string[] }[] = [];
  for (const l of lines) {
    const m = /^FROM\s+\S+(?:\s+AS\s+(\S+))?$/i.exec(l);
    if (m) stages.push({ name: m[1] ?? "", lines: [] });
    else stages[stages.length - 1]?.lines.push(l);
  }
  const final = stages[stages.length - 1] as { name: string; lines: string[] };

  it("is multi-stage: the runtime stage copies build output and installs nothing", () => {
    assert.ok(stages.length >= 2, "at least two stages");
    assert.ok(final.lines.some((l) => /^COPY\s+--from=\S+/i.test(l)), "the final stage copies from an earlier one");
    assert.ok(!final.lines.some((l) => /\bnpm\s+(ci|install)\b|\btsc\b/.test(l)), "no installs or compiles in the final stage");
  });

  it("runs as a numeric non-root user, the one the Deployment expects", () => {
    const user = final.lines.filter((l) => /^USER\s/i.test(l)).pop();
    assert.ok(user, "the final stage sets USER");
    const uid = (user.split(/\s+/)[1] ?? "").split(":")[0] ?? "";
    assert.match(uid, /^\d+$/, "numeric, so runAsNonRoot can be verified");
    assert.notEqual(Number(uid), 0);
    assert.equal(podOf(baseObjects()).securityContext?.runAsUser, Number(uid));
  });

  it("enters through bin/keyward serve and exposes the API ports", () => {
    const entry = final.lines.find((l) => /^ENTRYPOINT\s/i.test(l)) ?? "";
    const argv = JSON.parse(entry.replace(/^ENTRYPOINT\s+/i, "")) as string[];
    assert.ok(argv.some((a) => a.endsWith("bin/keyward")), entry);
    assert.equal(argv[argv.length - 1], "serve");
    // Node's flags go before the script; the young-generation cap is what keeps Node 24's RSS after load down.
    const nodeFlags = argv.slice(1, argv.findIndex((a) => a.endsWith("bin/keyward")));
    assert.deepEqual(nodeFlags, ["--max-semi-space-size=2"], entry);
    const exposed = final.lines.filter((l) => /^EXPOSE\s/i.test(l)).flatMap((l) => l.split(/\s+/).slice(1));
    for (const p of ["3500", "50001"]) assert.ok(exposed.includes(p), `exposes ${p}`);
  });

  it("runs on Node 24 LTS with the vendored Dapr protos next to dist/", () => {
    assert.match(text, /^ARG NODE_IMAGE=node:24[-.]/m);
    assert.ok(final.lines.includes("COPY proto ./proto"), "the runtime stage copies proto/");
  });

  it("ships the bundled artefact npm pack ships, not tsc's output", () => {
    assert.ok(final.lines.some((l) => /^COPY\s+--from=\S+\s+\S*dist\/keyward\s/.test(l)), "copies dist/keyward");
    assert.ok(!final.lines.some((l) => /dist\/src\b/.test(l)), "no dist/src in the runtime stage");
    const build = stages.find((s) => s.lines.some((l) => /\bscripts\/bundle\.mjs\b/.test(l) && /^RUN\s/.test(l)));
    assert.ok(build, "a stage runs scripts/bundle.mjs");
    const ignored = readFileSync(join(REPO_ROOT, ".dockerignore"), "utf8").split("\n").map((l) => l.trim());
    assert.ok(ignored.includes("!scripts/bundle.mjs"), "the bundle script is in the build context");
  });

  it(".dockerignore keeps local builds, dependencies, git and tests out of the context", () => {
    const ignored = readFileSync(join(REPO_ROOT, ".dockerignore"), "utf8").split("\n").map((l) => l.trim());
    for (const p of ["node_modules", "dist", ".git", "test", ".build-*"]) assert.ok(ignored.includes(p), `ignores ${p}`);
  });
});
