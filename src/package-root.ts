/**
 * @module Where the installed package is. The code runs from two layouts (tsc's dist/src/... for the tests,
 * and the bundle's dist/keyward/ chunks when installed), so files shipped beside it (proto/, bin/) are
 * found by walking up from this module to the folder that holds the vendored protos, not by a fixed
 * number of `..`.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** A file only Keyward's package root holds. */
const MARKER = join("proto", "dapr", "proto", "runtime", "v1", "dapr.proto");

function findPackageRoot(start: string): string {
  for (let dir = start; ;) {
    if (existsSync(join(dir, MARKER))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`Keyward's proto/ folder was not found above ${start}; the package is incomplete`);
    dir = up;
  }
}

export const PACKAGE_ROOT = findPackageRoot(dirname(fileURLToPath(import.meta.url)));
