/**
 * @module Plain metric families: counters and histograms kept as numbers per label set and turned into
 * samples only when scraped. prom-client validates and hashes the label set on every observe, which
 * profiled as the largest cost of a single get (hot path); a Map lookup on a joined key is all this costs.
 */

/** daprd's default latency distribution (ms), used by every latency histogram. */
export const LATENCY_BUCKETS_MS = [
  1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 20, 25, 30, 40, 50, 65, 80, 100, 130, 160, 200, 250, 300, 400, 500, 650, 800, 1000,
  2000, 5000, 10000, 20000, 50000, 100000,
];

/** daprd's size distribution (bytes). */
export const SIZE_BUCKETS = [
  1 << 10,
  2 << 10,
  4 << 10,
  16 << 10,
  64 << 10,
  256 << 10,
  1 << 20,
  4 << 20,
  16 << 20,
  64 << 20,
  256 << 20,
  1 << 30,
  4 * (1 << 30),
];

export type Sample = { labels: Record<string, string | number>; value: number; metricName?: string };

export interface Series {
  labels: Record<string, string>;
  count: number;
  sum: number;
  /** Per-bucket (not cumulative) counts; the last slot is +Inf. Empty for counters and gauges. */
  buckets: Float64Array;
}

export class Family {
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "histogram" | "gauge",
    private readonly labelNames: readonly string[],
    private readonly bucketBounds: readonly number[] = [],
  ) {}

  /** Adds one observation (a histogram) or `value` (a counter); label values in `labelNames` order. */
  observe(values: readonly string[], value = 1): void {
    this.add(this.seriesFor(values), value);
  }

  /** As observe, on a series the caller kept from `seriesFor` (spares the label key on a hot path). */
  add(s: Series, value = 1): void {
    s.count++;
    s.sum += value;
    if (this.type !== "histogram") return;
    const bounds = this.bucketBounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    s.buckets[i]!++;
  }

  /** Sets a gauge. */
  set(values: readonly string[], value: number): void {
    this.seriesFor(values).sum = value;
  }

  /** The series of a label set, made on first use. */
  seriesFor(values: readonly string[]): Series {
    const key = values.join("\u0000");
    let s = this.series.get(key);
    if (!s) {
      const labels: Record<string, string> = {};
      // As daprd's tag helper: an empty value leaves the label out.
      this.labelNames.forEach((n, i) => {
        if (values[i]) labels[n] = values[i]!;
      });
      s = {
        labels,
        count: 0,
        sum: 0,
        buckets: new Float64Array(this.type === "histogram" ? this.bucketBounds.length + 1 : 0),
      };
      this.series.set(key, s);
    }
    return s;
  }

  samples(): Sample[] {
    const out: Sample[] = [];
    for (const s of this.series.values()) {
      if (this.type === "counter") out.push({ labels: s.labels, value: s.sum });
      else if (this.type === "gauge") out.push({ labels: s.labels, value: s.sum });
      else {
        let cumulative = 0;
        this.bucketBounds.forEach((le, i) => {
          cumulative += s.buckets[i]!;
          out.push({ labels: { ...s.labels, le }, value: cumulative, metricName: `${this.name}_bucket` });
        });
        out.push({ labels: { ...s.labels, le: "+Inf" }, value: s.count, metricName: `${this.name}_bucket` });
        out.push({ labels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
        out.push({ labels: s.labels, value: s.count, metricName: `${this.name}_count` });
      }
    }
    return out;
  }
}
