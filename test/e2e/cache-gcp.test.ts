/**
 * End to end: the answer cache of GCP Secret Manager components against the Secret Manager test server
 * (TLS, service-account key); UNAVAILABLE on every access is the failing backend.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { describeCacheCases } from "../helpers/cache-cases.js";
import { keyMetadata, startGcpFixture, type GcpFixture } from "../servers/gcp/fixture.js";
import { testTls } from "../servers/gcp/trust-test-ca.js";

const PROJECT = "cache-prod";
let fx: GcpFixture;
describeCacheCases("GCP Secret Manager", {
  async start() {
    fx = await startGcpFixture({ projectId: PROJECT });
    return {
      type: "secretstores.gcp.secretmanager",
      metadata: { ...keyMetadata(fx.key), endpoint: `127.0.0.1:${fx.server.port}` },
      env: {
        GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: testTls.caPath,
        HOME: mkdtempSync(join(tmpdir(), "keyward-gcp-cache-home-")),
        GOOGLE_APPLICATION_CREDENTIALS: "",
      },
    };
  },
  put: (name, value) => void fx.server.seed(PROJECT, name, value),
  field: (name) => name,
  reads: (name) =>
    fx.server.calls.filter(
      (c) =>
        c.method === "AccessSecretVersion" &&
        (c.request as { name?: string }).name?.startsWith(`projects/${PROJECT}/secrets/${name}/`),
    ).length,
  fail: async () => fx.server.failNext("AccessSecretVersion", status.UNAVAILABLE, "backend down", 1_000_000),
  recover: async () => fx.server.reset(),
  close: () => fx.close(),
});
