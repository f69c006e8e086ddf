/** A StoreContext for tests that records what stores log, so tests can assert nothing secret is logged. */
import type { StoreContext, StoreLogger } from "../../src/stores/types.js";

export interface RecordingLogger extends StoreLogger {
  lines: string[];
}

export function recordingLogger(): RecordingLogger {
  const lines: string[] = [];
  const rec = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    lines.push(`${level} ${msg} ${fields ? JSON.stringify(fields) : ""}`);
  };
  return { lines, debug: rec("debug"), info: rec("info"), warn: rec("warn"), error: rec("error") };
}

export function storeContext(
  name = "test-store",
  timeoutMs = 10_000,
  log: StoreLogger = recordingLogger(),
): StoreContext {
  return { name, signal: AbortSignal.timeout(timeoutMs), log };
}
