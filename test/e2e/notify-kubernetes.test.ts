/**
 * End to end: change notifications of Kubernetes components against the API test server: pushed by the
 * watch cache (`watch: "true"`), and polled without it.
 */
import { describeNotifyCases, type NotifyBackend } from "../helpers/notify-cases.js";
import { KubeApiTestServer } from "../servers/kubernetes/server.js";

function kubernetes(watch: boolean): NotifyBackend {
  let api: KubeApiTestServer;
  return {
    async start() {
      api = await KubeApiTestServer.start();
      const kubeconfigPath = api.writeKubeconfig();
      return {
        type: "secretstores.kubernetes",
        metadata: { kubeconfigPath, defaultNamespace: "apps", ...(watch ? { watch: "true" } : {}) },
      };
    },
    put: (name, value) => void api.putSecret("apps", name, { v: value }),
    remove: (name) => api.deleteSecret("apps", name),
    field: () => "v",
    ...(watch ? {} : { calls: (name: string) => api.count({ verb: "get", namespace: "apps", name }) }),
    delayMs: 1000,
    close: () => api.close(),
  };
}

describeNotifyCases("Kubernetes (watch)", kubernetes(true));
describeNotifyCases("Kubernetes (polled)", kubernetes(false));
