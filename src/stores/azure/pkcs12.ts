/**
 * @module Reading a PKCS#12 (PFX) bundle into a certificate and its private key with node:crypto only, because
 * @azure/identity accepts PEM alone. Handles what OpenSSL 3, OpenSSL 1.x, Windows and Azure export: PBES2
 * (PBKDF2 + AES/3DES), PKCS#12 PBE with 3DES or RC2 (RC2 implemented here, as OpenSSL 3 no longer ships it).
 */
import {
  createDecipheriv,
  createHash,
  createHmac,
  pbkdf2Sync,
  createPrivateKey,
  timingSafeEqual,
  type KeyObject,
} from "node:crypto";

interface Der {
  tag: number;
  /** Content bytes (for constructed types, the concatenated children). */
  body: Buffer;
  children: Der[];
  constructed: boolean;
}

/** Deeper than any real PFX (about 10 levels): a crafted file cannot exhaust the stack. */
const MAX_DEPTH = 32;

/** Parses one BER/DER element at `offset`; supports indefinite lengths, which some Windows exports use. */
function parseAt(buf: Buffer, offset: number, depth = 0): { node: Der; end: number } {
  if (depth > MAX_DEPTH) throw new Error(`ASN.1 nested deeper than ${MAX_DEPTH} levels`);
  if (offset + 2 > buf.length) throw new Error("truncated ASN.1");
  const tag = buf[offset] as number;
  let pos = offset + 1;
  let len = buf[pos++] as number;
  const constructed = (tag & 0x20) !== 0;
  if (len === 0x80) {
    if (!constructed) throw new Error("indefinite length on a primitive ASN.1 value");
    const children: Der[] = [];
    while (!(buf[pos] === 0 && buf[pos + 1] === 0)) {
      const child = parseAt(buf, pos, depth + 1);
      children.push(child.node);
      pos = child.end;
      if (pos >= buf.length) throw new Error("unterminated indefinite-length ASN.1 value");
    }
    return { node: { tag, body: Buffer.concat(children.map((c) => c.body)), children, constructed }, end: pos + 2 };
  }
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n > 4) throw new Error("ASN.1 length too large");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[pos++] as number);
  }
  const end = pos + len;
  if (end > buf.length) throw new Error("truncated ASN.1");
  const body = buf.subarray(pos, end);
  const children: Der[] = [];
  if (constructed) {
    for (let p = 0; p < body.length;) {
      const child = parseAt(body, p, depth + 1);
      children.push(child.node);
      p = child.end;
    }
  }
  return { node: { tag, body, children, constructed }, end };
}

function parse(buf: Buffer): Der {
  return parseAt(buf, 0).node;
}

function child(node: Der, i: number): Der {
  const c = node.children[i];
  if (!c) throw new Error("unexpected PKCS#12 structure");
  return c;
}

function oid(node: Der): string {
  if (node.tag !== 0x06) throw new Error("expected an OID");
  const b = node.body;
  const first = b[0] as number;
  const parts = [Math.floor(first / 40), first % 40];
  let v = 0;
  for (let i = 1; i < b.length; i++) {
    const byte = b[i] as number;
    v = v * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join(".");
}

/** An OCTET STRING's bytes, whether primitive or constructed (BER splits long strings). */
function octets(node: Der): Buffer {
  if (!node.constructed) return node.body;
  return Buffer.concat(node.children.map(octets));
}

function integer(node: Der): number {
  if (node.tag !== 0x02 || node.body.length > 6) throw new Error("expected a small ASN.1 INTEGER");
  let v = 0;
  for (const b of node.body) v = v * 256 + b;
  return v;
}

/** Far above what any tool exports (OpenSSL 2048, Windows 2000 to 600000): a crafted count cannot stall start-up. */
const MAX_ITERATIONS = 10_000_000;

function iterationCount(node: Der): number {
  const n = integer(node);
  if (n < 1 || n > MAX_ITERATIONS) throw new Error(`PKCS#12 iteration count ${n} is out of range`);
  return n;
}

/** Re-encodes a parsed element as DER (used to hand an EncryptedPrivateKeyInfo to node:crypto). */
function encode(tag: number, body: Buffer): Buffer {
  const len = body.length;
  let header: number[];
  if (len < 0x80) header = [tag, len];
  else {
    const bytes: number[] = [];
    for (let n = len; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
    header = [tag, 0x80 | bytes.length, ...bytes];
  }
  return Buffer.concat([Buffer.from(header), body]);
}

function reencode(node: Der): Buffer {
  if (!node.constructed) return encode(node.tag, node.body);
  return encode(node.tag, Buffer.concat(node.children.map(reencode)));
}

const OID = {
  data: "1.2.840.113549.1.7.1",
  encryptedData: "1.2.840.113549.1.7.6",
  keyBag: "1.2.840.113549.1.12.10.1.1",
  shroudedKeyBag: "1.2.840.113549.1.12.10.1.2",
  certBag: "1.2.840.113549.1.12.10.1.3",
  x509Certificate: "1.2.840.113549.1.9.22.1",
  pbes2: "1.2.840.113549.1.5.13",
  pbkdf2: "1.2.840.113549.1.5.12",
  pbeSha3Des: "1.2.840.113549.1.12.1.3",
  pbeSha2Des: "1.2.840.113549.1.12.1.4",
  pbeShaRc2_128: "1.2.840.113549.1.12.1.5",
  pbeShaRc2_40: "1.2.840.113549.1.12.1.6",
} as const;

const PRF: Record<string, string> = {
  "1.2.840.113549.2.7": "sha1",
  "1.2.840.113549.2.8": "sha224",
  "1.2.840.113549.2.9": "sha256",
  "1.2.840.113549.2.10": "sha384",
  "1.2.840.113549.2.11": "sha512",
};

const PBES2_CIPHERS: Record<string, { name: string; keyLength: number }> = {
  "2.16.840.1.101.3.4.1.2": { name: "aes-128-cbc", keyLength: 16 },
  "2.16.840.1.101.3.4.1.22": { name: "aes-192-cbc", keyLength: 24 },
  "2.16.840.1.101.3.4.1.42": { name: "aes-256-cbc", keyLength: 32 },
  "1.2.840.113549.3.7": { name: "des-ede3-cbc", keyLength: 24 },
};

/** Output (u) and block (v) sizes in bytes of the hashes RFC 7292's key derivation is used with. */
const KDF_HASHES: Record<string, { u: number; v: number }> = {
  sha1: { u: 20, v: 64 },
  sha224: { u: 28, v: 64 },
  sha256: { u: 32, v: 64 },
  sha384: { u: 48, v: 128 },
  sha512: { u: 64, v: 128 },
};

/** RFC 7292 appendix B.2 key derivation: id 1 = key, 2 = IV, 3 = MAC key. */
function pkcs12Kdf(password: Buffer, salt: Buffer, id: number, iterations: number, n: number, hash = "sha1"): Buffer {
  const sizes = KDF_HASHES[hash];
  if (!sizes) throw new Error(`unsupported PKCS#12 MAC hash ${hash}`);
  const { u, v } = sizes;
  const fill = (src: Buffer): Buffer => {
    if (src.length === 0) return Buffer.alloc(0);
    const out = Buffer.alloc(v * Math.ceil(src.length / v));
    for (let i = 0; i < out.length; i++) out[i] = src[i % src.length] as number;
    return out;
  };
  const D = Buffer.alloc(v, id);
  const I = Buffer.concat([fill(salt), fill(password)]);
  const out: Buffer[] = [];
  for (let produced = 0; produced < n; produced += u) {
    let A = createHash(hash).update(D).update(I).digest();
    for (let r = 1; r < iterations; r++) A = createHash(hash).update(A).digest();
    out.push(A);
    const B = fill(A);
    for (let j = 0; j < I.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = (I[j + k] as number) + (B[k] as number) + carry;
        I[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(out).subarray(0, n);
}

/** The password as PKCS#12 wants it for its own PBE: UTF-16BE with a terminating NUL. */
function bmpPassword(password: string): Buffer {
  const le = Buffer.from(`${password}\0`, "utf16le");
  for (let i = 0; i < le.length; i += 2) {
    const a = le[i] as number;
    le[i] = le[i + 1] as number;
    le[i + 1] = a;
  }
  return le;
}

function decrypt(algorithm: Der, data: Buffer, password: string): Buffer {
  const alg = oid(child(algorithm, 0));
  const params = child(algorithm, 1);
  if (alg === OID.pbes2) {
    const kdf = child(params, 0);
    const scheme = child(params, 1);
    if (oid(child(kdf, 0)) !== OID.pbkdf2) throw new Error(`unsupported PBES2 key derivation ${oid(child(kdf, 0))}`);
    const kdfParams = child(kdf, 1);
    const salt = octets(child(kdfParams, 0));
    const iterations = iterationCount(child(kdfParams, 1));
    let prf = "sha1";
    for (const extra of kdfParams.children.slice(2)) if (extra.tag === 0x30) prf = PRF[oid(child(extra, 0))] ?? "";
    if (!prf) throw new Error("unsupported PBKDF2 hash");
    const cipher = PBES2_CIPHERS[oid(child(scheme, 0))];
    if (!cipher) throw new Error(`unsupported PBES2 cipher ${oid(child(scheme, 0))}`);
    const key = pbkdf2Sync(Buffer.from(password, "utf8"), salt, iterations, cipher.keyLength, prf);
    const d = createDecipheriv(cipher.name, key, octets(child(scheme, 1)));
    return Buffer.concat([d.update(data), d.final()]);
  }
  const salt = octets(child(params, 0));
  const iterations = iterationCount(child(params, 1));
  const pw = bmpPassword(password);
  if (alg === OID.pbeSha3Des || alg === OID.pbeSha2Des) {
    const key = pkcs12Kdf(pw, salt, 1, iterations, 24);
    if (alg === OID.pbeSha2Des) key.copy(key, 16, 0, 8);
    const d = createDecipheriv("des-ede3-cbc", key, pkcs12Kdf(pw, salt, 2, iterations, 8));
    return Buffer.concat([d.update(data), d.final()]);
  }
  if (alg === OID.pbeShaRc2_40 || alg === OID.pbeShaRc2_128) {
    const bytes = alg === OID.pbeShaRc2_40 ? 5 : 16;
    return rc2CbcDecrypt(pkcs12Kdf(pw, salt, 1, iterations, bytes), pkcs12Kdf(pw, salt, 2, iterations, 8), data);
  }
  throw new Error(`unsupported PKCS#12 encryption ${alg}`);
}

// RFC 2268 RC2: OpenSSL 3 moved it to the legacy provider, yet OpenSSL 1.x PFX files encrypt certificates with it.
const PITABLE = Buffer.from(
  "d978f9c419ddb5ed28e9fd794aa0d89dc67e37832b76538e624c6488448bfba2" +
    "179a59f587b34f1361456d8d09817d32bd8f40eb86b77b0bf09521225c6b4e82" +
    "54d66593ce60b21c7356c014a78cf1dc1275ca1f3bbee4d1423dd430a33cb626" +
    "6fbf0eda4669075727f21d9bbc944303f811c7f690ef3ee706c3d52fc8661ed7" +
    "08e8eade8052eef784aa72ac354d6a2a961ad2715a1549744b9fd05e0418a4ec" +
    "c2e0416e0f51cbcc2491af50a1f47039997c3a8523b8b47afc02365b25559731" +
    "2d5dfa98e38a92ae05df2910676cbac9d300e6cfe19ea82c6316013f58e289a9" +
    "0d38341bab33ffb0bb480c5fb9b1cd2ec5f3db47e5a59c770aa62068fe7fc1ad",
  "hex",
);

function rc2Expand(key: Buffer, effectiveBits: number): Uint16Array {
  const L = Buffer.alloc(128);
  key.copy(L);
  const T = key.length;
  for (let i = T; i < 128; i++) L[i] = PITABLE[((L[i - 1] as number) + (L[i - T] as number)) & 0xff] as number;
  const T8 = Math.ceil(effectiveBits / 8);
  const TM = 0xff % 2 ** (8 + effectiveBits - 8 * T8);
  L[128 - T8] = PITABLE[(L[128 - T8] as number) & TM] as number;
  for (let i = 127 - T8; i >= 0; i--) L[i] = PITABLE[(L[i + 1] as number) ^ (L[i + T8] as number)] as number;
  const K = new Uint16Array(64);
  for (let i = 0; i < 64; i++) K[i] = (L[2 * i] as number) + 256 * (L[2 * i + 1] as number);
  return K;
}

function rc2CbcDecrypt(key: Buffer, iv: Buffer, data: Buffer): Buffer {
  if (PITABLE.length !== 256) throw new Error("RC2 table damaged");
  if (data.length % 8 !== 0) throw new Error("bad decrypt");
  const K = rc2Expand(key, key.length * 8);
  const out = Buffer.alloc(data.length);
  let prev = Buffer.from(iv);
  for (let off = 0; off < data.length; off += 8) {
    const block = data.subarray(off, off + 8);
    const R = [0, 1, 2, 3].map((i) => (block[2 * i] as number) + 256 * (block[2 * i + 1] as number));
    const rmix = (j: number): void => {
      for (let i = 3; i >= 0; i--) {
        const s = [1, 2, 3, 5][i] as number;
        const r = R[i] as number;
        R[i] = (((r << (16 - s)) | (r >> s)) & 0xffff) as number;
        R[i] =
          ((R[i] as number) -
            (K[j + i] as number) -
            ((R[(i + 3) % 4] as number) & (R[(i + 2) % 4] as number)) -
            (~(R[(i + 3) % 4] as number) & (R[(i + 1) % 4] as number))) &
          0xffff;
      }
    };
    const rmash = (): void => {
      for (let i = 3; i >= 0; i--) R[i] = ((R[i] as number) - (K[(R[(i + 3) % 4] as number) & 63] as number)) & 0xffff;
    };
    let j = 60;
    for (let round = 0; round < 5; round++, j -= 4) rmix(j);
    rmash();
    for (let round = 0; round < 6; round++, j -= 4) rmix(j);
    rmash();
    for (let round = 0; round < 5; round++, j -= 4) rmix(j);
    for (let i = 0; i < 4; i++) {
      out[off + 2 * i] = ((R[i] as number) & 0xff) ^ (prev[2 * i] as number);
      out[off + 2 * i + 1] = ((R[i] as number) >> 8) ^ (prev[2 * i + 1] as number);
    }
    prev = Buffer.from(block);
  }
  const pad = out[out.length - 1] as number;
  if (pad < 1 || pad > 8) throw new Error("bad decrypt");
  return out.subarray(0, out.length - pad);
}

export interface Pkcs12Contents {
  /** DER certificates in file order. */
  certificates: Buffer[];
  privateKey: KeyObject;
}

function readBags(safeContents: Buffer, password: string, out: { certificates: Buffer[]; keys: KeyObject[] }): void {
  for (const bag of parse(safeContents).children) {
    const type = oid(child(bag, 0));
    const value = child(child(bag, 1), 0);
    if (type === OID.certBag) {
      if (oid(child(value, 0)) === OID.x509Certificate) out.certificates.push(octets(child(child(value, 1), 0)));
    } else if (type === OID.keyBag) {
      out.keys.push(createPrivateKey({ key: reencode(value), format: "der", type: "pkcs8" }));
    } else if (type === OID.shroudedKeyBag) {
      out.keys.push(createPrivateKey({ key: reencode(value), format: "der", type: "pkcs8", passphrase: password }));
    }
  }
}

const MAC_HASHES: Record<string, string> = {
  "1.3.14.3.2.26": "sha1",
  "2.16.840.1.101.3.4.2.4": "sha224",
  "2.16.840.1.101.3.4.2.1": "sha256",
  "2.16.840.1.101.3.4.2.2": "sha384",
  "2.16.840.1.101.3.4.2.3": "sha512",
};

/** Said for both causes: an HMAC cannot tell a wrong password from altered bytes. */
export const MAC_MISMATCH =
  "PKCS#12 integrity check failed: the password is wrong, or the file is damaged or was altered";

/**
 * RFC 7292 MacData: HMAC over the authenticated safe with a key derived from the password (appendix B, id 3).
 * OpenSSL treats an empty password as either an empty BMPString or none at all, so both are tried for "".
 */
function verifyMac(macData: Der, signed: Buffer, password: string): void {
  const digestInfo = child(macData, 0);
  const hash = MAC_HASHES[oid(child(child(digestInfo, 0), 0))];
  if (!hash) throw new Error(`unsupported PKCS#12 MAC algorithm ${oid(child(child(digestInfo, 0), 0))}`);
  const expected = octets(child(digestInfo, 1));
  const salt = octets(child(macData, 1));
  const iterations = macData.children[2] ? iterationCount(macData.children[2]) : 1;
  const size = (KDF_HASHES[hash] as { u: number }).u;
  const candidates = password === "" ? [bmpPassword(""), Buffer.alloc(0)] : [bmpPassword(password)];
  for (const pw of candidates) {
    const key = pkcs12Kdf(pw, salt, 3, iterations, size, hash);
    const actual = createHmac(hash, key).update(signed).digest();
    if (actual.length === expected.length && timingSafeEqual(actual, expected)) return;
  }
  throw new Error(MAC_MISMATCH);
}

/**
 * Decodes a PFX; throws a plain Error (never holding the password or key material) when it cannot. The MAC is
 * checked before anything is decrypted; a file exported without one (`openssl pkcs12 -nomac`) has no integrity
 * to check, and is read as it is.
 */
export function readPkcs12(pfx: Buffer, password: string): Pkcs12Contents {
  const root = parse(pfx);
  const authSafe = child(root, 1);
  if (oid(child(authSafe, 0)) !== OID.data)
    throw new Error("PKCS#12 integrity mode other than password is not supported");
  const signed = octets(child(child(authSafe, 1), 0));
  const macData = root.children[2];
  if (macData) verifyMac(macData, signed, password);
  const contents = parse(signed);
  const out = { certificates: [] as Buffer[], keys: [] as KeyObject[] };
  for (const info of contents.children) {
    const type = oid(child(info, 0));
    const content = child(child(info, 1), 0);
    if (type === OID.data) {
      readBags(octets(content), password, out);
    } else if (type === OID.encryptedData) {
      const eci = child(content, 1);
      const encrypted = child(eci, 2);
      readBags(
        decrypt(child(eci, 1), encrypted.constructed ? octets(encrypted) : encrypted.body, password),
        password,
        out,
      );
    }
  }
  const privateKey = out.keys[0];
  if (!privateKey) throw new Error("the PKCS#12 bundle holds no private key");
  if (out.certificates.length === 0) throw new Error("the PKCS#12 bundle holds no certificate");
  return { certificates: out.certificates, privateKey };
}

/** Quick test whether bytes look like a DER PFX (a SEQUENCE starting with version 3). */
export function looksLikePkcs12(buf: Buffer): boolean {
  try {
    const root = parse(buf);
    return root.tag === 0x30 && child(root, 0).tag === 0x02 && integer(child(root, 0)) === 3;
  } catch {
    return false;
  }
}
