/** End to end: change notifications of a GCP Secret Manager component against its test server, polled through the `latest` version. */
import { startGcpComponent, type GcpComponent } from "../helpers/gcp-component.js";
import { describeNotifyCases } from "../helpers/notify-cases.js";

const PROJECT = "notify-prod";
let gcp: GcpComponent;
describeNotifyCases("GCP Secret Manager", {
  async start() {
    gcp = await startGcpComponent(PROJECT);
    return gcp.component;
  },
  put: (name, value) => void gcp.fx.server.seed(PROJECT, name, value),
  field: (name) => name,
  calls: (name) => gcp.reads(name),
  delayMs: 1500,
  close: () => gcp.fx.close(),
});
