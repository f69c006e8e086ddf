/**
 * @module App and sidecar output on the terminal, each line prefixed (`== APP == `, `== KEYWARD == `) as
 * `dapr run` does. A child that never writes a newline cannot grow memory without bound, and a terminal
 * that reads slowly pauses the child's pipe instead of filling ours.
 */
import { StringDecoder } from "node:string_decoder";
import type { Readable, Writable } from "node:stream";

/** Longer than this without a newline and the line is printed in pieces. */
const MAX_LINE = 64 * 1024;

/**
 * Copies `from` to `to` line by line with `prefix`; `onLine` sees each whole line (the sidecar's
 * readiness is read this way). Resolves when `from` ends.
 */
export function pipeLines(
  from: Readable,
  to: Writable,
  prefix: string,
  onLine?: (line: string) => void,
): Promise<void> {
  const decoder = new StringDecoder("utf8");
  let carry = "";
  let paused = false;
  const emit = (line: string) => {
    onLine?.(line);
    if (!to.write(`${prefix}${line}\n`) && !paused) {
      paused = true;
      from.pause();
      to.once("drain", () => {
        paused = false;
        from.resume();
      });
    }
  };
  const take = (text: string) => {
    carry += text;
    let nl: number;
    while ((nl = carry.indexOf("\n")) >= 0) {
      emit(carry.slice(0, nl).replace(/\r$/, ""));
      carry = carry.slice(nl + 1);
    }
    while (carry.length > MAX_LINE) {
      emit(carry.slice(0, MAX_LINE));
      carry = carry.slice(MAX_LINE);
    }
  };
  return new Promise((resolve) => {
    from.on("data", (chunk: Buffer) => take(decoder.write(chunk)));
    from.on("error", () => resolve());
    from.on("end", () => {
      take(decoder.end());
      if (carry !== "") emit(carry);
      carry = "";
      resolve();
    });
  });
}
