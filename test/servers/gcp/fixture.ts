/** A ready GCP backend for store tests: TLS Secret Manager with auth, a token endpoint, a service-account key. */
import type { ComponentMetadata } from "../../../src/stores/types.js";
import { startGcpAuthServer, type GcpAuthServer } from "./auth-server.js";
import { TestIdentity, type ServiceAccountKey } from "./identity.js";
import { startGcpSecretManager, type GcpSecretManagerServer } from "./server.js";
import { testTls } from "./trust-test-ca.js";

export interface GcpFixture {
  identity: TestIdentity;
  server: GcpSecretManagerServer;
  auth: GcpAuthServer;
  /** A key for `projectId`, whose token_uri is the local token endpoint. */
  key: ServiceAccountKey;
  projectId: string;
  projectNumber: string;
  /** Component metadata in daprd's snake_case names for `key`, pointed at the server. */
  metadata(extra?: Record<string, string>, key?: ServiceAccountKey): ComponentMetadata;
  close(): Promise<void>;
}

export function keyMetadata(key: ServiceAccountKey): Record<string, string> {
  const { universe_domain: _u, ...fields } = key;
  return { ...fields };
}

export async function startGcpFixture(
  opts: { projectId?: string; projectNumber?: string; defaultPageSize?: number; metadataServer?: boolean } = {},
): Promise<GcpFixture> {
  const projectId = opts.projectId ?? "keyward-test";
  const projectNumber = opts.projectNumber ?? "770011223344";
  const identity = new TestIdentity();
  const metadataEmail = `${projectNumber}-compute@developer.gserviceaccount.com`;
  const auth = await startGcpAuthServer(
    opts.metadataServer ? { identity, metadata: { email: metadataEmail, projectId } } : { identity },
  );
  const server = await startGcpSecretManager({
    identity,
    tls: { cert: testTls.cert, key: testTls.key },
    projects: { [projectId]: projectNumber },
    ...(opts.defaultPageSize ? { defaultPageSize: opts.defaultPageSize } : {}),
  });
  const key = identity.createServiceAccount(
    `keyward-reader@${projectId}.iam.gserviceaccount.com`,
    projectId,
    auth.tokenUri,
  );
  return {
    identity,
    server,
    auth,
    key,
    projectId,
    projectNumber,
    metadata: (extra = {}, k = key) => ({ ...keyMetadata(k), endpoint: `127.0.0.1:${server.port}`, ...extra }),
    close: async () => {
      await server.close();
      await auth.close();
    },
  };
}
