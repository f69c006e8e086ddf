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

/** What a test may set of the host's side of the context; the environment defaults to a copy of this process's. */
export type ContextOverrides = Partial<Pick<StoreContext, "env" | "namespace" | "appId" | "kubeconfig">>;

export function storeContext(
  name = "test-store",
  timeoutMs = 10_000,
  log: StoreLogger = recordingLogger(),
  overrides: ContextOverrides = {},
): StoreContext {
  return {
    name,
    signal: AbortSignal.timeout(timeoutMs),
    log,
    env: Object.freeze({ ...process.env }),
    namespace: "",
    appId: "test-app",
    ...overrides,
  };
}
