/**
 * @module `--native-sidecars auto`: whether the cluster runs native sidecars (init containers with
 * restartPolicy Always, on by default from Kubernetes 1.29), from the API server's version.
 */
import type { Logger } from "../log.js";
import { loadKubeconfig } from "../stores/kubernetes/kubeconfig.js";
import { untilAborted } from "../stores/shared/sleep.js";

const VERSION_TIMEOUT_MS = 5000;

/** Native sidecars are on by default from Kubernetes 1.29; when the version cannot be read, regular containers. */
export async function clusterHasNativeSidecars(env: NodeJS.ProcessEnv, log: Logger): Promise<boolean> {
  try {
    const k8s = await import("@kubernetes/client-node");
    const kc = loadKubeconfig(k8s, { env }).config;
    // A black-holed API server must not hold the webhook's start-up for long.
    const v = await untilAborted(
      kc.makeApiClient(k8s.VersionApi).getCode(),
      AbortSignal.timeout(VERSION_TIMEOUT_MS),
      () => new Error(`no answer in ${VERSION_TIMEOUT_MS} ms`),
    );
    const major = Number.parseInt(v.major, 10);
    const minor = Number.parseInt(v.minor, 10);
    const native = major > 1 || (major === 1 && minor >= 29);
    log.info({ version: v.gitVersion, native_sidecars: native }, "Kubernetes API server version read");
    return native;
  } catch (err) {
    log.warn(
      `cannot read the API server's version (${(err as Error).message.split("\n")[0]}): sidecars are regular containers; set --native-sidecars=true on Kubernetes 1.29+`,
    );
    return false;
  }
}
