/** @module TLS options for talking to Vault: daprd's caPem > caPath > caCert precedence, skipVerify, tlsServerName. */
import { X509Certificate } from "node:crypto";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { ConnectionOptions } from "node:tls";
import { fileReadReason, readRegularTextFile } from "../shared/files.js";
import { SecretStoreError } from "../types.js";
import type { TlsSettings } from "./config.js";

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The certificates in a PEM text; fails like daprd ("couldn't read PEM") when there is none or one is broken. */
function certificates(pem: string, source: string): string[] {
  const blocks = pem.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0)
    throw new SecretStoreError("invalid_config", `couldn't read PEM from ${source}: no certificate found`);
  for (const b of blocks) {
    try {
      new X509Certificate(b);
    } catch (err) {
      throw new SecretStoreError("invalid_config", `couldn't read PEM from ${source}: ${(err as Error).message}`);
    }
  }
  return blocks;
}

async function readCaFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readRegularTextFile(path);
  } catch (err) {
    throw new SecretStoreError("invalid_config", `couldn't read CA file from disk: ${path}: ${fileReadReason(err)}`);
  }
  return certificates(text, path);
}

/** Every file below `dir`, as daprd's filepath.Walk does. */
async function filesBelow(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesBelow(p)));
    else if (entry.isFile() || (entry.isSymbolicLink() && (await stat(p)).isFile())) out.push(p);
  }
  return out.sort();
}

export async function tlsConnectionOptions(s: TlsSettings): Promise<ConnectionOptions> {
  const opts: ConnectionOptions = { minVersion: "TLSv1.2" };
  if (s.skipVerify) {
    // As in daprd: with skipVerify no CA is loaded at all, so a broken CA setting does not matter.
    opts.rejectUnauthorized = false;
    if (s.serverName) opts.servername = s.serverName;
    return opts;
  }
  opts.rejectUnauthorized = true;
  if (s.caPem) opts.ca = certificates(s.caPem, "caPem");
  else if (s.caPath) {
    let files: string[];
    try {
      files = await filesBelow(s.caPath);
    } catch (err) {
      throw new SecretStoreError(
        "invalid_config",
        `couldn't read certificates at ${s.caPath}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      );
    }
    const all: string[] = [];
    for (const f of files) all.push(...(await readCaFile(f)));
    if (all.length === 0)
      throw new SecretStoreError(
        "invalid_config",
        `couldn't read certificates at ${s.caPath}: the folder holds no certificate`,
      );
    opts.ca = all;
  } else if (s.caCert) opts.ca = await readCaFile(s.caCert);
  if (s.serverName) opts.servername = s.serverName;
  return opts;
}
