/** Helpers for hot-reload tests: polling until a condition holds, and a client load for the duration of a change. */
import { execFileSync } from "node:child_process";
import type { Sidecar } from "./sidecar.js";

export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function httpGet(s: Sidecar, path: string): Promise<{ status: number; body: string }> {
  const r = await fetch(`${s.httpUrl}${path}`);
  return { status: r.status, body: await r.text() };
}

/** Waits until GET `path` answers exactly `body`. */
export function untilBody(s: Sidecar, path: string, body: string, timeoutMs?: number): Promise<true> {
  return until(
    `${path} to answer ${body}`,
    async () => ((await httpGet(s, path)).body === body ? true : undefined),
    timeoutMs,
  );
}

export interface Load {
  /** Stops the clients and returns how many requests succeeded and what the failed ones got. */
  stop(): Promise<{ ok: number; failed: string[] }>;
}

/** `clients` loops of GET `path`, each sending its next request as soon as the last is answered. */
export function loadLoop(s: Sidecar, path: string, clients = 4): Load {
  let stopped = false;
  let ok = 0;
  const failed: string[] = [];
  const worker = async () => {
    while (!stopped) {
      try {
        const r = await httpGet(s, path);
        if (r.status === 200) ok++;
        else failed.push(`${r.status} ${r.body.trim()}`);
      } catch (err) {
        failed.push(String(err));
      }
    }
  };
  const workers = Array.from({ length: clients }, worker);
  return {
    async stop() {
      stopped = true;
      await Promise.all(workers);
      return { ok, failed };
    },
  };
}

export function mkfifo(path: string): string {
  execFileSync("mkfifo", [path]);
  return path;
}
