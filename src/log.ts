/**
 * @module The sidecar's logger: pino, printed as daprd-style text lines by default or JSON with
 * `--log-as-json`. Nothing that holds a secret value may be passed to it.
 */
import { pino, type Logger, type LevelWithSilent } from "pino";
import type { StoreLogger } from "./stores/types.js";

export type { Logger };

export interface LogOptions {
  level: LevelWithSilent;
  json: boolean;
  appId: string;
  /** Where lines go; stdout by default, as daprd. */
  destination?: NodeJS.WritableStream;
}

const LEVEL_NAMES: Record<number, string> = {
  10: "trace",
  20: "debug",
  30: "info",
  40: "warning",
  50: "error",
  60: "fatal",
};

/** Turns one pino JSON line into `time="..." level=info msg="..." key=value ...`. */
function toText(line: string): string {
  const rec = JSON.parse(line) as Record<string, unknown>;
  const { time, level, msg, pid: _pid, hostname: _h, ...rest } = rec;
  let out = `time="${new Date(Number(time)).toISOString()}" level=${LEVEL_NAMES[Number(level)] ?? String(level)} msg=${JSON.stringify(String(msg ?? ""))}`;
  for (const [k, v] of Object.entries(rest)) {
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
      base: { app_id: opts.appId },
      formatters: { level: (_label, number) => ({ level: number }) },
      timestamp: pino.stdTimeFunctions.epochTime,
    },
    stream,
  );
}

/** Adapts a pino child to the small logger interface stores get. */
export function storeLogger(log: Logger): StoreLogger {
  return {
    debug: (msg, fields) => log.debug(fields ?? {}, msg),
    info: (msg, fields) => log.info(fields ?? {}, msg),
    warn: (msg, fields) => log.warn(fields ?? {}, msg),
    error: (msg, fields) => log.error(fields ?? {}, msg),
  };
}
