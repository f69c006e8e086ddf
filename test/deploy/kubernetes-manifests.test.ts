/**
 * Static checks of deploy/kubernetes and the Dockerfile: they are not applied to a live cluster in CI, so
 * everything that can be checked by reading them is: required fields, the sidecar's wiring (ports, probes,
 * mounts, env), hardening, and that the Role grants exactly the verbs the ConfigMap's components need.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { parse, parseAllDocuments } from "yaml";
import { REPO_ROOT } from "../helpers/paths.js";

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

function baseObjects(): Obj[] {
  const dir = join(DEPLOY, "base");
  const out: Obj[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".yaml") && n !== "kustomization.yaml")) out.push(...documents(readFileSync(join(dir, f), "utf8"), f));
  return out;
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

  it("the kustomization lists every manifest", () => {
    const k = parse(readFileSync(join(DEPLOY, "base", "kustomization.yaml"), "utf8")) as { resources: string[] };
    const files = readdirSync(join(DEPLOY, "base")).filter((n) => n.endsWith(".yaml") && n !== "kustomization.yaml").sort();
    assert.deepEqual([...k.resources].sort(), files);
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

  it("the kustomizations render, and the watch variant's Role adds list and watch for its watch component", async () => {
    const render = async (dir: string): Promise<Obj[]> => {
      const r = await pexec("kubectl", ["kustomize", dir], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp" } });
      return documents(r.stdout, dir);
    };
    const top = await render(DEPLOY);
    assert.equal(top.length, objs.length);
    checkRbac(top, "deploy/kubernetes");
    const watch = await render(join(DEPLOY, "watch"));
    const { components } = mountedResources(watch);
    assert.deepEqual(requiredVerbs(components), ["get", "list", "watch"], "the watch variant mounts a component with watch: true");
    checkRbac(watch, "watch");
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
    const exposed = final.lines.filter((l) => /^EXPOSE\s/i.test(l)).flatMap((l) => l.split(/\s+/).slice(1));
    for (const p of ["3500", "50001"]) assert.ok(exposed.includes(p), `exposes ${p}`);
  });

  it(".dockerignore keeps local builds, dependencies, git and tests out of the context", () => {
    const ignored = readFileSync(join(REPO_ROOT, ".dockerignore"), "utf8").split("\n").map((l) => l.trim());
    for (const p of ["node_modules", "dist", ".git", "test", ".build-*"]) assert.ok(ignored.includes(p), `ignores ${p}`);
  });
});
