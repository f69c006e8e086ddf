/**
 * The real HTTP and gRPC servers in this process around stores a test provides, for runtime cases that
 * need a store no shipped type can play (daprd's fake store in its own runtime tests).
 */
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { ServerCredentials } from "@grpc/grpc-js";
import { createGrpcApi } from "../../src/api/grpc/server.js";
import { createHttpApi } from "../../src/api/http/server.js";
import type { SidecarState } from "../../src/api/sidecar-api.js";
import { buildPolicies } from "../../src/core/resiliency.js";
import { InFlightCalls } from "../../src/core/cancellation.js";
import { Runtime } from "../../src/core/runtime.js";
import { SecretsService } from "../../src/core/secrets-service.js";
import { createLogger } from "../../src/log.js";
import type { SecretScope } from "../../src/resources/configuration.js";
import { parseYamlDocument, splitDocuments } from "../../src/resources/yaml-documents.js";
import type { SecretStore } from "../../src/stores/types.js";
import { Writable } from "node:stream";

export interface InProcess {
  httpUrl: string;
  grpcAddress: string;
  logs: string[];
  close(): Promise<void>;
}

export async function startInProcess(opts: {
  stores: Record<string, SecretStore>;
  scopes?: SecretScope[];
  resiliencyYaml?: string;
  token?: string;
}): Promise<InProcess> {
  const logs: string[] = [];
  const sink = new Writable({ write: (c: Buffer, _e, cb) => (logs.push(c.toString()), cb()) });
  const log = createLogger({ level: "debug", json: true, appId: "fake-app", destination: sink });
  const runtime = new Runtime({
    appId: "fake-app",
    resourcesPaths: [],
    configFiles: [],
    kubernetesMode: false,
    namespace: "",
    env: {},
    log,
  });
  for (const [name, store] of Object.entries(opts.stores))
    runtime.stores.set(name, { name, type: "secretstores.fake", version: "v1", store, features: store.features() });
  const scopes = new Map((opts.scopes ?? []).map((s) => [s.storeName, s]));
  runtime.configuration = {
    scopes,
    apiAllowed: undefined,
    apiDenied: undefined,
    features: new Map(),
    recordErrorCodes: false,
  };
  const others = opts.resiliencyYaml
    ? splitDocuments(opts.resiliencyYaml).map((chunk) => ({
        kind: "Resiliency",
        doc: parseYamlDocument(chunk, "1.1"),
        file: "resiliency.yaml",
      }))
    : [];
  runtime.service = new SecretsService({
    stores: runtime.stores,
    scopes,
    policies: buildPolicies(others, "fake-app", Object.keys(opts.stores)),
    log,
  });
  const state: SidecarState = {
    appId: "fake-app",
    runtime,
    token: opts.token,
    shuttingDown: false,
    calls: new InFlightCalls(),
    extendedMetadata: new Map(),
    requestShutdown: () => undefined,
  };
  const http: Server = createHttpApi({ state, maxBodyBytes: 4 << 20, apiLogging: false, log });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  const grpc = createGrpcApi({ state, maxMessageBytes: 4 << 20, apiLogging: false, log });
  const port = await new Promise<number>((res, rej) =>
    grpc.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  return {
    httpUrl: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    grpcAddress: `127.0.0.1:${port}`,
    logs,
    close: async () => {
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
      grpc.forceShutdown();
    },
  };
}
