/** The TypeScript files under a folder of the repository, for tests that read the source itself. */
import { readdirSync } from "node:fs";
import { join } from "node:path";

export function sources(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) sources(path, out);
    else if (entry.name.endsWith(".ts")) out.push(path);
  }
  return out;
}
