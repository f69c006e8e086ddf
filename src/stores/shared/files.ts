/**
 * @module Bounded reads of the files Keyward itself opens (secrets files, credential and CA files,
 * resources and configuration files). Only regular files are read: a FIFO would block an open or a read
 * for ever (and with it one of libuv's four file-system threads, then later reloads and shutdown), and a
 * device such as /dev/zero never ends. Sizes are bounded, and a read can be abandoned with a signal.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from "node:fs";
import { open } from "node:fs/promises";

/** The default size bound of a file Keyward reads, documented in README (Hot reload / local stores). */
export const DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024;

/** A file that Keyward refuses to read; `message` is short and names no content ("a FIFO, not a regular file"). */
export class FileReadError extends Error {}

export interface ReadLimits {
  /** Files larger than this are refused; default DEFAULT_MAX_FILE_BYTES. */
  maxBytes?: number;
  signal?: AbortSignal;
}

// O_NONBLOCK: opening a FIFO that has no writer returns at once instead of waiting for one; regular files ignore it.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);
const CHUNK = 64 * 1024;

/** Why a read failed, for a message after the file's name: an errno code (ENOENT) or the refusal. */
export function fileReadReason(err: unknown): string {
  if (err instanceof FileReadError) return err.message;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code) return code;
  return err instanceof Error ? err.message : String(err);
}

function kindOf(info: Stats): string {
  if (info.isDirectory()) return "a directory";
  if (info.isFIFO()) return "a FIFO";
  if (info.isCharacterDevice()) return "a character device";
  if (info.isBlockDevice()) return "a block device";
  if (info.isSocket()) return "a socket";
  return "not a plain file";
}

function checkStats(info: Stats, max: number): void {
  if (!info.isFile()) throw new FileReadError(`${kindOf(info)}, not a regular file`);
  if (info.size > max) throw new FileReadError(tooLarge(max));
}

function tooLarge(max: number): string {
  return `larger than the limit of ${max} bytes`;
}

/** Gathers the chunks of one read, refusing to go past the bound (the file may have grown since fstat). */
class BoundedBuffer {
  private readonly chunks: Buffer[] = [];
  private total = 0;
  constructor(private readonly max: number) {}

  /** A buffer for the next read: at most one byte past the bound, to notice a file that grew. */
  next(): Buffer {
    return Buffer.allocUnsafe(Math.min(CHUNK, this.max + 1 - this.total));
  }

  /** Keeps `n` bytes of `buf`; false at the end of the file. */
  add(buf: Buffer, n: number): boolean {
    if (n === 0) return false;
    this.total += n;
    if (this.total > this.max) throw new FileReadError(tooLarge(this.max));
    this.chunks.push(n === buf.length ? buf : buf.subarray(0, n));
    return true;
  }

  result(): Buffer {
    return Buffer.concat(this.chunks, this.total);
  }
}

/** Reads a regular file of at most `maxBytes` bytes. Throws FileReadError or the system error (with its code). */
export async function readRegularFile(path: string, limits: ReadLimits = {}): Promise<Buffer> {
  const max = limits.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
  limits.signal?.throwIfAborted();
  const handle = await open(path, OPEN_FLAGS);
  try {
    checkStats(await handle.stat(), max);
    const out = new BoundedBuffer(max);
    for (;;) {
      limits.signal?.throwIfAborted();
      const buf = out.next();
      if (!out.add(buf, (await handle.read(buf, 0, buf.length, null)).bytesRead)) return out.result();
    }
  } finally {
    await handle.close().catch(() => undefined);
  }
}

export async function readRegularTextFile(path: string, limits: ReadLimits = {}): Promise<string> {
  return (await readRegularFile(path, limits)).toString("utf8");
}

/** The synchronous form, for the few callers that must read inside a synchronous vendor callback. */
export function readRegularFileSync(path: string, maxBytes = DEFAULT_MAX_FILE_BYTES): Buffer {
  const fd = openSync(path, OPEN_FLAGS);
  try {
    checkStats(fstatSync(fd), maxBytes);
    const out = new BoundedBuffer(maxBytes);
    for (;;) {
      const buf = out.next();
      if (!out.add(buf, readSync(fd, buf, 0, buf.length, null))) return out.result();
    }
  } finally {
    closeSync(fd);
  }
}

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  K: 1000,
  k: 1000,
  M: 1e6,
  G: 1e9,
};

/** A size such as `1048576`, `512Ki` or `16Mi` in bytes; undefined when the text is not one or is 0. */
export function parseByteSize(text: string): number | undefined {
  const m = /^(\d+)(Ki|Mi|Gi|K|k|M|G)?$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]) * SIZE_UNITS[m[2] ?? ""]!;
  return n > 0 && Number.isSafeInteger(n) ? n : undefined;
}
