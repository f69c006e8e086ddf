/** @module The flags of `keyward serve`, with daprd's names and defaults (safer listen address). */
import { DAPRD_HONOURED_FLAGS, DAPRD_IGNORED_FLAGS } from "./daprd-flags.js";
import type { FlagSpec } from "./flags.js";

export const SERVE_FLAGS: readonly FlagSpec[] = [
  {
    name: "app-id",
    kind: "string",
    value: "ID",
    help: "the app's id; components' scopes and secret scopes use it (env APP_ID when unset)",
  },
  {
    name: "resources-path",
    aliases: ["components-path"],
    kind: "list",
    value: "DIR",
    help: "folder of Component/Resiliency YAML files; repeatable. In Kubernetes mode, without it the namespace's dapr.io resources are read from the API server",
  },
  {
    name: "config",
    kind: "list",
    value: "FILE",
    help: "Configuration YAML (secret scopes, API allow lists); repeatable, later files win. In Kubernetes mode without --resources-path: the name of a Configuration resource",
  },
  { name: "dapr-http-port", kind: "int", default: "3500", value: "PORT", help: "HTTP API port; 0 picks a free one" },
  { name: "dapr-grpc-port", kind: "int", default: "50001", value: "PORT", help: "gRPC API port; 0 picks a free one" },
  {
    name: "dapr-listen-addresses",
    kind: "string",
    default: "127.0.0.1",
    value: "ADDRS",
    help: "comma-separated addresses the APIs listen on (use 0.0.0.0 in a pod only if other containers must reach it)",
  },
  { name: "metrics-port", kind: "int", default: "9090", value: "PORT", help: "Prometheus metrics port" },
  {
    name: "metrics-listen-address",
    kind: "string",
    default: "127.0.0.1",
    value: "ADDR",
    help: "address the metrics server listens on",
  },
  { name: "enable-metrics", kind: "bool", default: "true", help: "serve Prometheus metrics on /metrics" },
  { name: "log-level", kind: "string", default: "info", value: "LEVEL", help: "debug, info, warn, error or fatal" },
  { name: "log-as-json", kind: "bool", default: "false", help: "print logs as JSON lines" },
  {
    name: "enable-api-logging",
    kind: "bool",
    default: "false",
    help: "log every API call (method, path, status, duration; never values)",
  },
  {
    name: "audit-log",
    kind: "string",
    value: "PATH",
    help: "append one JSON line per secret access and refusal to PATH (- for stdout); never a value or token; SIGHUP reopens it",
  },
  {
    name: "audit-log-required",
    kind: "bool",
    default: "false",
    help: "refuse an access whose audit line cannot be written (needs --audit-log)",
  },
  {
    name: "dapr-graceful-shutdown-seconds",
    kind: "int",
    default: "5",
    value: "N",
    help: "how long in-flight requests get to finish on shutdown",
  },
  {
    name: "max-body-size",
    kind: "string",
    default: "4Mi",
    value: "SIZE",
    help: "largest request body and gRPC message",
  },
  {
    name: "mode",
    kind: "string",
    default: "",
    value: "MODE",
    help: "standalone or kubernetes (default: kubernetes inside a pod, else standalone)",
  },
  {
    name: "kubeconfig",
    kind: "string",
    value: "FILE",
    help: "kubeconfig for Kubernetes secret stores that set no kubeconfigPath (daprd's deprecated flag; KUBECONFIG works too)",
  },
  {
    name: "strict",
    kind: "bool",
    default: "false",
    help: "treat every resource warning (skipped document, YAML error, unknown metadata name, secret scope for no store) as a start-up error",
  },
  ...DAPRD_HONOURED_FLAGS,
  ...DAPRD_IGNORED_FLAGS,
  { name: "help", aliases: ["h"], kind: "bool", help: "show this help" },
];

export const SERVE_USAGE = `Usage: keyward serve [flags]

Serves daprd's secrets API over HTTP and gRPC for the secret stores in the resources folders.

Flags:
%FLAGS%

Environment:
  DAPR_API_TOKEN   when set, every request must carry it in the dapr-api-token header (healthz exempt)
  NAMESPACE        the app's namespace: components of other namespaces are skipped
  APP_ID           the app id when --app-id is not given

Example:
  keyward serve --app-id order-processor --resources-path ./components
`;
