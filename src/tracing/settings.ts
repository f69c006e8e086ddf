/** @module The Configuration's `spec.tracing`, read as daprd reads it, checked as Keyward checks every field. */

export interface OtelSettings {
  endpointAddress: string;
  protocol: "http" | "grpc";
  isSecure: boolean;
  /** `key=value` request headers for the collector (may hold credentials: never logged). */
  headers: Record<string, string>;
  timeoutMs?: number;
}

export interface TracingSettings {
  /** 0..1; daprd's default when unset is 1 in 10,000. */
  samplingRate: number;
  stdout: boolean;
  zipkin?: { endpointAddress: string };
  otel?: OtelSettings;
}

/** daprd's sampling rate when `samplingRate` is absent. */
export const DEFAULT_SAMPLING_RATE = 1e-4;

const TRACING_KEYS = ["samplingRate", "stdout", "zipkin", "otel"];
const ZIPKIN_KEYS = ["endpointAddress"];
const OTEL_KEYS = ["endpointAddress", "protocol", "isSecure", "headers", "timeout"];

type At = (path: (string | number)[], atKey?: boolean) => string;
type RejectUnknown = (value: Record<string, unknown>, known: readonly string[], path: string[], what: string) => void;

/** A problem in `spec.tracing`, with the file and line it is at. */
export class TracingConfigError extends Error {}

function mapping(v: unknown, where: string, what: string): Record<string, unknown> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) throw new TracingConfigError(`${where}: ${what} must be a mapping`);
  return v as Record<string, unknown>;
}

function bool(v: unknown, where: string, what: string, fallback: boolean): boolean {
  if (v === undefined || v === null) return fallback;
  if (typeof v === "boolean") return v;
  const t = String(v).toLowerCase();
  if (t === "true" || t === "false") return t === "true";
  throw new TracingConfigError(`${where}: ${what} must be true or false`);
}

/** A Go duration as daprd's timeout takes it: `500ms`, `10s`, `1m30s`. */
function goDurationMs(v: unknown, where: string): number {
  const text = String(v).trim();
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let rest = text;
  while (rest !== "") {
    const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/.exec(rest);
    if (!m) throw new TracingConfigError(`${where}: otel.timeout ${JSON.stringify(text)} is not a duration like 10s`);
    total += Number(m[1]) * units[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  if (text === "" || total <= 0 || total > 3_600_000)
    throw new TracingConfigError(`${where}: otel.timeout must be more than 0 and at most 1h`);
  return total;
}

/** An endpoint address: `host:port` as daprd takes it, or a URL; never a value with spaces or control bytes. */
function endpoint(v: unknown, where: string, what: string): string | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  const text = String(v).trim();
  if (!/^[\x21-\x7e]{1,2048}$/.test(text))
    throw new TracingConfigError(`${where}: ${what} must be a host:port or a URL without spaces`);
  return text;
}

export function parseTracing(raw: unknown, at: At, rejectUnknown: RejectUnknown): TracingSettings | undefined {
  const spec = mapping(raw, at(["spec", "tracing"]), "spec.tracing");
  if (!spec) return undefined;
  rejectUnknown(spec, TRACING_KEYS, ["spec", "tracing"], "spec.tracing");
  let samplingRate = DEFAULT_SAMPLING_RATE;
  if (spec.samplingRate !== undefined && spec.samplingRate !== null && spec.samplingRate !== "") {
    const text = String(spec.samplingRate).trim();
    samplingRate = Number(text);
    if (!/^[0-9.eE+-]+$/.test(text) || !Number.isFinite(samplingRate) || samplingRate < 0 || samplingRate > 1)
      throw new TracingConfigError(
        `${at(["spec", "tracing", "samplingRate"])}: samplingRate ${JSON.stringify(text)} must be a number from "0" to "1"`,
      );
  }
  const out: TracingSettings = {
    samplingRate,
    stdout: bool(spec.stdout, at(["spec", "tracing", "stdout"]), "stdout", false),
  };
  const zipkin = mapping(spec.zipkin, at(["spec", "tracing", "zipkin"]), "zipkin");
  if (zipkin) {
    rejectUnknown(zipkin, ZIPKIN_KEYS, ["spec", "tracing", "zipkin"], "spec.tracing.zipkin");
    const address = endpoint(zipkin.endpointAddress, at(["spec", "tracing", "zipkin"]), "zipkin.endpointAddress");
    if (address) out.zipkin = { endpointAddress: address };
  }
  const otel = mapping(spec.otel, at(["spec", "tracing", "otel"]), "otel");
  if (otel) {
    rejectUnknown(otel, OTEL_KEYS, ["spec", "tracing", "otel"], "spec.tracing.otel");
    const where = at(["spec", "tracing", "otel"]);
    const address = endpoint(otel.endpointAddress, where, "otel.endpointAddress");
    const protocol = otel.protocol === undefined || otel.protocol === null ? "" : String(otel.protocol);
    if (protocol !== "" && protocol !== "http" && protocol !== "grpc")
      throw new TracingConfigError(`${where}: invalid protocol ${JSON.stringify(protocol)} for otel: use http or grpc`);
    // daprd exports to an OTLP collector only when both the address and the protocol are set.
    if (address && protocol !== "") {
      const headers: Record<string, string> = {};
      const list = otel.headers ?? [];
      if (!Array.isArray(list)) throw new TracingConfigError(`${where}: otel.headers must be a list of key=value`);
      for (const h of list) {
        const [k, ...v] = String(h).split("=");
        if (!k || v.length === 0 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k))
          throw new TracingConfigError(`${where}: each otel.headers item must be key=value with a header name as key`);
        headers[k] = v.join("=");
      }
      out.otel = {
        endpointAddress: address,
        protocol,
        isSecure: bool(otel.isSecure, where, "otel.isSecure", true),
        headers,
        ...(otel.timeout === undefined || otel.timeout === null
          ? {}
          : { timeoutMs: goDurationMs(otel.timeout, where) }),
      };
    }
  }
  return out;
}
