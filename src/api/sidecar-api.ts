/**
 * @module The transport-neutral sidecar API: the state both servers are built on and the answers they share
 * (token, API allow/deny lists, health, metadata and its extended entries, shutdown), so `api/http` and
 * `api/grpc` only decode requests and encode answers. Secrets go through the runtime's `SecretsService`.
 */
import { timingSafeEqual, createHash } from "node:crypto";
import type { AuditLog } from "../audit/audit-log.js";
import type { Tracing } from "../tracing/types.js";
import type { InFlightCalls } from "../core/cancellation.js";
import type { SidecarMetrics } from "../metrics.js";
import type { Runtime } from "../core/runtime.js";
import type { ApiRule } from "../resources/configuration.js";
import { ApiError, Errors } from "../errors/catalogue.js";
import { setExtendedMetadata } from "./extended-metadata.js";
import { DAPR_RUNTIME_VERSION, KEYWARD_VERSION } from "../version.js";

export { DAPR_RUNTIME_VERSION, KEYWARD_VERSION } from "../version.js";

export interface SidecarState {
  appId: string;
  runtime: Runtime;
  /** DAPR_API_TOKEN, or undefined when token auth is off. */
  token: string | undefined;
  shuttingDown: boolean;
  /** Secrets calls in flight; shutdown aborts them when its grace period ends. */
  calls: InFlightCalls;
  /** Present when metrics are on. */
  metrics?: SidecarMetrics;
  /** Present when the Configuration turns tracing on. */
  tracing?: Tracing;
  /** Present with --audit-log. */
  audit?: AuditLog;
  /** What callers set with PUT /v1.0/metadata or SetMetadata: the API's own, never written into the runtime. */
  extendedMetadata: Map<string, string>;
  /** Starts a graceful shutdown (idempotent). */
  requestShutdown(reason: string): void;
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

/** Constant-time comparison: hashing first makes the lengths equal and hides the token's length. */
export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  return timingSafeEqual(digest(expected), digest(given));
}

export interface ComponentInfo {
  name: string;
  type: string;
  version: string;
  capabilities: string[];
}

export function componentInfo(runtime: Runtime): ComponentInfo[] {
  return [...runtime.stores.values()].map((s) => ({
    name: s.name,
    type: s.type,
    version: s.version,
    capabilities: [...s.features],
  }));
}

/**
 * daprd's API allow/deny lists (docs/compatibility.md §4.5) for an endpoint group such as "secrets". Rules apply per
 * protocol (a rule without one is an HTTP rule): an allow-list of HTTP rules leaves gRPC open.
 */
export function apiAllowed(
  allowed: readonly ApiRule[] | undefined,
  denied: readonly ApiRule[] | undefined,
  group: string,
  protocol: "http" | "grpc",
): boolean {
  const forProtocol = (rules: readonly ApiRule[] | undefined) =>
    (rules ?? []).filter((r) => (r.protocol || "http") === protocol);
  const matches = (r: ApiRule) => r.name === group && (r.version === "v1" || r.version === "v1.0");
  const allow = forProtocol(allowed);
  if (allow.length > 0 && !allow.some(matches)) return false;
  return !forProtocol(denied).some(matches);
}

/** Whether the Configuration's API lists let `protocol` callers use `group`; without any list, yes at no cost. */
export function apiOpen(state: SidecarState, group: string, protocol: "http" | "grpc"): boolean {
  const cfg = state.runtime.configuration;
  // apiAllowed allocates on every call; without any allow or deny list its answer is always yes (hot path).
  if (cfg.apiAllowed === undefined && cfg.apiDenied === undefined) return true;
  return apiAllowed(cfg.apiAllowed, cfg.apiDenied, group, protocol);
}

/** Whether a caller that presents `given` (or nothing) may call: always when no token is set. */
export function authenticated(state: SidecarState, given: string | undefined): boolean {
  return state.token === undefined || tokenMatches(state.token, given);
}

/** daprd's health answer for `appid` (empty or absent: any app): undefined when healthy. */
export function healthProblem(state: SidecarState, appid: string | null): ApiError | undefined {
  if (appid !== null && appid !== "" && appid !== state.appId) return new ApiError(Errors.HEALTH_APPID_NOT_MATCH);
  if (state.shuttingDown) return new ApiError(Errors.HEALTH_NOT_READY, ["[shutting down]"]);
  return undefined;
}

/** The metadata answer both transports encode (HTTP as daprd's JSON, gRPC as GetMetadataResponse). */
export interface MetadataView {
  id: string;
  runtimeVersion: string;
  components: ComponentInfo[];
  extended: Record<string, string>;
  /** What daprd reports for a sidecar started without an app: its default protocol and channel address. */
  appConnection: { protocol: "http"; channelAddress: "127.0.0.1" };
  actorRuntime: { runtimeStatus: "DISABLED"; hostReady: false };
}

export function metadataView(state: SidecarState): MetadataView {
  return {
    id: state.appId,
    runtimeVersion: DAPR_RUNTIME_VERSION,
    components: componentInfo(state.runtime),
    extended: {
      ...Object.fromEntries(state.extendedMetadata),
      daprRuntimeVersion: DAPR_RUNTIME_VERSION,
      keywardVersion: KEYWARD_VERSION,
    },
    appConnection: { protocol: "http", channelAddress: "127.0.0.1" },
    actorRuntime: { runtimeStatus: "DISABLED", hostReady: false },
  };
}

/** Sets an extended metadata entry, or throws ERR_METADATA_SET past the documented bounds. */
export function setMetadata(state: SidecarState, key: string, value: string): void {
  setExtendedMetadata(state.extendedMetadata, key, value);
}
