/** @module Latest-state delivery to one reader: what it has not taken yet is replaced, never queued behind. */

/** The part of a Writable (an HTTP response, a gRPC stream) that tells when the reader is behind. */
export interface Drainable {
  readonly writableNeedDrain: boolean;
  once(event: "drain", listener: () => void): unknown;
}

export class LatestOnly<T> {
  private pending: T | undefined;
  private waiting = false;

  constructor(
    private readonly out: Drainable,
    private readonly write: (value: T) => void,
    private readonly live: () => boolean,
  ) {}

  /** Whether a value waits for the reader. */
  get holding(): boolean {
    return this.pending !== undefined;
  }

  /** Writes `value` now, or keeps it (replacing any older one) until the reader has drained. */
  offer(value: T): void {
    this.pending = value;
    this.flush();
  }

  private flush(): void {
    if (!this.live() || this.pending === undefined) return;
    if (this.out.writableNeedDrain) {
      if (!this.waiting) {
        this.waiting = true;
        this.out.once("drain", () => {
          this.waiting = false;
          this.flush();
        });
      }
      return;
    }
    const value = this.pending;
    this.pending = undefined;
    this.write(value);
  }
}
