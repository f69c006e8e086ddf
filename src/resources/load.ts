/** @module Loads the resources folders as daprd's disk loader does (docs/compatibility.md §5.2). */
import { readdir, stat } from "node:fs/promises";
import { extname, join } from "node:path";
import { fileReadReason, readRegularTextFile } from "../stores/shared/files.js";
import { isComponentDocument, ManifestError, readComponent, type ComponentManifest } from "./component.js";
import { field, parseYamlDocument, splitDocuments, type YamlDocument } from "./yaml-documents.js";

export interface LoadOptions {
  appId: string;
  /** The sidecar's namespace (env NAMESPACE), "" when unset. */
  namespace: string;
}

/** A non-Component Dapr document the runtime may use (Resiliency), with where it came from. */
export interface RawResource {
  kind: string;
  doc: YamlDocument;
  file: string;
}

export interface LoadedResources {
  /** Accepted secret store components, in load order. */
  secretStores: ComponentManifest[];
  others: RawResource[];
  /** Everything daprd also only warns about: the rest still loads. */
  warnings: string[];
  /** The warnings that are mistakes in a file (broken YAML, malformed component), for `keyward validate`. */
  problems: string[];
  /** Files that could not be read or held a broken document: a hot reload keeps what they defined before. */
  brokenFiles: Set<string>;
}

export class ResourceLoadError extends Error {}

/** A resource document's text and where it came from: a file, or `components.dapr.io/NAME` from the API server. */
export interface ResourceText {
  file: string;
  text: string;
}

export async function loadResources(dirs: readonly string[], opts: LoadOptions): Promise<LoadedResources> {
  const out = emptyResult();
  const texts: ResourceText[] = [];
  for (const dir of dirs) {
    for (const file of await listManifestFiles(dir, out)) {
      try {
        texts.push({ file, text: await readRegularTextFile(file) });
      } catch (err) {
        problem(out, file, `${file}: cannot read (${fileReadReason(err)}); skipped`);
      }
    }
  }
  return parseResources(texts, opts, out);
}

function emptyResult(): LoadedResources {
  return { secretStores: [], others: [], warnings: [], problems: [], brokenFiles: new Set() };
}

function problem(out: LoadedResources, file: string, msg: string): void {
  out.warnings.push(msg);
  out.problems.push(msg);
  out.brokenFiles.add(file);
}

/** The loading rules for resource documents, wherever their text came from. */
export function parseResources(
  texts: readonly ResourceText[],
  opts: LoadOptions,
  out: LoadedResources = emptyResult(),
): LoadedResources {
  const accepted = new Map<string, ComponentManifest>();
  for (const { file, text } of texts) {
    for (const chunk of splitDocuments(text)) {
      if (chunk.text.trim() === "") continue;
      const doc = parseYamlDocument(chunk, "1.1");
      if (doc.error) {
        problem(out, file, `${file}:${doc.error.line}: YAML error: ${doc.error.message}; document skipped`);
        continue;
      }
      if (!isComponentDocument(doc.value)) {
        const kind = field(doc.value, "kind");
        if (typeof kind === "string" && field(doc.value, "apiVersion") === "dapr.io/v1alpha1")
          out.others.push({ kind, doc, file });
        continue;
      }
      let component: ComponentManifest;
      try {
        component = readComponent(doc, file);
      } catch (err) {
        if (!(err instanceof ManifestError)) throw err;
        problem(out, file, `${err.message}; component skipped`);
        continue;
      }
      accept(component, accepted, opts, out);
    }
  }
  return out;
}

function accept(
  c: ComponentManifest,
  accepted: Map<string, ComponentManifest>,
  opts: LoadOptions,
  out: LoadedResources,
): void {
  if (opts.namespace !== "" && c.namespace !== "" && c.namespace !== opts.namespace) return;
  const earlier = accepted.get(c.name);
  if (earlier) {
    throw new ResourceLoadError(
      `duplicate definition of Component name ${c.name}: ${earlier.file}:${earlier.line} and ${c.file}:${c.line}`,
    );
  }
  if (c.scopes.length > 0 && !c.scopes.includes(opts.appId)) return;
  accepted.set(c.name, c);
  if (c.type.toLowerCase().startsWith("secretstores.")) out.secretStores.push(c);
  else
    out.warnings.push(
      `${c.file}:${c.line}: component ${c.name} (${c.type}) is not a secret store; Keyward serves only secret stores, so it is skipped`,
    );
}

async function listManifestFiles(dir: string, out: LoadedResources): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "no such folder"
        : code === "ENOTDIR"
          ? "not a folder"
          : code === "EACCES"
            ? "permission denied"
            : (code ?? String(err));
    throw new ResourceLoadError(`cannot read resources path ${dir}: ${why}`);
  }
  const files: string[] = [];
  // Byte order, as Go's os.ReadDir; stat follows symlinks, which is how Kubernetes mounts ConfigMap files.
  for (const name of names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    const path = join(dir, name);
    let info;
    try {
      info = await stat(path);
    } catch (err) {
      // A dangling symlink, typically: say so rather than lose a component silently.
      out.warnings.push(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? "error"}); skipped`);
      out.brokenFiles.add(path);
      continue;
    }
    if (info.isDirectory()) continue;
    const ext = extname(name).toLowerCase();
    if (ext !== ".yaml" && ext !== ".yml") {
      if (info.isFile()) out.warnings.push(`${path}: not a .yaml or .yml file; skipped`);
      continue;
    }
    files.push(path);
  }
  return files;
}
