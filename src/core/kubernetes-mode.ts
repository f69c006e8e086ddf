/**
 * @module Whether the sidecar runs in a pod: decides `--mode` auto, and where the Kubernetes store finds the pod's
 * service account. No vendor import here: the check must not load the Kubernetes client.
 */
import { accessSync, constants } from "node:fs";
import { join } from "node:path";

type Env = Readonly<Record<string, string | undefined>>;

/** Where a pod's service-account token, CA and namespace are mounted. */
export const DEFAULT_SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/**
 * The service-account folder to use: `KEYWARD_SERVICE_ACCOUNT_DIR` when set (tests, unusual mounts),
 * else the standard mount point.
 */
export function serviceAccountDir(env: Env): string {
  return env.KEYWARD_SERVICE_ACCOUNT_DIR || DEFAULT_SERVICE_ACCOUNT_DIR;
}

/**
 * Whether this process runs in a pod with a usable service account, by client-go's `rest.InClusterConfig`
 * test: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT set and the token file readable.
 */
export function inClusterAvailable(env: Env, saDir = serviceAccountDir(env)): boolean {
  if (!env.KUBERNETES_SERVICE_HOST || !env.KUBERNETES_SERVICE_PORT) return false;
  try {
    accessSync(join(saDir, "token"), constants.R_OK);
    return true;
  } catch {
    return false;
  }
}
