/**
 * @module The exports of a CommonJS package loaded with `import()`. Node offers the named exports it finds
 * by static analysis beside `default`; in the bundled artefact the package sits in a chunk of its own that
 * exports only `default` (the package's `module.exports`). Reading `default` when it is all there is
 * gives the same object both ways.
 */
export function commonJsExports<T extends object>(mod: T): T {
  const keys = Object.keys(mod);
  return keys.length === 1 && keys[0] === "default" ? (mod as unknown as { default: T }).default : mod;
}
