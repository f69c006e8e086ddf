/** @module Refreshes a generated block (`<!-- name:begin -->` … `<!-- name:end -->`) of docs/performance.md. */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const DOCS = fileURLToPath(new URL("../../../docs/performance.md", import.meta.url));

/** Replaces the block's content with `md`; does nothing when the file or its markers are missing. */
export function updateDocsBlock(name: string, md: string): void {
  if (!existsSync(DOCS)) return;
  const text = readFileSync(DOCS, "utf8");
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a < 0 || b < a) return;
  writeFileSync(DOCS, `${text.slice(0, a + begin.length)}\n${md}${text.slice(b)}`);
}
