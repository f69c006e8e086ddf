/** @module How the Vault store gets a token: a static token, a token file, or an AppRole / Kubernetes login. */
import { fileReadReason, readRegularTextFile } from "../shared/files.js";
import { SecretStoreError } from "../types.js";
import type { AuthSettings } from "./config.js";
import { responseError, vaultErrors, type VaultHttp } from "./http.js";

export interface IssuedToken {
  token: string;
  /** Seconds the token lives from now; 0 = does not expire (or unknown). */
  ttl: number;
  renewable: boolean;
  /** True when the token came from a login this store can repeat. */
  fromLogin: boolean;
}

/** Reads a credential file, trimmed as daprd trims its token file; the file's content never reaches a message. */
export async function readCredentialFile(path: string, what: string): Promise<string> {
  let text: string;
  try {
    text = await readRegularTextFile(path);
  } catch (err) {
    throw new SecretStoreError("invalid_config", `couldn't read ${what} from ${path}: ${fileReadReason(err)}`);
  }
  const value = text.trim();
  if (value === "") throw new SecretStoreError("invalid_config", `${what} file ${path} is empty`);
  return value;
}

export function canLogin(auth: AuthSettings): boolean {
  return auth.method === "approle" || auth.method === "kubernetes";
}

export function describeAuth(auth: AuthSettings): string {
  switch (auth.method) {
    case "token":
      return auth.tokenFile ? `token file ${auth.tokenFile}` : "static token";
    case "approle":
      return `AppRole login at auth/${auth.mountPath}`;
    case "kubernetes":
      return `Kubernetes login at auth/${auth.mountPath} (role ${auth.role})`;
  }
}

/** Logs in with AppRole or Kubernetes. Credential files are read at every login, so rotated ones are picked up. */
export async function login(
  http: VaultHttp,
  auth: AuthSettings,
  signal?: AbortSignal,
  namespace?: string | null,
): Promise<IssuedToken> {
  let path: string;
  let body: Record<string, string>;
  switch (auth.method) {
    case "approle": {
      const roleId = auth.roleId ?? (await readCredentialFile(auth.roleIdFile as string, "AppRole role ID"));
      body = { role_id: roleId };
      const secretId =
        auth.secretId ??
        (auth.secretIdFile ? await readCredentialFile(auth.secretIdFile, "AppRole secret ID") : undefined);
      if (secretId !== undefined) body.secret_id = secretId;
      path = `auth/${encodePath(auth.mountPath)}/login`;
      break;
    }
    case "kubernetes":
      body = { role: auth.role, jwt: await readCredentialFile(auth.jwtFile, "Kubernetes service account token") };
      path = `auth/${encodePath(auth.mountPath)}/login`;
      break;
    case "token":
      throw new Error("a static token cannot log in");
  }
  const what = `logging in (${describeAuth(auth)})`;
  const res = await http.request("POST", path, { body, signal, what, namespace });
  if (res.status === 400 || res.status === 401 || res.status === 403 || res.status === 404) {
    const detail = vaultErrors(res.body);
    throw new SecretStoreError(
      "bad_credentials",
      `Vault refused the ${describeAuth(auth)} (${res.status})${detail ? `: ${detail}` : ""}`,
    );
  }
  if (res.status !== 200) throw responseError(http.address, res, what);
  const a = (res.body as { auth?: { client_token?: unknown; lease_duration?: unknown; renewable?: unknown } } | null)
    ?.auth;
  if (!a || typeof a.client_token !== "string" || a.client_token === "") {
    throw new SecretStoreError("internal", `Vault answered the ${describeAuth(auth)} without a client token`);
  }
  return {
    token: a.client_token,
    ttl: Number(a.lease_duration ?? 0) || 0,
    renewable: a.renewable === true,
    fromLogin: true,
  };
}

export function encodePath(p: string): string {
  return p.split("/").map(encodeURIComponent).join("/");
}
