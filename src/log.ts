/**
 * @module The sidecar's logger: pino, printed as daprd-style text lines by default or, with
 * `--log-as-json`, as JSON lines in daprd's schema (time, level, type, msg, scope, instance, app_id, ver),
 * so log pipelines built for daprd parse Keyward's lines unchanged. Nothing that holds a secret value may
 * be passed to it.
 */
import { hostname } from "node:os";
import { pino, type Logger, type LevelWithSilent } from "pino";
import type { StoreLogger } from "./stores/types.js";
import { redact } from "./stores/shared/redact.js";
import { KEYWARD_VERSION } from "./version.js";

export type { Logger };

export interface LogOptions {
  level: LevelWithSilent;
  json: boolean;
  appId: string;
  /** Where lines go; stdout by default, as daprd. */
  destination?: NodeJS.WritableStream;
}

/** daprd's logger scope for the runtime's own lines. */
const RUNTIME_SCOPE = "dapr.runtime";
/** Fields every JSON line carries; the text form leaves them out, as it always has. */
const SCHEMA_FIELDS = new Set(["type", "scope", "instance", "ver"]);
/** Keys a log call's fields may not use: they are the schema's. */
const RESERVED = new Set([...SCHEMA_FIELDS, "time", "level", "msg", "app_id"]);

// Wall-clock nanoseconds: Date.now() has millisecond resolution, so the high-resolution clock adds the rest.
const ORIGIN_NS = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

/** Now as Go's time.RFC3339Nano in UTC (daprd's JSON timestamps): trailing zeros of the fraction dropped. */
export function rfc3339Nano(ns: bigint = ORIGIN_NS + process.hrtime.bigint()): string {
  const ms = Number(ns / 1_000_000n);
  const base = new Date(ms).toISOString().slice(0, 19);
  const frac = (ns % 1_000_000_000n).toString().padStart(9, "0").replace(/0+$/, "");
  return `${base}${frac ? "." + frac : ""}Z`;
}

/** Turns one JSON line into `time="..." level=info msg="..." key=value ...`. */
function toText(line: string): string {
  const rec = JSON.parse(line) as Record<string, unknown>;
  const { time, level, msg, ...rest } = rec;
  let out = `time="${String(time)}" level=${String(level)} msg=${JSON.stringify(String(msg ?? ""))}`;
  for (const [k, v] of Object.entries(rest)) {
    if (SCHEMA_FIELDS.has(k)) continue;
    const text = typeof v === "string" ? v : JSON.stringify(v);
    out += ` ${k}=${/^[\w./:@-]+$/.test(text) ? text : JSON.stringify(text)}`;
  }
  return out + "\n";
}

export function createLogger(opts: LogOptions): Logger {
  const dest = opts.destination ?? process.stdout;
  const stream = opts.json
    ? dest
    : {
        write(chunk: string) {
          for (const line of chunk.split("\n")) if (line) dest.write(toText(line));
        },
      };
  return pino(
    {
      level: opts.level,
      base: { app_id: opts.appId, instance: hostname(), scope: RUNTIME_SCOPE, type: "log", ver: KEYWARD_VERSION },
      // daprd (logrus) names the levels debug, info, warning, error, fatal.
      formatters: { level: (label) => ({ level: label === "warn" ? "warning" : label }) },
      timestamp: () => `,"time":"${rfc3339Nano()}"`,
      hooks: {
        // A field named like one of the schema's would overwrite it (a component's `type` would replace
        // `type: "log"`); it is kept under `fields.<name>` instead, as logrus does for its own keys.
        logMethod(args, method) {
          const [first] = args as unknown[];
          if (typeof first === "object" && first !== null && Object.keys(first).some((k) => RESERVED.has(k))) {
            const renamed: Record<string, unknown> = {};
            for (const [k, v] of Object.entries(first)) renamed[RESERVED.has(k) ? `fields.${k}` : k] = v;
            (args as unknown[])[0] = renamed;
          }
          method.apply(this, args);
        },
      },
    },
    stream,
  );
}

/** Adapts a pino child to the small logger interface stores get. */
export function storeLogger(log: Logger): StoreLogger {
  // What a store logs passes the same redaction rules as its error messages: a reason quoting a backend's answer
  // is text the store did not write.
  const clean = (fields: Record<string, unknown> | undefined): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(fields ?? {})) out[k] = typeof v === "string" ? redact(v) : v;
    return out;
  };
  return {
    debug: (msg, fields) => log.debug(clean(fields), redact(msg)),
    info: (msg, fields) => log.info(clean(fields), redact(msg)),
    warn: (msg, fields) => log.warn(clean(fields), redact(msg)),
    error: (msg, fields) => log.error(clean(fields), redact(msg)),
  };
}
