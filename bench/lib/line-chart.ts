/** @module Line charts for the scaling curves: one panel per curve, a line per series, optional log-scale x. */
import { Raster, type Rgb } from "./png.js";

export const KEYWARD: Rgb = [33, 102, 172];
export const BASELINE: Rgb = [160, 160, 160];
export const ACCENT: Rgb = [214, 96, 77];
const INK: Rgb = [30, 30, 30];
const GRID: Rgb = [225, 225, 225];

export interface Series {
  name: string;
  color: Rgb;
  points: [x: number, y: number][];
}

export interface LinePanel {
  title: string;
  xLabel: string;
  /** Log-scale x axis (connections, store sizes, component counts span 3-5 decades). */
  logX: boolean;
  series: Series[];
  format: (y: number) => string;
}

const compact = (v: number) =>
  v >= 1_000_000 ? `${v / 1_000_000}M` : v >= 1000 ? `${v / 1000}k` : String(Number(v.toPrecision(3)));

function drawPanel(img: Raster, x: number, y: number, w: number, h: number, p: LinePanel): void {
  img.text(x + 10, y + 8, p.title, INK, 2);
  const top = y + 44;
  const bottom = y + h - 44;
  const left = x + 64;
  const right = x + w - 24;
  const pts = p.series.flatMap((s) => s.points).filter(([px, py]) => Number.isFinite(px) && Number.isFinite(py));
  if (pts.length === 0) return;
  const xs = [...new Set(pts.map(([px]) => px))].sort((a, b) => a - b);
  const fx = (v: number) => (p.logX ? Math.log10(Math.max(v, 1e-9)) : v);
  const x0 = fx(xs[0]!);
  const x1 = fx(xs[xs.length - 1]!);
  const maxY = Math.max(...pts.map(([, py]) => py), 1e-9) * 1.12;
  const sx = (v: number) => (x1 === x0 ? (left + right) / 2 : left + ((fx(v) - x0) * (right - left)) / (x1 - x0));
  const sy = (v: number) => bottom - ((bottom - top) * v) / maxY;
  for (let i = 0; i <= 4; i++) {
    const gy = bottom - ((bottom - top) * i) / 4;
    img.hline(left, gy, right - left, i === 0 ? INK : GRID);
    const label = p.format((maxY * i) / 4);
    img.text(left - 6 - Raster.textWidth(label), gy - 4, label, INK);
  }
  // Ticks at the measured x values; a label that would overlap the previous one is left out.
  let freeFrom = -Infinity;
  for (const v of xs) {
    const label = compact(v);
    const lx = sx(v) - Raster.textWidth(label) / 2;
    img.fill(sx(v), bottom, 1, 5, INK);
    if (lx < freeFrom) continue;
    img.text(lx, bottom + 9, label, INK);
    freeFrom = lx + Raster.textWidth(label) + 6;
  }
  img.text((left + right) / 2 - Raster.textWidth(p.xLabel) / 2, bottom + 24, p.xLabel, INK);
  p.series.forEach((s, si) => {
    const line = s.points.filter(([px, py]) => Number.isFinite(px) && Number.isFinite(py));
    for (let i = 1; i < line.length; i++)
      segment(img, sx(line[i - 1]![0]), sy(line[i - 1]![1]), sx(line[i]![0]), sy(line[i]![1]), s.color);
    for (const [px, py] of line) img.fill(sx(px) - 3, sy(py) - 3, 7, 7, s.color);
    img.fill(left + 10 + si * 150, top - 14, 12, 12, s.color);
    img.text(left + 28 + si * 150, top - 11, s.name, INK);
  });
}

/** A 2-pixel line from (ax, ay) to (bx, by), drawn as dots along its longer axis. */
function segment(img: Raster, ax: number, ay: number, bx: number, by: number, c: Rgb): void {
  const steps = Math.max(1, Math.ceil(Math.max(Math.abs(bx - ax), Math.abs(by - ay))));
  for (let i = 0; i <= steps; i++) img.fill(ax + ((bx - ax) * i) / steps, ay + ((by - ay) * i) / steps, 2, 2, c);
}

/** Panels in two columns under a caption. */
export function renderLineCharts(panels: LinePanel[], caption: string): Buffer {
  const W = 1280;
  const ph = 380;
  const rowsCount = Math.ceil(panels.length / 2);
  const img = new Raster(W, 50 + rowsCount * ph);
  img.text(20, 14, caption, INK, 2);
  panels.forEach((p, i) => drawPanel(img, (i % 2) * (W / 2), 50 + Math.floor(i / 2) * ph, W / 2, ph, p));
  return img.png();
}
