/** @module What both API servers share besides the secrets service: identity, readiness, token, shutdown. */
import { timingSafeEqual, createHash } from "node:crypto";
import type { AuditLog } from "../audit/audit-log.js";
import type { Tracing } from "../tracing/types.js";
import type { InFlightCalls } from "../core/cancellation.js";
import type { SidecarMetrics } from "../metrics.js";
import type { Runtime } from "../core/runtime.js";
import type { ApiRule } from "../resources/configuration.js";

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
