/**
 * The whole local Azure: one tenant, its HTTPS authority, a managed identity endpoint and an HTTPS Key Vault,
 * sharing one test CA. Plus helpers for client certificates (PEM and PFX via openssl) and a stand-in `az` CLI.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeTestTls, type TestTls } from "../../helpers/tls.js";
import { startAuthorityServer, type AuthorityServer } from "./authority.js";
import { Directory, type Principal } from "./directory.js";
import { startKeyVaultServer, type KeyVaultServer } from "./keyvault.js";
import { startManagedIdentityServer, type ManagedIdentityServer } from "./managed-identity.js";

export { Directory } from "./directory.js";
export type { Principal, AppRegistration, FederationIssuer } from "./directory.js";
export type { KeyVaultServer, Permission } from "./keyvault.js";

export interface AzureTestEnvironment {
  tls: TestTls;
  directory: Directory;
  authority: AuthorityServer;
  identity: ManagedIdentityServer;
  vault: KeyVaultServer;
  close(): Promise<void>;
}

export async function startAzureTestEnvironment(
  opts: { resource?: string; hosts?: string[] } = {},
): Promise<AzureTestEnvironment> {
  const tls = makeTestTls(opts.hosts);
  const directory = new Directory();
  const authority = await startAuthorityServer(directory, tls);
  const identity = await startManagedIdentityServer(directory);
  const vault = await startKeyVaultServer({ directory, tls, resource: opts.resource });
  return {
    tls,
    directory,
    authority,
    identity,
    vault,
    async close() {
      await Promise.all([authority.close(), identity.close(), vault.close()]);
    },
  };
}

export interface ClientCertificate {
  dir: string;
  /** Certificate then unencrypted PKCS#8 key, PEM. */
  pem: string;
  certPem: string;
  /** Certificate then key encrypted with `password`, PEM. */
  encryptedPem: string;
  /** PFX (PBES2/AES-256, OpenSSL 3 default) with `password`. */
  pfx: Buffer;
  /** PFX as OpenSSL 1.x wrote it: RC2-40 certificates, 3DES key. */
  legacyPfx: Buffer;
  password: string;
}

/** A self-signed RSA client certificate in every shape users hand to azureCertificate/azureCertificateFile. */
export function makeClientCertificate(password: string): ClientCertificate {
  const dir = mkdtempSync(join(tmpdir(), "keyward-azcert-"));
  const p = (n: string) => join(dir, n);
  const ssl = (...args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  ssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=keyward-test-client",
    "-keyout",
    p("key.pem"),
    "-out",
    p("cert.pem"),
  );
  ssl(
    "pkcs8",
    "-topk8",
    "-in",
    p("key.pem"),
    "-out",
    p("key.enc.pem"),
    "-passout",
    `pass:${password}`,
    "-v2",
    "aes-256-cbc",
  );
  ssl(
    "pkcs12",
    "-export",
    "-in",
    p("cert.pem"),
    "-inkey",
    p("key.pem"),
    "-out",
    p("cert.pfx"),
    "-passout",
    `pass:${password}`,
  );
  ssl(
    "pkcs12",
    "-export",
    "-legacy",
    "-in",
    p("cert.pem"),
    "-inkey",
    p("key.pem"),
    "-out",
    p("legacy.pfx"),
    "-passout",
    `pass:${password}`,
  );
  const certPem = readFileSync(p("cert.pem"), "utf8");
  const keyPem = readFileSync(p("key.pem"), "utf8");
  return {
    dir,
    certPem,
    pem: `${certPem}${keyPem}`,
    encryptedPem: `${certPem}${readFileSync(p("key.enc.pem"), "utf8")}`,
    pfx: readFileSync(p("cert.pfx")),
    legacyPfx: readFileSync(p("legacy.pfx")),
    password,
  };
}

/**
 * A stand-in `az` on a private PATH folder: answers `az account get-access-token --resource R` with a token the
 * directory issued for `user`, as the real CLI prints it, and fails like the CLI when asked anything else.
 */
export function makeFakeAzCli(directory: Directory, user: Principal): { dir: string; calls: () => string[] } {
  const dir = mkdtempSync(join(tmpdir(), "keyward-az-"));
  const log = join(dir, "calls.log");
  const tokens: Record<string, string> = {};
  for (const resource of ["https://vault.azure.net", "https://vault.azure.cn", "https://vault.usgovcloudapi.net"]) {
    tokens[resource] = directory.issueAccessToken(user, resource, "cli", 3600).token;
  }
  writeFileSync(join(dir, "tokens.json"), JSON.stringify(tokens));
  const script = `#!/usr/bin/env node
const fs = require("fs");
const args = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(log)}, args.join(" ") + "\\n");
if (args[0] !== "account" || args[1] !== "get-access-token") { process.stderr.write("ERROR: unsupported command\\n"); process.exit(2); }
const resource = args[args.indexOf("--resource") + 1];
const token = JSON.parse(fs.readFileSync(${JSON.stringify(join(dir, "tokens.json"))}, "utf8"))[resource];
if (!token) { process.stderr.write("ERROR: Please run 'az login' to setup account.\\n"); process.exit(1); }
const exp = Math.floor(Date.now() / 1000) + 3600;
process.stdout.write(JSON.stringify({ accessToken: token, expiresOn: new Date(exp * 1000).toISOString().replace("T", " ").slice(0, 19), expires_on: exp, subscription: "00000000-0000-0000-0000-000000000000", tenant: ${JSON.stringify(directory.tenantId)}, tokenType: "Bearer" }, null, 2));
`;
  writeFileSync(join(dir, "az"), script);
  chmodSync(join(dir, "az"), 0o755);
  return {
    dir,
    calls: () => {
      try {
        return readFileSync(log, "utf8").trim().split("\n").filter(Boolean);
      } catch {
        return [];
      }
    },
  };
}
