/** @module Small statistics helpers: percentiles over latency samples and medians over rounds. */

/** Nearest-rank percentile of an ascending array; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function median(values: readonly number[]): number {
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return NaN;
  const mid = xs.length >> 1;
  return xs.length % 2 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
}

export interface LatencySummary {
  count: number;
  /** Milliseconds. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function summarize(samplesMs: Float64Array): LatencySummary {
  const s = samplesMs.slice().sort();
  return {
    count: s.length,
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    max: s.length ? s[s.length - 1]! : NaN,
  };
}

/** Median of each field over rounds. */
export function medianSummary(rounds: readonly LatencySummary[]): LatencySummary {
  return {
    count: rounds.reduce((a, r) => a + r.count, 0),
    p50: median(rounds.map((r) => r.p50)),
    p90: median(rounds.map((r) => r.p90)),
    p99: median(rounds.map((r) => r.p99)),
    max: median(rounds.map((r) => r.max)),
  };
}

/** Grows a Float64Array as samples arrive; bounded so a runaway window cannot eat memory. */
export class Samples {
  private buf = new Float64Array(4096);
  length = 0;
  constructor(private readonly cap = 4_000_000) {}
  push(v: number): void {
    if (this.length === this.buf.length) {
      if (this.length >= this.cap) return;
      const next = new Float64Array(Math.min(this.cap, this.buf.length * 2));
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  values(): Float64Array {
    return this.buf.subarray(0, this.length);
  }
}
