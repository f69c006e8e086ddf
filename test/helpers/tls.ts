/** Test-only TLS material: a throwaway CA and a server certificate for 127.0.0.1/localhost, made with openssl. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestTls {
  dir: string;
  caPath: string;
  certPath: string;
  keyPath: string;
  ca: string;
  cert: string;
  key: string;
}

/** Makes a CA and a leaf certificate valid for `hosts` (DNS names or IPs). Takes ~50 ms. */
export function makeTestTls(hosts: string[] = ["localhost", "127.0.0.1"]): TestTls {
  const dir = mkdtempSync(join(tmpdir(), "keyward-tls-"));
  const p = (n: string) => join(dir, n);
  const ssl = (...args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  ssl(
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=Keyward Test CA",
    "-keyout",
    p("ca.key"),
    "-out",
    p("ca.crt"),
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  );
  ssl(
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-subj",
    `/CN=${hosts[0] ?? "localhost"}`,
    "-keyout",
    p("server.key"),
    "-out",
    p("server.csr"),
  );
  const san = hosts.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(",");
  writeFileSync(p("ext.cnf"), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
  ssl(
    "x509",
    "-req",
    "-in",
    p("server.csr"),
    "-CA",
    p("ca.crt"),
    "-CAkey",
    p("ca.key"),
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    p("ext.cnf"),
    "-out",
    p("server.crt"),
  );
  return {
    dir,
    caPath: p("ca.crt"),
    certPath: p("server.crt"),
    keyPath: p("server.key"),
    ca: readFileSync(p("ca.crt"), "utf8"),
    cert: readFileSync(p("server.crt"), "utf8"),
    key: readFileSync(p("server.key"), "utf8"),
  };
}
