/**
 * @module What both AWS stores share: reading region, endpoint and credentials from component metadata (daprd's
 * names), the SDK client settings, credential resolution that reports its own failures, and reading error bodies
 * the SDK cannot parse.
 */
import { Readable } from "node:stream";
import { declaredValue } from "../declared-metadata.js";
import { SecretStoreError, type ComponentMetadata, type StoreContext } from "../types.js";
import { SECRETMANAGER_METADATA } from "./metadata-fields.js";
import { AwsCredentialError } from "./errors.js";
import { commonJsExports } from "../../commonjs-exports.js";

/** The shape the SDK accepts for `credentials`; declared here so no vendor type is needed at load time. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}
export type AwsCredentialProvider = (props?: Record<string, unknown>) => Promise<AwsCredentials>;

export type AwsAuthMethod = "static keys" | "assume role" | "default credential chain";

export interface AwsSettings {
  region: string | undefined;
  endpoint: string | undefined;
  auth: AwsAuthMethod;
  /** Static keys, the default chain, or either behind AssumeRole; failures surface as `AwsCredentialError`. */
  credentials: AwsCredentialProvider;
  /** Configured credential values, kept out of every message. */
  secrets: string[];
}

/** daprd's default session name for assumed roles. */
export const DEFAULT_SESSION_NAME = "DaprDefaultSession";

/** Per-request socket limits, so a black-holed endpoint fails instead of hanging forever. */
const CONNECTION_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 30_000;

/** A field by its declared name and aliases (both AWS stores declare the same ones). */
function option(md: ComponentMetadata, name: string): string | undefined {
  const v = declaredValue(md, SECRETMANAGER_METADATA, name);
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

function checkEndpoint(endpoint: string | undefined, field: string): string | undefined {
  if (endpoint === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new SecretStoreError(
      "invalid_config",
      `metadata ${field}: ${JSON.stringify(endpoint)} is not a URL (expected e.g. https://secretsmanager.us-east-1.amazonaws.com)`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new SecretStoreError(
      "invalid_config",
      `metadata ${field}: ${JSON.stringify(endpoint)} must be an http:// or https:// URL`,
    );
  }
  return endpoint;
}

/** The AWS fields that must go together, checked without loading the SDK (so `keyward validate` can too). */
export function checkAwsMetadata(md: ComponentMetadata) {
  const region = option(md, "region");
  const endpoint = checkEndpoint(option(md, "endpoint"), "endpoint");
  const accessKey = option(md, "accessKey");
  const secretKey = option(md, "secretKey");
  const sessionToken = option(md, "sessionToken");
  if ((accessKey === undefined) !== (secretKey === undefined)) {
    throw new SecretStoreError(
      "invalid_config",
      `metadata ${accessKey === undefined ? "secretKey" : "accessKey"} is set without ${accessKey === undefined ? "accessKey" : "secretKey"}: give both, or neither to use the default credential chain`,
    );
  }
  if (sessionToken !== undefined && accessKey === undefined) {
    throw new SecretStoreError("invalid_config", "metadata sessionToken is set without accessKey and secretKey");
  }
  if (option(md, "trustAnchorArn") !== undefined || option(md, "trustProfileArn") !== undefined) {
    throw new SecretStoreError(
      "invalid_config",
      "IAM Roles Anywhere (trustAnchorArn/trustProfileArn) is not supported by this store; use static keys, assumeRoleArn or the default credential chain",
    );
  }
  return { region, endpoint, accessKey, secretKey, sessionToken };
}

/**
 * Reads the AWS fields of a component: `region` (alias `awsRegion`), `endpoint`, `accessKey`/`secretKey`/
 * `sessionToken`, `assumeRoleArn`/`sessionName`. Without keys the SDK's default chain is used: environment, shared
 * config and credentials files (`AWS_PROFILE`), web identity token file (EKS IRSA), container and instance metadata.
 */
export async function readAwsSettings(md: ComponentMetadata, ctx: StoreContext): Promise<AwsSettings> {
  const { log, env } = ctx;
  const checked = checkAwsMetadata(md);
  const { endpoint, accessKey, secretKey, sessionToken } = checked;
  // The environment's region is passed explicitly: the store reads its context, not the process.
  const region = checked.region ?? (env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined);
  const assumeRoleArn = option(md, "assumeRoleArn");
  const sessionName = option(md, "sessionName") ?? DEFAULT_SESSION_NAME;
  const secrets = [accessKey, secretKey, sessionToken].filter((s): s is string => s !== undefined);

  const { fromNodeProviderChain, fromTemporaryCredentials } = commonJsExports(
    await import("@aws-sdk/credential-providers"),
  );
  let base: AwsCredentialProvider;
  let baseSource: string;
  if (accessKey !== undefined && secretKey !== undefined) {
    const creds: AwsCredentials = {
      accessKeyId: accessKey,
      secretAccessKey: secretKey,
      ...(sessionToken ? { sessionToken } : {}),
    };
    base = async () => creds;
    baseSource = "metadata accessKey/secretKey";
  } else {
    base = fromNodeProviderChain() as AwsCredentialProvider;
    baseSource =
      "the default credential chain (environment, shared config, web identity token file, container or instance metadata)";
  }

  let auth: AwsAuthMethod = accessKey !== undefined ? "static keys" : "default credential chain";
  let provider = wrapProvider(base, baseSource);
  if (assumeRoleArn !== undefined) {
    auth = "assume role";
    const assumed = fromTemporaryCredentials({
      params: { RoleArn: assumeRoleArn, RoleSessionName: sessionName },
      masterCredentials: provider,
      ...(region ? { clientConfig: { region } } : {}),
    }) as AwsCredentialProvider;
    provider = wrapProvider(assumed, `STS AssumeRole of ${assumeRoleArn}`);
  }
  log.info("AWS authentication configured", {
    auth,
    region: region ?? "(from environment/profile)",
    endpoint: endpoint ? withoutUserInfo(endpoint) : "(AWS default)",
    ...(assumeRoleArn ? { assumeRoleArn, sessionName } : {}),
  });
  return { region, endpoint, auth, credentials: provider, secrets };
}

/** An endpoint as logged: any user:password in the URL is dropped. */
function withoutUserInfo(endpoint: string): string {
  const u = new URL(endpoint);
  u.username = "";
  u.password = "";
  return u.toString();
}

/** Marks failures to get credentials, so the message says the call never reached the service. */
function wrapProvider(p: AwsCredentialProvider, source: string): AwsCredentialProvider {
  return async (props) => {
    try {
      return await p(props);
    } catch (err) {
      if (err instanceof AwsCredentialError) throw err;
      throw new AwsCredentialError(source, { cause: err });
    }
  };
}

/** Client configuration common to both services. */
function clientConfig(s: AwsSettings): Record<string, unknown> {
  return {
    ...(s.region ? { region: s.region } : {}),
    ...(s.endpoint ? { endpoint: s.endpoint } : {}),
    credentials: s.credentials,
    requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS },
  };
}

interface AwsClient {
  config: { region(): Promise<string> };
  middlewareStack: MiddlewareStack;
  destroy(): void;
}

/**
 * Makes a store's SDK client from its settings, with the error body reader, and resolves the region now (the SDK
 * does it lazily) so a missing one fails init with a clear message.
 */
export async function createClient<C extends AwsClient>(
  make: (config: Record<string, unknown>) => C,
  settings: AwsSettings,
): Promise<C> {
  const client = make(clientConfig(settings));
  addErrorBodyReader(client.middlewareStack);
  try {
    if (await client.config.region()) return client;
  } catch {
    // Fall through to the message below.
  }
  client.destroy();
  throw new SecretStoreError(
    "invalid_config",
    "no AWS region: set metadata region (or awsRegion), or AWS_REGION / a profile region in the environment",
  );
}

interface RawResponse {
  statusCode: number;
  headers: Record<string, string | undefined>;
  body: unknown;
  keywardErrorCode?: string;
  keywardErrorMessage?: string;
}
interface MiddlewareStack {
  addRelativeTo(
    mw: unknown,
    opts: { relation: "before" | "after"; toMiddleware: string; name: string; override?: boolean },
  ): void;
}

/**
 * An error answer whose body is not JSON (XML from an emulator or a proxy, HTML from a gateway) makes the SDK throw
 * a parse error that hides what the server said. This reads the code and message out of such a body first, so the
 * error can still say whether it was bad credentials or a denied permission.
 */
function addErrorBodyReader(stack: MiddlewareStack): void {
  const mw = (next: (args: unknown) => Promise<{ response: unknown }>) => async (args: unknown) => {
    const out = await next(args);
    const res = out.response as RawResponse | undefined;
    if (!res || typeof res.statusCode !== "number" || res.statusCode < 300) return out;
    const type = (res.headers["content-type"] ?? res.headers["Content-Type"] ?? "").toLowerCase();
    if (type.includes("json")) return out;
    const body = res.body;
    if (!(body instanceof Readable)) return out;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      chunks.push(b);
      size += b.length;
      if (size > 64 * 1024) break;
    }
    const buf = Buffer.concat(chunks);
    const text = buf.toString("utf8");
    const code = /<Code>([^<]{1,100})<\/Code>/.exec(text)?.[1];
    if (code) {
      res.keywardErrorCode = code;
      res.keywardErrorMessage = /<Message>([^<]{0,500})<\/Message>/.exec(text)?.[1] ?? "";
    }
    res.body = Readable.from([buf]);
    return out;
  };
  stack.addRelativeTo(mw, {
    relation: "after",
    toMiddleware: "deserializerMiddleware",
    name: "keywardErrorBodyReader",
    override: true,
  });
}
