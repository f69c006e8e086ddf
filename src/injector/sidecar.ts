/**
 * @module What the injector adds to an annotated pod, as an RFC 6902 JSON patch: the `keyward` container
 * (a native sidecar when the cluster has them), a scratch volume, the app containers' DAPR_* environment and
 * a marker annotation. Annotation values become single `--flag=value` arguments (no shell), each checked.
 */

export interface InjectorSettings {
  image: string;
  /** Add the sidecar as an init container with restartPolicy Always (Kubernetes >= 1.29). */
  nativeSidecars: boolean;
  /** Honour `dapr.io/*` annotations too (`keyward.io/*` wins). */
  daprAnnotations: boolean;
  /** Let pods pick the sidecar image with `keyward.io/image`. */
  allowImageOverride: boolean;
}

export type JsonPatch = { op: "add"; path: string; value: unknown }[];

interface Container {
  name?: string;
  env?: { name?: string }[];
}

export interface PodLike {
  metadata?: { name?: string; generateName?: string; annotations?: Record<string, string> };
  spec?: { containers?: Container[]; initContainers?: Container[]; volumes?: unknown[] };
}

export const SIDECAR_NAME = "keyward";
export const INJECTED_ANNOTATION = "keyward.io/injected";

/** A refused pod: its annotations ask for something invalid. */
export class AnnotationError extends Error {}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const APP_ID = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$/;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$/;
const IMAGE = /^[A-Za-z0-9][A-Za-z0-9._\-/:@]{0,254}$/;
const LEVELS = new Set(["debug", "info", "warn", "error", "fatal"]);

/** RFC 6901: `~` and `/` in a key must be escaped in a JSON pointer. */
export function pointer(...parts: (string | number)[]): string {
  return parts.map((p) => "/" + String(p).replaceAll("~", "~0").replaceAll("/", "~1")).join("");
}

/** Whether the pod asks for Keyward and is not injected yet; reasons for a no-op otherwise. */
export function wantsSidecar(pod: PodLike, s: InjectorSettings): { inject: boolean; reason: string } {
  const a = annotations(pod, s);
  if (a("enabled")?.toLowerCase() !== "true") return { inject: false, reason: "not annotated keyward.io/enabled" };
  const names = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].map((c) => c.name);
  if (names.includes(SIDECAR_NAME) || pod.metadata?.annotations?.[INJECTED_ANNOTATION] !== undefined)
    return { inject: false, reason: "already injected" };
  return { inject: true, reason: "" };
}

/** The patch adding the sidecar; throws AnnotationError for an invalid annotation. */
export function sidecarPatch(pod: PodLike, s: InjectorSettings): JsonPatch {
  const a = annotations(pod, s);
  const appId = check(a("app-id") ?? defaultAppId(pod), "app-id", (v) => APP_ID.test(v));
  const httpPort = portOf(a("http-port"), 3500, "http-port");
  const grpcPort = portOf(a("grpc-port"), 50001, "grpc-port");
  const config = optional(a("config"), "config", (v) => NAME.test(v) && v.length <= 253);
  const tokenSecret = optional(a("api-token-secret"), "api-token-secret", (v) => NAME.test(v) && v.length <= 253);
  const level = check(a("log-level") ?? "info", "log-level", (v) => LEVELS.has(v));
  const image = s.allowImageOverride ? check(a("image") ?? s.image, "image", (v) => IMAGE.test(v)) : s.image;
  const resources = {
    requests: {
      cpu: quantity(a("sidecar-cpu-request") ?? "50m", "sidecar-cpu-request"),
      memory: quantity(a("sidecar-memory-request") ?? "64Mi", "sidecar-memory-request"),
    },
    limits: {
      memory: quantity(a("sidecar-memory-limit") ?? "256Mi", "sidecar-memory-limit"),
      ...(a("sidecar-cpu-limit") ? { cpu: quantity(a("sidecar-cpu-limit"), "sidecar-cpu-limit") } : {}),
    },
  };
  const token = tokenSecret
    ? [{ name: "DAPR_API_TOKEN", valueFrom: { secretKeyRef: { name: tokenSecret, key: "token" } } }]
    : [];
  const probe = (periodSeconds: number, failureThreshold: number) => ({
    httpGet: { path: "/v1.0/healthz", port: httpPort },
    periodSeconds,
    failureThreshold,
  });
  const container = {
    name: SIDECAR_NAME,
    image,
    imagePullPolicy: "IfNotPresent",
    args: [
      `--app-id=${appId}`,
      "--mode=kubernetes",
      `--dapr-http-port=${httpPort}`,
      `--dapr-grpc-port=${grpcPort}`,
      // Probes come from the kubelet to the pod IP; with a token set, every other caller must present it.
      "--dapr-listen-addresses=0.0.0.0",
      `--log-level=${level}`,
      ...(config ? [`--config=${config}`] : []),
      ...(flag(a("log-as-json"), "log-as-json") ? ["--log-as-json"] : []),
      ...(flag(a("enable-api-logging"), "enable-api-logging") ? ["--enable-api-logging"] : []),
    ],
    env: [
      { name: "NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
      { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      ...token,
    ],
    ports: [
      { name: "keyward-http", containerPort: httpPort, protocol: "TCP" },
      { name: "keyward-grpc", containerPort: grpcPort, protocol: "TCP" },
      { name: "keyward-metric", containerPort: 9090, protocol: "TCP" },
    ],
    startupProbe: probe(1, 30),
    readinessProbe: probe(5, 3),
    livenessProbe: probe(10, 3),
    resources,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    },
    volumeMounts: [{ name: "keyward-tmp", mountPath: "/tmp" }],
    ...(s.nativeSidecars ? { restartPolicy: "Always" } : {}),
  };
  const patch: JsonPatch = [];
  const spec = pod.spec ?? {};
  if (s.nativeSidecars) {
    // First among init containers, so the others can already read secrets through it.
    if (spec.initContainers) patch.push({ op: "add", path: pointer("spec", "initContainers", 0), value: container });
    else patch.push({ op: "add", path: pointer("spec", "initContainers"), value: [container] });
  } else {
    patch.push({ op: "add", path: pointer("spec", "containers", "-"), value: container });
  }
  const volume = { name: "keyward-tmp", emptyDir: { sizeLimit: "16Mi" } };
  if (spec.volumes) patch.push({ op: "add", path: pointer("spec", "volumes", "-"), value: volume });
  else patch.push({ op: "add", path: pointer("spec", "volumes"), value: [volume] });
  const appEnv = [
    { name: "DAPR_HTTP_PORT", value: String(httpPort) },
    { name: "DAPR_GRPC_PORT", value: String(grpcPort) },
    ...token,
  ];
  (spec.containers ?? []).forEach((c, i) => {
    // A variable the app sets itself stays as it is.
    const add = appEnv.filter((e) => !(c.env ?? []).some((x) => x.name === e.name));
    if (!c.env) patch.push({ op: "add", path: pointer("spec", "containers", i, "env"), value: add });
    else for (const e of add) patch.push({ op: "add", path: pointer("spec", "containers", i, "env", "-"), value: e });
  });
  if (pod.metadata?.annotations)
    patch.push({ op: "add", path: pointer("metadata", "annotations", INJECTED_ANNOTATION), value: "true" });
  else patch.push({ op: "add", path: pointer("metadata", "annotations"), value: { [INJECTED_ANNOTATION]: "true" } });
  return patch;
}

/** Reads `keyward.io/NAME`, else with --dapr-annotations `dapr.io/NAME`. */
function annotations(pod: PodLike, s: InjectorSettings): (name: string) => string | undefined {
  const all = pod.metadata?.annotations ?? {};
  return (name) => {
    const own = all[`keyward.io/${name}`];
    if (typeof own === "string") return own;
    const dapr = s.daprAnnotations ? all[`dapr.io/${name}`] : undefined;
    return typeof dapr === "string" ? dapr : undefined;
  };
}

/** As Dapr: the pod's name, or for a controller's pod its generateName without the trailing dash. */
function defaultAppId(pod: PodLike): string {
  return pod.metadata?.name || (pod.metadata?.generateName ?? "").replace(/-+$/, "");
}

function check(value: string, name: string, ok: (v: string) => boolean): string {
  if (!ok(value))
    throw new AnnotationError(`invalid annotation keyward.io/${name}: ${JSON.stringify(value.slice(0, 80))}`);
  return value;
}

function optional(value: string | undefined, name: string, ok: (v: string) => boolean): string | undefined {
  return value === undefined || value === "" ? undefined : check(value, name, ok);
}

function quantity(value: string | undefined, name: string): string {
  return check(value ?? "", name, (v) => QUANTITY.test(v));
}

function portOf(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  check(value, name, (v) => /^[0-9]{1,5}$/.test(v) && Number(v) >= 1 && Number(v) <= 65535);
  return Number(value);
}

function flag(value: string | undefined, name: string): boolean {
  if (value === undefined) return false;
  return check(value.toLowerCase(), name, (v) => v === "true" || v === "false") === "true";
}
