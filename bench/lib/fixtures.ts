/** @module The files the benchmark runs on: local.file secrets files and component folders, in a temp dir. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The secret every single-get figure reads, shaped like a real one (a connection string). */
export const BENCH_STORE = "local";
export const BENCH_KEY = "db-password";
export const BENCH_VALUE = "postgres://orders:Q7v2-kP9x-Lm4w-Zt8r@db.internal:5432/orders?sslmode=require";

export function componentYaml(name: string, type: string, metadata: Record<string, string>): string {
  const md = Object.entries(metadata)
    .map(([k, v]) => `  - name: ${k}\n    value: ${JSON.stringify(v)}`)
    .join("\n");
  return `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${name}\nspec:\n  type: secretstores.${type}\n  version: v1\n  metadata:\n${md}\n`;
}

/** `count` secrets of ~40-character values: `secret-00001` ... */
export function secretsDocument(count: number, extra: Record<string, string> = {}): Record<string, string> {
  const doc: Record<string, string> = { ...extra };
  for (let i = 1; i <= count; i++)
    doc[`secret-${String(i).padStart(5, "0")}`] = `value-${i}-${"x".repeat(24)}-${(i * 7919) % 10007}`;
  return doc;
}

export class Workspace {
  readonly dir = mkdtempSync(join(tmpdir(), "keyward-bench-"));

  /** A resources folder with one local.file component per entry. */
  resources(name: string, stores: Record<string, Record<string, string>>): string {
    const res = join(this.dir, name);
    mkdirSync(res, { recursive: true });
    for (const [store, secrets] of Object.entries(stores)) {
      const file = join(this.dir, `${name}-${store}.json`);
      writeFileSync(file, JSON.stringify(secrets));
      writeFileSync(join(res, `${store}.yaml`), componentYaml(store, "local.file", { secretsFile: file }));
    }
    return res;
  }

  /** A resources folder with hand-written component YAML. */
  rawResources(name: string, files: Record<string, string>): string {
    const res = join(this.dir, name);
    mkdirSync(res, { recursive: true });
    for (const [file, yaml] of Object.entries(files)) writeFileSync(join(res, file), yaml);
    return res;
  }

  file(name: string, data: string | Buffer): string {
    const path = join(this.dir, name);
    writeFileSync(path, data);
    return path;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
