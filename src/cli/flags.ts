/**
 * @module Command-line flags with Go's `flag` syntax, as daprd takes them: `-name` or `--name`,
 * `--name=value` or `--name value`, booleans as `--name` or `--name=false`.
 */

export interface FlagSpec {
  name: string;
  kind: "string" | "int" | "bool" | "list";
  default?: string;
  help: string;
  /** Other names for the same flag. */
  aliases?: string[];
  /** Shown in place of the value in help, e.g. "PORT". */
  value?: string;
}

export class UsageError extends Error {}

export type ParsedFlags = Map<string, string | string[] | boolean>;

export function parseFlags(
  argv: readonly string[],
  specs: readonly FlagSpec[],
): { flags: ParsedFlags; rest: string[] } {
  const byName = new Map<string, FlagSpec>();
  for (const s of specs) for (const n of [s.name, ...(s.aliases ?? [])]) byName.set(n, s);
  const flags: ParsedFlags = new Map();
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      rest.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      rest.push(arg);
      continue;
    }
    const body = arg.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const name = eq < 0 ? body : body.slice(0, eq);
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`unknown flag ${arg.split("=")[0]}${didYouMean(name, [...byName.keys()])}`);
    let value: string | undefined = eq < 0 ? undefined : body.slice(eq + 1);
    if (spec.kind === "bool") {
      if (value === undefined) flags.set(spec.name, true);
      else if (/^(1|t|true)$/i.test(value)) flags.set(spec.name, true);
      else if (/^(0|f|false)$/i.test(value)) flags.set(spec.name, false);
      else throw new UsageError(`invalid boolean value ${JSON.stringify(value)} for --${spec.name}`);
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`flag --${spec.name} needs a value`);
      value = argv[++i]!;
    }
    if (spec.kind === "int" && !/^-?\d+$/.test(value))
      throw new UsageError(`invalid value ${JSON.stringify(value)} for --${spec.name}: not an integer`);
    if (spec.kind === "list") {
      const prev = flags.get(spec.name);
      flags.set(spec.name, [...(Array.isArray(prev) ? prev : []), value]);
    } else flags.set(spec.name, value);
  }
  return { flags, rest };
}

export function flagHelp(specs: readonly FlagSpec[]): string {
  const rows = specs.map((s) => {
    const names = [s.name, ...(s.aliases ?? [])].map((n) => `--${n}`).join(", ");
    const left = `  ${names}${s.kind === "bool" ? "" : ` ${s.value ?? "string"}`}`;
    const def = s.default !== undefined && s.default !== "" ? ` (default ${s.default})` : "";
    return `${left.padEnd(44)} ${s.help}${def}`;
  });
  return rows.join("\n");
}

export function str(flags: ParsedFlags, specs: readonly FlagSpec[], name: string): string {
  const v = flags.get(name);
  if (typeof v === "string") return v;
  return specs.find((s) => s.name === name)?.default ?? "";
}

export function list(flags: ParsedFlags, name: string): string[] {
  const v = flags.get(name);
  return Array.isArray(v) ? v : [];
}

export function bool(flags: ParsedFlags, specs: readonly FlagSpec[], name: string): boolean {
  const v = flags.get(name);
  if (typeof v === "boolean") return v;
  return specs.find((s) => s.name === name)?.default === "true";
}

export function port(flags: ParsedFlags, specs: readonly FlagSpec[], name: string): number {
  const n = Number(str(flags, specs, name));
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UsageError(`invalid value for --${name}: ${n} is not a port (0-65535)`);
  return n;
}

/** Kubernetes-style quantities as daprd's --max-body-size takes them: 4Mi, 512Ki, 1G, 1000. */
export function parseQuantity(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|k|M|G)?$/.exec(text.trim());
  if (!m) throw new UsageError(`invalid value ${JSON.stringify(text)} for --${flag}: use a size such as 4Mi or 512Ki`);
  const mult: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, K: 1000, k: 1000, M: 1e6, G: 1e9 };
  const n = Math.floor(Number(m[1]) * (m[2] ? mult[m[2]]! : 1));
  if (n <= 0) throw new UsageError(`invalid value for --${flag}: must be more than 0`);
  return n;
}

/** `; did you mean --x?` for the closest known flag name, when one is close enough to be a typo. */
export function didYouMean(name: string, known: readonly string[]): string {
  let best = "";
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  const limit = Math.max(1, Math.min(3, Math.floor(name.length / 3)));
  return bestDistance <= limit ? `; did you mean --${best}?` : "";
}

function editDistance(a: string, b: string): number {
  // Long garbage must not cost quadratic time: no flag name is longer than this.
  if (a.length > 64 || b.length > 64) return Infinity;
  let prev = Array.from({ length: b.length + 1 }, (_v, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
