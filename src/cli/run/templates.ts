/**
 * @module `--template SRC:DEST`: Handlebars templates whose `{{ secret "STORE" "NAME" "KEY" }}` calls are
 * filled from the secrets API, written to DEST with mode 0600 through a temporary file and a rename, so
 * a reader never sees half a file. No HTML escaping: a value reaches the file byte for byte.
 */
import { createHash, randomBytes } from "node:crypto";
import { open, readFile, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import Handlebars from "handlebars";
import { UsageError } from "../flags.js";
import { SecretReadError, type SecretBatch, type SecretRef } from "./secret-source.js";

/** A template is configuration, not data: anything larger is a mistake. */
const MAX_TEMPLATE_BYTES = 1024 * 1024;

export interface TemplateSpec {
  src: string;
  dest: string;
}

/** Parses `SRC:DEST` (split at the first `:`), both relative to `cwd`. */
export function parseTemplateSpec(text: string, cwd: string): TemplateSpec {
  const colon = text.indexOf(":");
  if (colon <= 0 || colon === text.length - 1 || text.includes("\0"))
    throw new UsageError(`invalid --template ${JSON.stringify(text)}: use SRC:DEST`);
  return { src: resolve(cwd, text.slice(0, colon)), dest: resolve(cwd, text.slice(colon + 1)) };
}

type Render = (helper: (...args: unknown[]) => string) => string;

export class SecretTemplate {
  private constructor(
    readonly spec: TemplateSpec,
    private readonly render: Render,
  ) {}

  static async load(spec: TemplateSpec): Promise<SecretTemplate> {
    const info = await stat(spec.src).catch((err: NodeJS.ErrnoException) => {
      throw new SecretReadError(`template ${spec.src}: ${err.code === "ENOENT" ? "no such file" : err.message}`);
    });
    if (!info.isFile()) throw new SecretReadError(`template ${spec.src}: not a regular file`);
    if (info.size > MAX_TEMPLATE_BYTES)
      throw new SecretReadError(`template ${spec.src}: larger than ${MAX_TEMPLATE_BYTES} bytes`);
    const text = await readFile(spec.src, "utf8");
    const hb = Handlebars.create();
    let compiled: ReturnType<typeof hb.compile>;
    try {
      compiled = hb.compile(text, { noEscape: true, strict: true });
    } catch (err) {
      throw new SecretReadError(`template ${spec.src}: ${(err as Error).message}`);
    }
    const render: Render = (helper) => {
      try {
        return compiled({}, { helpers: { secret: helper }, allowProtoPropertiesByDefault: false });
      } catch (err) {
        if (err instanceof SecretReadError) throw err;
        throw new SecretReadError(`template ${spec.src}: ${(err as Error).message}`);
      }
    };
    // A first pass with a recording helper checks the template and finds every secret it reads.
    const t = new SecretTemplate(spec, render);
    t.refs();
    return t;
  }

  /** The secrets this template reads. */
  refs(): SecretRef[] {
    const found: SecretRef[] = [];
    this.render((...args) => {
      found.push(this.refOf(args));
      return "";
    });
    return found;
  }

  /** Renders with the values of `batch`; the text holds secrets, so it goes only to the file. */
  async renderWith(batch: SecretBatch): Promise<string> {
    const refs = this.refs();
    const values = await Promise.all(refs.map((r) => batch.value(r)));
    let i = 0;
    return this.render(() => values[i++]!);
  }

  private refOf(args: unknown[]): SecretRef {
    const params = args.slice(0, -1);
    if (params.length < 2 || params.length > 3 || params.some((p) => typeof p !== "string" || p === ""))
      throw new SecretReadError(
        `template ${this.spec.src}: use {{ secret "STORE" "NAME" }} or {{ secret "STORE" "NAME" "KEY" }}`,
      );
    const [store, name, key] = params as string[];
    return { store: store!, name: name!, key: key ?? "" };
  }
}

/** Writes `text` to `dest` with mode 0600: a temporary file beside it, fsync, then rename over it. */
export async function writeAtomically(dest: string, text: string): Promise<void> {
  const existing = await stat(dest).catch(() => undefined);
  if (existing?.isDirectory()) throw new SecretReadError(`cannot write ${dest}: it is a folder`);
  const tmp = join(dirname(dest), `.${basename(dest)}.${randomBytes(6).toString("hex")}.tmp`);
  let file;
  try {
    file = await open(tmp, "wx", 0o600);
  } catch (err) {
    throw new SecretReadError(`cannot write ${dest}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    await file.writeFile(text, "utf8");
    await file.sync();
    await file.close();
    await rename(tmp, dest);
  } catch (err) {
    await file.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw new SecretReadError(`cannot write ${dest}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export function digest(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
