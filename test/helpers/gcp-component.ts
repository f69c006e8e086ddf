/** A GCP Secret Manager component on the test server for the shared end-to-end cases (cache, notifications). */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keyMetadata, startGcpFixture, type GcpFixture } from "../servers/gcp/fixture.js";
import { testTls } from "../servers/gcp/trust-test-ca.js";

export interface GcpComponent {
  fx: GcpFixture;
  component: { type: string; metadata: Record<string, string>; env: Record<string, string> };
  /** AccessSecretVersion calls the server received for the secret `name`. */
  reads(name: string): number;
}

export async function startGcpComponent(projectId: string): Promise<GcpComponent> {
  const fx = await startGcpFixture({ projectId });
  return {
    fx,
    component: {
      type: "secretstores.gcp.secretmanager",
      metadata: { ...keyMetadata(fx.key), endpoint: `127.0.0.1:${fx.server.port}` },
      env: {
        GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: testTls.caPath,
        HOME: mkdtempSync(join(tmpdir(), "keyward-gcp-home-")),
        GOOGLE_APPLICATION_CREDENTIALS: "",
      },
    },
    reads: (name) =>
      fx.server.calls.filter(
        (c) =>
          c.method === "AccessSecretVersion" &&
          (c.request as { name?: string }).name?.startsWith(`projects/${projectId}/secrets/${name}/`),
      ).length,
  };
}
