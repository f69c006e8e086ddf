/**
 * End to end: the answer cache of GCP Secret Manager components against the Secret Manager test server
 * (TLS, service-account key); UNAVAILABLE on every access is the failing backend.
 */
import { status } from "@grpc/grpc-js";
import { describeCacheCases } from "../helpers/cache-cases.js";
import { startGcpComponent, type GcpComponent } from "../helpers/gcp-component.js";

const PROJECT = "cache-prod";
let gcp: GcpComponent;
describeCacheCases("GCP Secret Manager", {
  async start() {
    gcp = await startGcpComponent(PROJECT);
    return gcp.component;
  },
  put: (name, value) => void gcp.fx.server.seed(PROJECT, name, value),
  field: (name) => name,
  reads: (name) => gcp.reads(name),
  fail: async () => gcp.fx.server.failNext("AccessSecretVersion", status.UNAVAILABLE, "backend down", 1_000_000),
  recover: async () => gcp.fx.server.reset(),
  close: () => gcp.fx.close(),
});
