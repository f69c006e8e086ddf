/** A started process's resident memory, read from /proc as the kernel counts it. */
import { readFileSync } from "node:fs";

export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) / 1024;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
