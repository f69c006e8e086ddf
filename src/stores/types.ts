/** @module The whole contract between the runtime and a secret store: one small interface per store kind. */
import { redact } from "./shared/redact.js";

/** Component metadata after references are resolved: name → string value, as written in the YAML. */
export type ComponentMetadata = Readonly<Record<string, string>>;

/** A secret: key → value. Name/value stores answer `{ [name]: value }`. */
export type SecretData = Record<string, string>;

/** Bulk answer: secret name → its key/value map. */
export type BulkSecretData = Record<string, SecretData>;

/** The only capability Dapr defines; advertised in /v1.0/metadata. */
export const MULTIPLE_KEY_VALUES_PER_SECRET = "MULTIPLE_KEY_VALUES_PER_SECRET";
export type SecretStoreFeature = typeof MULTIPLE_KEY_VALUES_PER_SECRET;

export interface GetSecretRequest {
  name: string;
  /** Per-request metadata (`metadata.*` query parameters, or the gRPC `metadata` map). */
  metadata: Readonly<Record<string, string>>;
}

export interface BulkGetSecretRequest {
  metadata: Readonly<Record<string, string>>;
}

/**
 * Everything a store gets from its host at init. Stores read nothing else of the process: not `process.env`,
 * not `process.argv`, so a test or an embedding host decides what a store sees.
 */
export interface StoreContext {
  /** The component's name, for messages. */
  name: string;
  /** Bounded by the component's initTimeout; stores pass it to their I/O. */
  signal: AbortSignal;
  /** Structured logger; never give it a secret value. */
  log: StoreLogger;
  /** The sidecar's environment as it was at start (a frozen copy): credentials chains, KUBECONFIG, HOME... */
  env: StoreEnv;
  /** The app's namespace (env NAMESPACE); "" when unset. */
  namespace: string;
  /** The app's id (`--app-id`). */
  appId: string;
  /** The sidecar's `--kubeconfig` flag (daprd's deprecated one), when given. */
  kubeconfig?: string;
  /** A store that keeps a copy of its secrets reports each read: answered from the copy or not. */
  cacheRead?: (hit: boolean) => void;
}

export type StoreEnv = Readonly<Record<string, string | undefined>>;

export interface StoreLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface SecretStore {
  init(metadata: ComponentMetadata, ctx: StoreContext): Promise<void>;
  /** `null` means "no data" (the API answers 204 over HTTP, an empty message over gRPC). */
  getSecret(req: GetSecretRequest, signal?: AbortSignal): Promise<SecretData | null>;
  /**
   * The secret's data at once, when the store holds it in memory (`name` as secretName gives it); undefined
   * when only getSecret can answer (not found, an error). Lets a single get skip every promise of the
   * asynchronous path (hot path, profiled). A store that hands out the same frozen object until the secret
   * changes (local.file) also gets that answer encoded once.
   */
  peekSecret?(name: string): SecretData | undefined;
  bulkGetSecret(req: BulkGetSecretRequest, signal?: AbortSignal): Promise<BulkSecretData | null>;
  features(): readonly SecretStoreFeature[];
  /** Idempotent: the runtime may call it more than once on shutdown paths. */
  close(): Promise<void>;
  /** Optional health check; stores without one answer `PING_NOT_IMPLEMENTED`. */
  ping?(signal?: AbortSignal): Promise<void>;
  /**
   * The name the backend will read for `name`, which the runtime then checks against the secret scope and
   * passes to `getSecret`; throws `SecretStoreError("invalid_request")` for a name the store refuses (one
   * the backend would resolve to another secret). Without it, the name is read exactly as given.
   */
  secretName?(name: string, signal?: AbortSignal): string | Promise<string>;
  /** The form scope lists and names are compared in (case-folded where the backend ignores case). */
  scopeName?(name: string): string;
  /**
   * Change notifications pushed by the store: it calls `onChange(name)` when the secret `name` (as the store
   * reads it) may have changed, `onChange()` when any may have. Returns the function that stops it, or
   * undefined when the store cannot push as configured (then `versionOf` is polled, if it has one).
   */
  watchChanges?(onChange: (name?: string) => void): (() => void) | undefined;
  /**
   * Change notifications by polling: the secret's current version in one backend call (a digest of its value
   * where the backend keeps no version). Throws `SecretStoreError("not_found")` when the secret is gone.
   */
  versionOf?(req: GetSecretRequest, signal?: AbortSignal): Promise<string>;
}

/** How a metadata value is read; every type but `string` and `file` is checked before init. */
export type MetadataFieldType = "string" | "bool" | "int" | "duration" | "enum" | "json" | "file";

/** One component metadata field a store reads: the single source for parsing, `validate` and the docs. */
export interface MetadataField {
  name: string;
  /** Other names daprd accepts for it; the first one present wins, `name` first. */
  aliases?: readonly string[];
  type: MetadataFieldType;
  required?: boolean;
  /** The value used when the field is absent or empty, as text; undefined for none. */
  default?: string;
  description: string;
  /** Credentials: the value never appears in a message. */
  sensitive?: boolean;
  /** `enum`: the accepted values, case-insensitive. */
  values?: readonly string[];
  /** Message when a required field is missing, where daprd has its own text. */
  missing?: string;
}

/** A mistake in a component's metadata; `field` names the declared field it concerns, for the file line. */
export interface MetadataProblem {
  field?: string;
  message: string;
}

export interface ValidateContext {
  env: NodeJS.ProcessEnv;
  /** Metadata names whose value is not known without starting other stores (secretKeyRef). */
  unknown: ReadonlySet<string>;
}

/** How a store is registered: `type` without the `secretstores.` prefix, lower case. */
export interface SecretStoreDefinition {
  type: string;
  /** Versions this definition serves; "", "v0" and "v1" all select "v1". */
  version: "v1";
  /** Every metadata field the store reads. */
  metadata: readonly MetadataField[];
  /**
   * Checks beyond each field's type (fields that go together, local files), without contacting a backend:
   * whatever passes here fails in init only through backend I/O.
   */
  validate?(metadata: ComponentMetadata, ctx: ValidateContext): Promise<MetadataProblem[]>;
  create(): SecretStore;
}

/** Message daprd's conformance suite expects from a store without a ping. */
export const PING_NOT_IMPLEMENTED = "ping is not implemented by this secret store";

/** Why a store call failed; the API layer maps every kind to daprd's ERR_SECRET_GET. */
export type SecretStoreErrorKind =
  | "not_found"
  | "permission_denied"
  | "bad_credentials"
  | "throttled"
  | "unavailable"
  | "invalid_request"
  | "invalid_config"
  | "internal";

/**
 * A store failure. `message` reaches API clients, so it must never hold a secret value or credential: every
 * message passes the shared redaction rules here, whichever store made it, and stores remove the values they
 * know (configured credentials, tokens they obtained) before. `cause` stays inside the process.
 */
export class SecretStoreError extends Error {
  override readonly name = "SecretStoreError";
  constructor(
    readonly kind: SecretStoreErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(redact(message), options);
  }
}
