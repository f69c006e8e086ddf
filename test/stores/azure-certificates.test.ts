/** Client certificates for azure.keyvault: every PEM and PKCS#12 shape users hand over, decoded without OpenSSL's CLI. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { certificatePem } from "../../src/stores/azure/credentials.js";
import { looksLikePkcs12, MAC_MISMATCH, readPkcs12 } from "../../src/stores/azure/pkcs12.js";

const dir = mkdtempSync(join(tmpdir(), "keyward-pkcs12-"));
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
  "/CN=ca",
  "-keyout",
  p("ca.key"),
  "-out",
  p("ca.pem"),
);
ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=leaf", "-keyout", p("leaf.key"), "-out", p("leaf.csr"));
ssl(
  "x509",
  "-req",
  "-in",
  p("leaf.csr"),
  "-CA",
  p("ca.pem"),
  "-CAkey",
  p("ca.key"),
  "-CAcreateserial",
  "-days",
  "2",
  "-out",
  p("leaf.pem"),
);
const leaf = new X509Certificate(readFileSync(p("leaf.pem")));
const PASSWORD = "pfx-pass-123";

function pfx(name: string, ...args: string[]): Buffer {
  ssl(
    "pkcs12",
    "-export",
    "-in",
    p("leaf.pem"),
    "-inkey",
    p("leaf.key"),
    "-certfile",
    p("ca.pem"),
    "-out",
    p(name),
    ...args,
  );
  return readFileSync(p(name));
}

describe("azure.keyvault certificates", () => {
  const variants: [string, Buffer, string][] = [
    ["OpenSSL 3 default (PBES2, PBKDF2-SHA256, AES-256-CBC)", pfx("aes.pfx", "-passout", `pass:${PASSWORD}`), PASSWORD],
    [
      "OpenSSL 1.x / -legacy (RC2-40 certificates, 3DES key)",
      pfx("legacy.pfx", "-legacy", "-passout", `pass:${PASSWORD}`),
      PASSWORD,
    ],
    [
      "3DES certificates and key",
      pfx("3des.pfx", "-certpbe", "PBE-SHA1-3DES", "-keypbe", "PBE-SHA1-3DES", "-passout", `pass:${PASSWORD}`),
      PASSWORD,
    ],
    [
      "unencrypted certificates, AES-128 key",
      pfx("nocertenc.pfx", "-certpbe", "NONE", "-keypbe", "AES-128-CBC", "-passout", `pass:${PASSWORD}`),
      PASSWORD,
    ],
    ["empty password", pfx("empty.pfx", "-passout", "pass:"), ""],
  ];
  for (const [label, data, password] of variants) {
    it(`reads a PFX: ${label}`, () => {
      assert.ok(looksLikePkcs12(data));
      const parsed = readPkcs12(data, password);
      assert.equal(parsed.certificates.length, 2);
      assert.ok(parsed.certificates.some((der) => new X509Certificate(der).fingerprint256 === leaf.fingerprint256));
      assert.ok(leaf.checkPrivateKey(parsed.privateKey));
    });
  }

  it("turns a PFX into PEM with the leaf first, the chain after it, then the key", () => {
    const pem = certificatePem(variants[0]![1], PASSWORD, "test");
    const certs = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    assert.equal(certs.length, 2);
    assert.equal(new X509Certificate(certs[0]!).fingerprint256, leaf.fingerprint256);
    assert.ok(leaf.checkPrivateKey(createPrivateKey(pem)));
    const b64 = certificatePem(Buffer.from(variants[1]![1].toString("base64")), PASSWORD, "test");
    assert.equal(b64, certificatePem(variants[1]![1], PASSWORD, "test"));
  });

  it("PEM: PKCS#1, PKCS#8 and encrypted keys; a key before the certificate", () => {
    const cert = readFileSync(p("leaf.pem"), "utf8");
    const pkcs8 = readFileSync(p("leaf.key"), "utf8");
    ssl("rsa", "-in", p("leaf.key"), "-traditional", "-out", p("leaf.rsa.key"));
    ssl("pkcs8", "-topk8", "-in", p("leaf.key"), "-out", p("leaf.enc.key"), "-passout", `pass:${PASSWORD}`);
    for (const [label, text, password] of [
      ["PKCS#8", `${cert}${pkcs8}`, undefined],
      ["PKCS#1", `${cert}${readFileSync(p("leaf.rsa.key"), "utf8")}`, undefined],
      ["encrypted", `${cert}${readFileSync(p("leaf.enc.key"), "utf8")}`, PASSWORD],
      ["key first", `${pkcs8}${cert}`, undefined],
      ["one line with literal \\n", `${cert}${pkcs8}`.replace(/\n/g, "\\n"), undefined],
    ] as const) {
      const pem = certificatePem(Buffer.from(text), password, "test");
      assert.ok(leaf.checkPrivateKey(createPrivateKey(pem)), label);
    }
  });

  it("says what is wrong, never echoing the password", () => {
    const wrong = "wrong-password-canary";
    for (const [data, label] of [
      [variants[0]![1], "aes"],
      [variants[1]![1], "legacy"],
    ] as const) {
      assert.throws(
        () => certificatePem(data, wrong, "azureCertificateFile x.pfx"),
        (err: Error) => {
          assert.match(
            err.message,
            /azureCertificateFile x\.pfx: cannot open the PKCS#12 bundle; azureCertificatePassword is missing or wrong/,
            label,
          );
          assert.ok(!err.message.includes(wrong));
          return true;
        },
      );
    }
    const cert = readFileSync(p("leaf.pem"), "utf8");
    assert.throws(() => certificatePem(Buffer.from(cert), undefined, "azureCertificate"), /holds no PEM private key/);
    assert.throws(
      () => certificatePem(Buffer.from(`${cert}${readFileSync(p("ca.key"), "utf8")}`), undefined, "azureCertificate"),
      /no certificate in it matches its private key/,
    );
    assert.throws(
      () => certificatePem(Buffer.from("not a certificate"), undefined, "azureCertificate"),
      /neither PEM nor a PKCS#12/,
    );
    ssl("pkcs8", "-topk8", "-in", p("leaf.key"), "-out", p("leaf.enc2.key"), "-passout", `pass:${PASSWORD}`);
    assert.throws(
      () =>
        certificatePem(
          Buffer.from(`${cert}${readFileSync(p("leaf.enc2.key"), "utf8")}`),
          undefined,
          "azureCertificate",
        ),
      /cannot decrypt the private key; azureCertificatePassword is missing or wrong/,
    );
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
      "/CN=ec",
      "-keyout",
      p("ec.key"),
      "-out",
      p("ec.pem"),
    );
    assert.throws(
      () =>
        certificatePem(
          Buffer.from(`${readFileSync(p("ec.pem"), "utf8")}${readFileSync(p("ec.key"), "utf8")}`),
          undefined,
          "azureCertificate",
        ),
      /private key is ec; Microsoft Entra ID client certificates need an RSA key/,
    );
  });

  for (const macalg of ["sha1", "sha256", "sha384", "sha512"]) {
    it(`checks the PFX MAC (${macalg}): the right password loads, a wrong one or one changed byte is refused`, () => {
      // Unencrypted certificates: without the MAC check a changed certificate byte would be read as it is.
      const data = pfx(`mac-${macalg}.pfx`, "-macalg", macalg, "-certpbe", "NONE", "-passout", `pass:${PASSWORD}`);
      assert.ok(leaf.checkPrivateKey(readPkcs12(data, PASSWORD).privateKey));
      assert.throws(() => readPkcs12(data, `${PASSWORD}x`), { message: MAC_MISMATCH });
      const certAt = data.indexOf(leaf.raw.subarray(leaf.raw.length - 40));
      assert.ok(certAt > 0, "the certificate is stored in clear");
      const tampered = Buffer.from(data);
      tampered[certAt] = (tampered[certAt] as number) ^ 1;
      assert.throws(() => readPkcs12(tampered, PASSWORD), { message: MAC_MISMATCH });
      assert.throws(
        () => certificatePem(tampered, PASSWORD, "azureCertificateFile t.pfx"),
        /t\.pfx: cannot open the PKCS#12 bundle; .*damaged or was altered/,
      );
    });
  }

  it("reads a PFX exported without a MAC, and an empty-password PFX with a SHA-1 MAC", () => {
    const nomac = pfx("nomac.pfx", "-nomac", "-passout", `pass:${PASSWORD}`);
    assert.ok(leaf.checkPrivateKey(readPkcs12(nomac, PASSWORD).privateKey));
    const empty = pfx("empty-sha1.pfx", "-macalg", "sha1", "-passout", "pass:");
    assert.ok(leaf.checkPrivateKey(readPkcs12(empty, "").privateKey));
    assert.throws(() => readPkcs12(empty, "x"), { message: MAC_MISMATCH });
  });

  it("refuses ASN.1 nested without end and out-of-range iteration counts with a clear error", () => {
    const nested = Buffer.alloc(200_000);
    for (let i = 0; i < nested.length; i += 2) nested.set([0x30, 0x80], i);
    assert.throws(() => readPkcs12(nested, ""), /nested deeper than/);
    assert.equal(looksLikePkcs12(nested), false);
    const good = pfx("iter.pfx", "-passout", `pass:${PASSWORD}`);
    const iterAt = good.lastIndexOf(Buffer.from([0x02, 0x02, 0x08, 0x00]));
    assert.ok(iterAt > 0, "the MAC's iteration count (2048) is where OpenSSL puts it");
    const zero = Buffer.from(good);
    zero.set([0x02, 0x02, 0x00, 0x00], iterAt);
    assert.throws(() => readPkcs12(zero, PASSWORD), /iteration count 0 is out of range/);
  });
});
