/**
 * @module daprd's flags that have no meaning for a secrets sidecar. `keyward serve` accepts them so that
 * existing daprd command lines and manifests carry over, checks each value's form as daprd would, and
 * names them in one start-up line as ignored.
 */
import { isIP } from "node:net";
import { parseQuantity, UsageError, type FlagSpec, type ParsedFlags } from "./flags.js";

type Form = "port" | "int" | "uint" | "bool" | "duration" | "quantity" | "protocol" | "address" | "text";

/** Name, value form, what daprd does with it. */
const IGNORED: readonly [string, Form, string][] = [
  ["app-port", "port", "the port the app listens on (Keyward never calls the app)"],
  ["app-health-port", "port", "the app's health port"],
  ["app-protocol", "protocol", "how daprd talks to the app"],
  ["app-ssl", "bool", "TLS to the app (deprecated in daprd)"],
  ["app-max-concurrency", "int", "concurrency of calls into the app"],
  ["app-channel-address", "address", "the app's address"],
  ["enable-app-health-check", "bool", "app health checks"],
  ["app-health-check-path", "text", "app health check path"],
  ["app-health-probe-interval", "int", "app health probe interval"],
  ["app-health-probe-timeout", "int", "app health probe timeout"],
  ["app-health-threshold", "int", "app health failure threshold"],
  ["dapr-public-port", "port", "daprd's public health port"],
  ["dapr-public-listen-address", "address", "daprd's public listen address"],
  ["dapr-internal-grpc-port", "port", "daprd-to-daprd gRPC port"],
  ["dapr-internal-grpc-listen-address", "address", "daprd-to-daprd gRPC address"],
  ["profile-port", "port", "pprof port"],
  ["enable-profiling", "bool", "pprof profiling"],
  ["enable-mtls", "bool", "daprd-to-daprd mTLS"],
  ["sentry-address", "address", "the Sentry CA"],
  ["sentry-request-jwt-audiences", "text", "Sentry JWT audiences"],
  ["control-plane-address", "address", "the control plane (operator)"],
  ["control-plane-trust-domain", "text", "the control plane trust domain"],
  ["control-plane-namespace", "text", "the control plane namespace"],
  ["placement-host-address", "address", "actor placement"],
  ["scheduler-host-address", "address", "the scheduler service"],
  ["scheduler-job-streams", "uint", "scheduler job streams"],
  ["actors-service", "text", "actors service (type:address)"],
  ["reminders-service", "text", "reminders service (type:address)"],
  ["allowed-origins", "text", "CORS origins"],
  ["wait", "bool", "wait for outbound readiness"],
  ["read-buffer-size", "quantity", "HTTP header read buffer"],
  ["dapr-http-read-buffer-size", "int", "HTTP header read buffer in KB (deprecated in daprd)"],
  ["dapr-block-shutdown-duration", "duration", "block shutdown until the app is unhealthy"],
];

/** daprd flags Keyward accepts but does nothing with; their help says so. */
export const DAPRD_IGNORED_FLAGS: readonly FlagSpec[] = IGNORED.map(([name, form, what]) => ({
  name,
  kind:
    form === "bool"
      ? "bool"
      : name === "scheduler-host-address" || name === "sentry-request-jwt-audiences"
        ? "list"
        : "string",
  value: form === "text" || form === "bool" ? "VALUE" : form.toUpperCase(),
  help: `accepted for daprd compatibility and ignored: ${what}`,
}));

/** daprd flags Keyward gives their daprd meaning. */
export const DAPRD_HONOURED_FLAGS: readonly FlagSpec[] = [
  {
    name: "dapr-http-max-request-size",
    kind: "int",
    value: "MB",
    help: "largest request body in MB (daprd's deprecated form of --max-body-size)",
  },
  {
    name: "disable-builtin-k8s-secret-store",
    kind: "bool",
    default: "false",
    help: "in Kubernetes mode, do not add the built-in kubernetes secret store",
  },
  { name: "unix-domain-socket", kind: "string", value: "DIR", help: "not supported: Keyward listens on TCP only" },
  { name: "version", kind: "bool", help: "print the version and exit" },
  { name: "build-info", kind: "bool", help: "print the version and exit" },
];

const FORMS = new Map(IGNORED.map(([name, form]) => [name, form]));

/** Checks the form of every ignored flag given; returns their names as `--name`, in command-line order. */
export function checkIgnoredFlags(flags: ParsedFlags): string[] {
  const given: string[] = [];
  for (const [name, value] of flags) {
    const form = FORMS.get(name);
    if (form === undefined) continue;
    given.push(`--${name}`);
    for (const v of Array.isArray(value) ? value : [value]) if (typeof v === "string") checkForm(name, form, v);
  }
  return given;
}

function checkForm(name: string, form: Form, value: string): void {
  const bad = (why: string) => new UsageError(`invalid value ${JSON.stringify(value)} for --${name}: ${why}`);
  switch (form) {
    case "port": {
      if (value === "") return;
      const n = Number(value);
      if (!/^\d+$/.test(value) || n > 65535) throw bad("not a port (0-65535)");
      return;
    }
    case "int":
      if (!/^-?\d+$/.test(value)) throw bad("not an integer");
      return;
    case "uint":
      if (!/^\d+$/.test(value)) throw bad("not a non-negative integer");
      return;
    case "duration":
      if (!/^-?((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+$|^0$/.test(value))
        throw bad("not a duration such as 5s or 1m30s");
      return;
    case "quantity":
      parseQuantity(value, name);
      return;
    case "protocol":
      if (!["grpc", "grpcs", "http", "https", "h2c"].includes(value.toLowerCase()))
        throw bad("use grpc, grpcs, http, https or h2c");
      return;
    case "address":
      for (const a of value.split(","))
        if (a.trim() !== "" && !isAddress(a.trim())) throw bad("not a host or host:port");
      return;
    case "bool":
      return;
    case "text":
      if (value.includes("\0")) throw bad("contains a NUL byte");
  }
}

/** host, host:port, [v6]:port or a bare IP. */
function isAddress(a: string): boolean {
  if (isIP(a.replace(/^\[(.*)\]$/, "$1")) !== 0) return true;
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]*)(?::(\d{1,5}))?$/i.exec(a);
  if (!m) return false;
  if (m[2] !== undefined && Number(m[2]) > 65535) return false;
  return m[1] !== "" || m[2] !== undefined;
}
