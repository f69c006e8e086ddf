/** Request/response shapes of the Vault test server and Vault's JSON envelopes. */
import { randomUUID } from "node:crypto";
import type { Namespace, Token, VaultState } from "./state.js";

export type Op = "read" | "list" | "write" | "delete" | "patch";

export interface VaultRequest {
  method: string;
  op: Op;
  /** Path below `/v1/`, URL-decoded, without leading slash. */
  path: string;
  query: URLSearchParams;
  body: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
  ns: Namespace;
  /** The token presented, if any, and whether it is live. */
  rawToken: string | undefined;
  token: Token | undefined;
  state: VaultState;
}

export interface VaultResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export function errors(status: number, ...messages: string[]): VaultResponse {
  return { status, body: { errors: messages } };
}

export const permissionDenied = (): VaultResponse => errors(403, "permission denied");
export const noContent = (): VaultResponse => ({ status: 204 });

/** Vault's standard response envelope. */
export function envelope(fields: {
  data?: unknown;
  auth?: unknown;
  warnings?: string[] | null;
  leaseDuration?: number;
  mountType?: string;
}): Record<string, unknown> {
  return {
    request_id: randomUUID(),
    lease_id: "",
    renewable: false,
    lease_duration: fields.leaseDuration ?? 0,
    data: fields.data ?? null,
    wrap_info: null,
    warnings: fields.warnings && fields.warnings.length ? fields.warnings : null,
    auth: fields.auth ?? null,
    mount_type: fields.mountType ?? "",
  };
}

export function ok(
  data: unknown,
  extra: { warnings?: string[]; leaseDuration?: number; mountType?: string } = {},
): VaultResponse {
  return { status: 200, body: envelope({ data, ...extra }) };
}

/** Vault's duration fields accept integer seconds or Go duration strings ("1h30m", "90s"). */
export function durationSeconds(v: unknown, field: string): number {
  if (v === undefined || v === null || v === "") return 0;
  if (typeof v === "number") return Math.floor(v);
  const s = String(v).trim();
  if (/^\d+$/.test(s)) return Number(s);
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };
  let total = 0;
  let rest = s;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) {
    total += Number(m[1]) * (units[m[2] as string] ?? 0);
    rest = rest.replace(m[0], "");
  }
  if (rest !== "")
    throw new Error(
      `error converting input ${JSON.stringify(v)} for field ${JSON.stringify(field)}: time: invalid duration`,
    );
  return Math.floor(total);
}

export function stringList(v: unknown): string[] {
  if (v === undefined || v === null || v === "") return [];
  if (Array.isArray(v)) return v.map(String).filter((s) => s !== "");
  return String(v)
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace("Z", "000000Z");
}

/** Go's strconv.ParseBool, which Vault uses for `?list=`. */
export function parseBool(v: string | null): boolean {
  return v !== null && ["1", "t", "T", "TRUE", "true", "True"].includes(v);
}
