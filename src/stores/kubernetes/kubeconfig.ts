/**
 * @module Where the Kubernetes store gets its cluster and credentials: an explicit `kubeconfigPath`, the
 * pod's service account (in-cluster), daprd's deprecated `--kubeconfig` argument, `KUBECONFIG`, then
 * `~/.kube/config`.
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import type { KubeConfig, User } from "@kubernetes/client-node";
import { inClusterAvailable, serviceAccountDir } from "../../core/kubernetes-mode.js";
import { FileReadError, fileReadReason, readRegularFileSync, readRegularTextFile } from "../shared/files.js";
import { SecretStoreError, type StoreEnv } from "../types.js";

export interface KubeconfigChoice {
  /** What was used, for log lines and messages: "kubeconfigPath /x", "in-cluster", "KUBECONFIG /y" ... */
  source: string;
  config: KubeConfig;
}

export interface KubeconfigInputs {
  kubeconfigPath?: string | undefined;
  /** The sidecar's `--kubeconfig` flag. */
  kubeconfigFlag?: string | undefined;
  env: StoreEnv;
}

/** Builds the client configuration; `k8s` is the lazily loaded `@kubernetes/client-node`. */
export function loadKubeconfig(
  k8s: typeof import("@kubernetes/client-node"),
  inputs: KubeconfigInputs,
): KubeconfigChoice {
  const env = inputs.env;
  // An explicit path wins: daprd would prefer in-cluster config even then, which silently ignores the setting.
  if (inputs.kubeconfigPath) return fromFiles(k8s, [inputs.kubeconfigPath], `kubeconfigPath ${inputs.kubeconfigPath}`);
  const saDir = serviceAccountDir(env);
  if (inClusterAvailable(env, saDir))
    return { source: "in-cluster service account", config: inCluster(k8s, env, saDir) };
  const arg = inputs.kubeconfigFlag;
  if (arg) return fromFiles(k8s, [arg], `--kubeconfig ${arg}`);
  if (env.KUBECONFIG) {
    const files = env.KUBECONFIG.split(delimiter).filter(Boolean);
    if (files.length > 0) return fromFiles(k8s, files, `KUBECONFIG ${env.KUBECONFIG}`, true);
  }
  const home = env.HOME ?? homedir();
  const fallback = join(home, ".kube", "config");
  if (existsSync(fallback)) return fromFiles(k8s, [fallback], fallback);
  throw new SecretStoreError(
    "invalid_config",
    "no Kubernetes configuration found: not running in a pod with a service account (KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT and a token file), " +
      `no kubeconfigPath metadata, KUBECONFIG unset, and ${fallback} does not exist`,
  );
}

function inCluster(k8s: typeof import("@kubernetes/client-node"), env: StoreEnv, saDir: string): KubeConfig {
  const host = env.KUBERNETES_SERVICE_HOST as string;
  const port = env.KUBERNETES_SERVICE_PORT as string;
  const server = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
  const caFile = join(saDir, "ca.crt");
  const kc = new k8s.KubeConfig();
  const cluster: { name: string; server: string; skipTLSVerify: boolean; caFile?: string } = {
    name: "in-cluster",
    server,
    skipTLSVerify: false,
  };
  if (existsSync(caFile)) cluster.caFile = caFile;
  kc.addAuthenticator(new ServiceAccountTokenAuth());
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: "in-cluster", authProvider: { name: SA_TOKEN_PROVIDER, config: { path: join(saDir, "token") } } }],
    contexts: [{ name: "in-cluster", cluster: "in-cluster", user: "in-cluster" }],
    currentContext: "in-cluster",
  });
  return kc;
}

const SA_TOKEN_PROVIDER = "keyward-service-account-token";
const TOKEN_REREAD_MS = 60_000;

/**
 * The pod's service-account token, re-read every minute because bound tokens rotate, and trimmed as
 * client-go does (the client's own tokenFile provider sends a trailing newline, which Node refuses in a header).
 */
class ServiceAccountTokenAuth {
  private token = "";
  private readAt = 0;

  isAuthProvider(user: User): boolean {
    return (user.authProvider as { name?: string } | undefined)?.name === SA_TOKEN_PROVIDER;
  }

  async applyAuthentication(user: User, opts: { headers?: Record<string, unknown> }): Promise<void> {
    const path = (user.authProvider as { config: { path: string } }).config.path;
    if (!this.token || Date.now() - this.readAt > TOKEN_REREAD_MS) {
      try {
        this.token = (await readRegularTextFile(path)).trim();
        this.readAt = Date.now();
      } catch (err) {
        if (!this.token) {
          throw new SecretStoreError(
            "bad_credentials",
            `cannot read the service account token ${path}: ${fileReadReason(err)}`,
          );
        }
        // A transient read failure keeps the token read before.
      }
    }
    opts.headers ??= {};
    opts.headers.Authorization = `Bearer ${this.token}`;
  }
}

function fromFiles(
  k8s: typeof import("@kubernetes/client-node"),
  files: string[],
  source: string,
  skipMissing = false,
): KubeconfigChoice {
  const config = new k8s.KubeConfig();
  config.loadFromOptions({ clusters: [], users: [], contexts: [], currentContext: undefined });
  let loaded = 0;
  for (const file of files) {
    // Like client-go, a KUBECONFIG list skips files that do not exist; an explicit path must exist.
    if (skipMissing && !existsSync(file)) continue;
    const kc = new k8s.KubeConfig();
    try {
      // What kc.loadFromFile does, with a bounded read that refuses a FIFO instead of blocking on it.
      kc.loadFromString(readRegularFileSync(file).toString("utf8"));
      kc.makePathsAbsolute(dirname(file));
    } catch (err) {
      // The YAML parser's message quotes the file, which may hold a token: report only the kind of failure.
      const readFailed = err instanceof FileReadError || (err as NodeJS.ErrnoException).code !== undefined;
      const why = readFailed ? fileReadReason(err) : "not a valid kubeconfig (YAML) file";
      throw new SecretStoreError("invalid_config", `cannot load kubeconfig ${file} (${source}): ${why}`);
    }
    loaded++;
    // client-go's merge rule: the first file to define a name (or the current context) wins.
    if (!config.currentContext && kc.currentContext) config.currentContext = kc.currentContext;
    for (const c of kc.clusters ?? []) if (!config.getCluster(c.name)) config.clusters.push(c);
    for (const u of kc.users ?? []) if (!config.getUser(u.name)) config.users.push(u);
    for (const c of kc.contexts ?? []) if (!config.getContextObject(c.name)) config.contexts.push(c);
  }
  if (loaded === 0)
    throw new SecretStoreError("invalid_config", `cannot load kubeconfig (${source}): none of the files exist`);
  const cluster = config.getCurrentCluster();
  if (!cluster) {
    throw new SecretStoreError(
      "invalid_config",
      `kubeconfig from ${source} has no usable current context (current-context ${JSON.stringify(config.getCurrentContext() ?? "")})`,
    );
  }
  return { source, config };
}
