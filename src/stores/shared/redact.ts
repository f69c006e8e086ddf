/**
 * @module The one rule set that strips credentials from text a store lets out (error messages, log fields):
 * values the store knows to be secret, and anything shaped like a credential whoever made it.
 */

export const REDACTED = "[redacted]";

/** Shorter known values are not replaced: "1" or "abc" would shred every message they happen to occur in. */
const MIN_KNOWN_LENGTH = 4;

/** Names whose value is a credential, in query strings, form bodies, `name=value` and `name: value` texts. */
const CREDENTIAL_NAMES =
  "client_secret|client_assertion|access_token|refresh_token|id_token|assertion|password|passwd|pwd|secret|secret_id|" +
  "token|api[_-]?key|x-amz-signature|x-amz-credential|x-amz-security-token|sig|signature|code";

/** Each rule: what it matches, and what stands in for it. Order matters: whole blocks before their pieces. */
const RULES: readonly [RegExp, string][] = [
  // PEM private keys, also cut off mid-block.
  [/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g, REDACTED],
  // user:password@ in URLs.
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]*:[^\s/@]*@/gi, `$1${REDACTED}@`],
  // Authorization-style headers, whatever the scheme.
  [
    /\b(authorization|proxy-authorization|x-vault-token|x-amz-security-token|metadata|cookie)(\s*[:=]\s*)[^\r\n,;]+/gi,
    `$1$2${REDACTED}`,
  ],
  [/\b(bearer|basic)\s+[^\s"',;]+/gi, `$1 ${REDACTED}`],
  // JSON members holding credentials.
  [
    new RegExp(
      `("(?:${CREDENTIAL_NAMES}|private_key|client_token|secretId|clientSecret|apiKey)"\\s*:\\s*")(?:[^"\\\\]|\\\\.)*"`,
      "gi",
    ),
    `$1${REDACTED}"`,
  ],
  // name=value pairs (query strings, form bodies, connection strings).
  [new RegExp(`\\b(${CREDENTIAL_NAMES})=[^&\\s"';]+`, "gi"), `$1=${REDACTED}`],
  // JWTs, Google OAuth access tokens, Vault service/batch/recovery tokens.
  [/\beyJ[\w-]{2,}\.[\w-]+\.[\w-]*/g, REDACTED],
  [/\bya29\.[\w.-]+/g, REDACTED],
  [/\bhv[sbr]\.[\w-]{20,}/g, REDACTED],
  // AWS access key ids: not secret, but they name a credential.
  [/\b(?:AKIA|ASIA|AROA|AIDA)[A-Z0-9]{12,}\b/g, REDACTED],
];

/** 40 or more key-like characters mixing upper case, lower case and digits: a secret key, not a name or an id. */
const LONG_KEY = /[A-Za-z0-9+_~=-]{40,}/g;
const looksLikeKey = (s: string) => /[A-Z]/.test(s) && /[a-z]/.test(s) && /\d/.test(s);

/** `text` with every credential-shaped part and every one of `known` replaced by `[redacted]`. */
export function redact(text: string, known: Iterable<string | undefined> = []): string {
  let out = text;
  const values = [...known].filter((v): v is string => v !== undefined && v.length >= MIN_KNOWN_LENGTH);
  // Longest first, so a value that contains another is not left half-replaced.
  for (const v of values.sort((a, b) => b.length - a.length)) out = out.split(v).join(REDACTED);
  for (const [pattern, replacement] of RULES) out = out.replace(pattern, replacement);
  return out.replace(LONG_KEY, (m) => (looksLikeKey(m) ? REDACTED : m));
}

/** The values one store must keep out of its output (configured secrets, tokens it obtained), and the rules. */
export class Redactor {
  private readonly values = new Set<string>();

  add(...values: (string | undefined)[]): void {
    for (const v of values) if (v !== undefined && v.length >= MIN_KNOWN_LENGTH) this.values.add(v);
  }

  redact(text: string): string {
    return redact(text, this.values);
  }
}

/** The first line of `text`, at most `max` characters: a response body dump says no more than its first line. */
export function firstLine(text: string, max = 300): string {
  const line = (text.split(/\r?\n/, 1)[0] ?? "").replace(/[ \t]{2,}/g, " ");
  return line.length > max ? `${line.slice(0, max)}…` : line;
}
