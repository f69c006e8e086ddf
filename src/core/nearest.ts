/** @module "Did you mean …?": the known name closest to a misspelt one. */

/** Edit distance (insert, delete, substitute), case-insensitive. */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let prev = Array.from({ length: y.length + 1 }, (_v, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost));
    }
    prev = row;
  }
  return prev[y.length] as number;
}

/**
 * The candidate nearest to `name`, when it is close enough to be a likely typo (at most a third of the
 * longer name's letters differ, and never more than 4): a wild guess helps nobody.
 */
export function nearestName(name: string, candidates: Iterable<string>): string | undefined {
  // Bounded: names longer than this are not typos of a field name, and distance is quadratic.
  if (name.length > 200) return undefined;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = distance(name, c);
    if (d < bestDistance && d <= Math.min(4, Math.ceil(Math.max(name.length, c.length) / 3))) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** " (did you mean X?)" or "". */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const n = nearestName(name, candidates);
  return n === undefined ? "" : ` (did you mean ${n}?)`;
}
