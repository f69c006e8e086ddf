/**
 * @module Splits a resource file into YAML documents the way daprd does (on "\n---", the separator line
 * consumed), so one broken document never hides the others, and keeps each document's first line.
 */
import { LineCounter, parseDocument, isMap, isSeq, isScalar, visit, type Node, type Tags } from "yaml";

export interface YamlDocument {
  /** 1-based line of the document's first line in the file. */
  line: number;
  /** Plain JS value, or undefined when the document did not parse. */
  value: unknown;
  /** First parse error with its file line; never quotes the file's text (it may hold credentials). */
  error?: { line: number; message: string };
  /**
   * Line in the file of the node at a (case-insensitive) key path, for precise messages; with `atKey`, of
   * the last key itself (a block value starts on the line after it).
   */
  lineOf(path: readonly (string | number)[], atKey?: boolean): number;
}

export function splitDocuments(text: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  let start = 0;
  let line = 1;
  for (;;) {
    const i = text.indexOf("\n---", start);
    if (i < 0) {
      out.push({ text: text.slice(start), line });
      return out;
    }
    const nl = text.indexOf("\n", i + 4);
    // In a CRLF file the "\r" before the separator ends the document's last line; the yaml package would
    // otherwise read it as part of the last value.
    const end = i > start && text.charCodeAt(i - 1) === 13 ? i - 1 : i;
    out.push({ text: text.slice(start, end), line });
    const next = nl < 0 ? text.length : nl + 1;
    line += countLines(text, start, next);
    start = next;
    if (nl < 0) return out;
  }
}

function countLines(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

/**
 * go-yaml v2 (which daprd's manifest decoder uses) keeps timestamps and sexagesimal numbers (`1:20`) as
 * strings and integers exact; the yaml package's 1.1 schema would turn them into Dates, 80 and doubles.
 */
const GO_YAML_V2 = {
  intAsBigInt: true,
  customTags: (tags: Tags) =>
    tags.filter((t) => typeof t !== "string" && t.tag !== "tag:yaml.org,2002:timestamp" && t.format !== "TIME"),
};

/**
 * Every Configuration field Keyward reads is a Go string, and yaml.v3 decodes any scalar into a string
 * as written: `allowedSecrets: [007, 1.0]` names "007" and "1.0", not 7 and 1.
 */
const SCALAR_TYPES = new Set(["tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"]);
const YAML_V3_INTO_STRINGS = {
  customTags: (tags: Tags) => tags.filter((t) => typeof t === "string" || !SCALAR_TYPES.has(t.tag)),
};

/**
 * Parses one document. Component manifests are YAML 1.1 in daprd (`yes` is a boolean), Configuration
 * files YAML 1.2 with every scalar kept as text; the caller chooses.
 */
export function parseYamlDocument(chunk: { text: string; line: number }, version: "1.1" | "1.2"): YamlDocument {
  const counter = new LineCounter();
  const doc = parseDocument(chunk.text, {
    version,
    prettyErrors: false,
    lineCounter: counter,
    uniqueKeys: true,
    ...(version === "1.1" ? GO_YAML_V2 : YAML_V3_INTO_STRINGS),
  });
  const toLine = (offset: number) => counter.linePos(offset).line + chunk.line - 1;
  const lineOf = (path: readonly (string | number)[], atKey = false) => {
    let node: unknown = doc.contents;
    let found = node as Node | null;
    for (const [i, key] of path.entries()) {
      if (isMap(node)) {
        const lower = String(key).toLowerCase();
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value).toLowerCase() === lower);
        node = atKey && i === path.length - 1 ? pair?.key : pair?.value;
      } else if (isSeq(node) && typeof key === "number") node = node.items[key];
      else break;
      if (node && typeof node === "object" && "range" in node) found = node as Node;
    }
    return found?.range ? toLine(found.range[0]) : chunk.line;
  };
  const first = doc.errors[0];
  if (first) {
    return {
      line: chunk.line,
      value: undefined,
      error: { line: toLine(first.pos[0]), message: safeMessage(first.message) },
      lineOf,
    };
  }
  let value: unknown;
  let aliasLine = chunk.line;
  visit(doc, {
    Alias(_key, node) {
      if (node.range) aliasLine = toLine(node.range[0]);
      return visit.BREAK;
    },
  });
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    return {
      line: aliasLine,
      value: undefined,
      error: { line: aliasLine, message: safeMessage((err as Error).message) },
      lineOf,
    };
  }
  if (isCircular(value)) {
    return {
      line: chunk.line,
      value: undefined,
      error: { line: aliasLine, message: "an alias refers to the node that contains it" },
      lineOf,
    };
  }
  return { line: chunk.line, value, lineOf };
}

/**
 * The yaml package quotes the offending token after a colon in some messages ("Block scalar header
 * includes extra characters: >s3cret", "Unresolved alias ...: *pa55"); an unquoted password can be that
 * token, so only the part before it is kept.
 */
function safeMessage(message: string): string {
  return message
    .split("\n")[0]!
    .replace(/ at line \d+, column \d+:?$/, "")
    .replace(/:\s.*$/, "")
    .replace(/^(Invalid escape sequence) .*$/, "$1");
}

function isCircular(v: unknown, seen: Set<object> = new Set()): boolean {
  if (typeof v !== "object" || v === null) return false;
  if (seen.has(v)) return true;
  seen.add(v);
  const found = Object.values(v).some((x) => isCircular(x, seen));
  seen.delete(v);
  return found;
}

/** daprd decodes manifests through encoding/json: field names match case-insensitively. */
export function field(obj: unknown, name: string): unknown {
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) return undefined;
  const rec = obj as Record<string, unknown>;
  if (Object.hasOwn(rec, name)) return rec[name];
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(rec)) if (k.toLowerCase() === lower) return v;
  return undefined;
}
