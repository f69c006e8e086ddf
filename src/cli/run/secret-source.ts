/**
 * @module Reading secrets for `keyward run` through the started sidecar's own HTTP API, with its API
 * token: the same service, scopes and resiliency as any app's call. Values stay in memory; errors carry
 * the API's message (names only, never a value).
 */
import { UsageError } from "../flags.js";

export type SecretMap = Readonly<Record<string, string>>;

/** Where a value comes from: STORE/SECRET, and the key of a multi-key secret. */
export interface SecretRef {
  store: string;
  name: string;
  /** Empty: the secret must have exactly one key. */
  key: string;
}

export class SecretReadError extends Error {}

export interface SecretSource {
  get(store: string, name: string): Promise<SecretMap>;
}

/** Reads `GET /v1.0/secrets/STORE/NAME` from a sidecar. */
export class SidecarSecretSource implements SecretSource {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string | undefined,
  ) {}

  async get(store: string, name: string): Promise<SecretMap> {
    const url = `${this.baseUrl}/v1.0/secrets/${encodeURIComponent(store)}/${encodeURIComponent(name)}`;
    let res: Response;
    try {
      res = await fetch(url, {
        headers: this.token ? { "dapr-api-token": this.token } : {},
        signal: AbortSignal.timeout(60_000),
      });
    } catch (err) {
      throw new SecretReadError(
        `secret ${name} in store ${store}: the sidecar did not answer: ${(err as Error).message}`,
      );
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = text === "" ? {} : JSON.parse(text);
    } catch {
      throw new SecretReadError(`secret ${name} in store ${store}: the sidecar answered ${res.status} with no JSON`);
    }
    if (!res.ok) {
      const { errorCode, message } = (body ?? {}) as { errorCode?: unknown; message?: unknown };
      throw new SecretReadError(
        `${typeof errorCode === "string" ? `${errorCode}: ` : ""}${typeof message === "string" ? message : `HTTP ${res.status}`}`,
      );
    }
    if (body === null || typeof body !== "object" || Array.isArray(body))
      throw new SecretReadError(`secret ${name} in store ${store}: the sidecar's answer is not a key/value map`);
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(body)) out[k] = typeof v === "string" ? v : JSON.stringify(v);
    return out;
  }
}

/** Picks `ref.key`, or the only key when none is named; the error lists the key names, never values. */
export function pickKey(ref: SecretRef, data: SecretMap, howToName = "#KEY"): string {
  const keys = Object.keys(data);
  if (ref.key !== "") {
    if (Object.hasOwn(data, ref.key)) return data[ref.key]!;
    throw new SecretReadError(
      `secret ${ref.name} in store ${ref.store} has no key ${JSON.stringify(ref.key)} (keys: ${keys.join(", ") || "none"})`,
    );
  }
  if (keys.length === 1) return data[keys[0]!]!;
  throw new SecretReadError(
    `secret ${ref.name} in store ${ref.store} has ${keys.length} keys (${keys.join(", ") || "none"}): name one with ${howToName}`,
  );
}

/** Reads each distinct secret once per call, however many references name it. */
export class SecretBatch {
  private readonly cache = new Map<string, Promise<SecretMap>>();
  constructor(private readonly source: SecretSource) {}

  async value(ref: SecretRef): Promise<string> {
    const id = JSON.stringify([ref.store, ref.name]);
    let p = this.cache.get(id);
    if (!p) this.cache.set(id, (p = this.source.get(ref.store, ref.name)));
    return pickKey(ref, await p);
  }
}

export interface EnvRef extends SecretRef {
  variable: string;
}

/** Parses `NAME=STORE/SECRET[#KEY]`; the last `#` starts the key, the first `/` ends the store. */
export function parseEnvRef(text: string): EnvRef {
  const eq = text.indexOf("=");
  const variable = eq < 0 ? "" : text.slice(0, eq);
  const bad = (why: string) => new UsageError(`invalid --env ${JSON.stringify(text)}: ${why}`);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable)) throw bad("use NAME=STORE/SECRET[#KEY] with NAME a variable name");
  const ref = text.slice(eq + 1);
  const slash = ref.indexOf("/");
  if (slash <= 0 || slash === ref.length - 1) throw bad("the reference must be STORE/SECRET[#KEY]");
  const hash = ref.lastIndexOf("#");
  const hasKey = hash > slash;
  const parsed = {
    variable,
    store: ref.slice(0, slash),
    name: ref.slice(slash + 1, hasKey ? hash : undefined),
    key: hasKey ? ref.slice(hash + 1) : "",
  };
  if (parsed.name === "") throw bad("the secret name is empty");
  if (hasKey && parsed.key === "") throw bad("the key after # is empty");
  if (text.includes("\0")) throw bad("contains a NUL byte");
  return parsed;
}
