/**
 * End to end: the answer cache of Kubernetes components (reading through to the API server, no watch)
 * against the Kubernetes API test server; a stopped server is the failing backend.
 */
import { describeCacheCases } from "../helpers/cache-cases.js";
import { KubeApiTestServer } from "../servers/kubernetes/server.js";

let api: KubeApiTestServer;
describeCacheCases("Kubernetes", {
  async start() {
    api = await KubeApiTestServer.start();
    return {
      type: "secretstores.kubernetes",
      metadata: { kubeconfigPath: api.writeKubeconfig(), defaultNamespace: "apps" },
    };
  },
  put: (name, value) => void api.putSecret("apps", name, { v: value }),
  field: () => "v",
  reads: (name) => api.count({ verb: "get", namespace: "apps", name }),
  fail: () => api.stop(),
  recover: () => api.restart(),
  close: () => api.close(),
});
