/** @module The results chart: four bar panels (throughput, fixed-rate latency, bulk, start-up), Keyward beside its baseline. */
import { Raster, type Rgb } from "./png.js";
import { STARTUP_MS, type Results } from "./report.js";

const KEYWARD: Rgb = [33, 102, 172];
const BASELINE: Rgb = [160, 160, 160];
const TARGET: Rgb = [200, 40, 40];
const INK: Rgb = [30, 30, 30];
const GRID: Rgb = [225, 225, 225];

interface Bar {
  value: number;
  color: Rgb;
}

interface Group {
  label: string;
  bars: Bar[];
}

interface Panel {
  title: string;
  groups: Group[];
  target?: { value: number; label: string };
  format: (v: number) => string;
}

function drawPanel(img: Raster, x: number, y: number, w: number, h: number, p: Panel): void {
  img.text(x + 10, y + 8, p.title, INK, 2);
  const top = y + 40;
  const bottom = y + h - 36;
  const left = x + 20;
  const right = x + w - 20;
  const finite = p.groups.flatMap((g) => g.bars.map((b) => b.value)).filter(Number.isFinite);
  const max = Math.max(...finite, p.target?.value ?? 0, 1e-9) * 1.18;
  const scale = (v: number) => ((bottom - top) * v) / max;
  for (let i = 1; i <= 4; i++) img.hline(left, bottom - ((bottom - top) * i) / 4, right - left, GRID);
  img.hline(left, bottom, right - left, INK);
  const groupW = (right - left) / p.groups.length;
  p.groups.forEach((g, gi) => {
    const gx = left + gi * groupW;
    const barW = Math.min(44, (groupW - 16) / g.bars.length);
    const startX = gx + (groupW - barW * g.bars.length) / 2;
    g.bars.forEach((b, bi) => {
      const bx = startX + bi * barW;
      const bh = Number.isFinite(b.value) ? Math.max(1, scale(b.value)) : 0;
      img.fill(bx + 2, bottom - bh, barW - 4, bh, b.color);
      const label = Number.isFinite(b.value) ? p.format(b.value) : "n/a";
      img.text(bx + barW / 2 - (label.length * 6) / 2, bottom - bh - 11, label, INK);
    });
    img.text(gx + groupW / 2 - Raster.textWidth(g.label) / 2, bottom + 8, g.label, INK);
  });
  if (p.target) {
    const ty = bottom - scale(p.target.value);
    img.hline(left, ty, right - left, TARGET, 2, 8);
    img.text(left + 4, ty - 11, p.target.label, TARGET);
  }
}

const pair = (k: number, b: number): Bar[] => [
  { value: k, color: KEYWARD },
  { value: b, color: BASELINE },
];

export function renderChart(r: Results, caption: string): Buffer {
  const W = 1280;
  const H = 860;
  const img = new Raster(W, H);
  img.text(20, 14, caption, INK, 2);
  img.fill(W - 420, 16, 14, 14, KEYWARD);
  img.text(W - 400, 19, "Keyward", INK);
  img.fill(W - 330, 16, 14, 14, BASELINE);
  img.text(W - 310, 19, "bare node:http / grpc-js / AWS SDK", INK);
  const k = (v: number) =>
    v >= 10_000 ? `${(v / 1000).toFixed(1)}k` : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  const panels: Panel[] = [
    {
      title: `Throughput per s (HTTP ${r.http.throughput.ratio.toFixed(2)}x, gRPC ${r.grpc.throughput.ratio.toFixed(2)}x)`,
      groups: [
        {
          label: "HTTP, 50 conns",
          bars: pair(r.http.throughput.keyward.perSecond, r.http.throughput.baseline.perSecond),
        },
        {
          label: "gRPC, 64 in flight",
          bars: pair(r.grpc.throughput.keyward.perSecond, r.grpc.throughput.baseline.perSecond),
        },
      ],
      format: k,
    },
    {
      title: "Latency at 1,000 req/s (ms)",
      groups: (["p50", "p90", "p99"] as const).flatMap((q) => [
        { label: `HTTP ${q}`, bars: pair(r.http.fixedRate.keyward.latency[q], r.http.fixedRate.baseline.latency[q]) },
        { label: `gRPC ${q}`, bars: pair(r.grpc.fixedRate.keyward.latency[q], r.grpc.fixedRate.baseline.latency[q]) },
      ]),
      format: (v) => v.toFixed(2),
    },
    {
      title: "Bulk get p50 (ms) by store size",
      groups: r.bulk.sizes.map((s) => ({
        label: `${s.secrets.toLocaleString("en-US")} secrets`,
        bars: pair(s.pair.keyward.latency.p50, s.pair.baseline.latency.p50),
      })),
      target: { value: 50, label: "target 50 ms (10,000)" },
      format: (v) => v.toFixed(v < 10 ? 2 : 1),
    },
    {
      title: "Start-up to ready (ms)",
      groups: [
        { label: "bare node", bars: [{ value: r.startup.baselineMs, color: BASELINE }] },
        ...r.startup.components.map((c) => ({
          label: `${c.count} component${c.count > 1 ? "s" : ""}`,
          bars: [{ value: c.readyMs, color: KEYWARD }],
        })),
      ],
      target: { value: STARTUP_MS, label: `target ${STARTUP_MS} ms (10)` },
      format: (v) => v.toFixed(0),
    },
  ];
  const pw = W / 2;
  const ph = (H - 50) / 2;
  panels.forEach((p, i) => drawPanel(img, (i % 2) * pw, 50 + Math.floor(i / 2) * ph, pw, ph, p));
  return img.png();
}
