/**
 * @module gRPC server reflection (v1 and v1alpha) for the services the API port serves, as daprd registers
 * it, so `grpcurl list` and `grpcurl describe` work against Keyward.
 *
 * @grpc/reflection wants proto-loader's full descriptors of dapr.proto and everything it imports: loading
 * them and the package takes seconds on a busy machine, several times Keyward's whole start-up. So the two
 * services are registered at start-up with placeholders and the real ones are built on the first
 * reflection call; only a client that uses reflection pays for it, once.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import {
  status,
  type MethodDefinition,
  type Server,
  type ServerDuplexStream,
  type ServiceDefinition,
} from "@grpc/grpc-js";
import type { loadSync, PackageDefinition } from "@grpc/proto-loader";
import { DAPR_PROTO, PROTO_ROOT, SERVICE } from "./dapr-service.js";
import { KEYWARD_PROTO, KEYWARD_SERVICE } from "./keyward-service.js";

const require = createRequire(import.meta.url);
const VERSIONS = ["v1", "v1alpha"] as const;
const reflectionService = (v: string) => `grpc.reflection.${v}.ServerReflection`;
const methodPath = (v: string) => `/${reflectionService(v)}/ServerReflectionInfo`;

type Handler = (stream: ServerDuplexStream<unknown, unknown>) => void;
interface Built {
  def: MethodDefinition<unknown, unknown>;
  handler: Handler;
}

let built: Map<string, Built> | undefined;

/** @grpc/reflection's own definitions and handlers, captured from its addToServer. */
function build(): Map<string, Built> {
  if (built) return built;
  const { ReflectionService } = require("@grpc/reflection") as typeof import("@grpc/reflection");
  // The proto-loader @grpc/reflection itself depends on: Keyward has no other use for it at run time.
  const protoLoader = createRequire(require.resolve("@grpc/reflection"))("@grpc/proto-loader") as {
    loadSync: typeof loadSync;
  };
  const reflectionProtos = join(dirname(require.resolve("@grpc/reflection/package.json")), "build", "proto");
  const files = [DAPR_PROTO, KEYWARD_PROTO, ...VERSIONS.map((v) => `grpc/reflection/${v}/reflection.proto`)];
  const pkg: PackageDefinition = protoLoader.loadSync(files, {
    includeDirs: [PROTO_ROOT, reflectionProtos],
    keepCase: true,
  });
  const service = new ReflectionService(pkg, {
    services: [SERVICE, KEYWARD_SERVICE, ...VERSIONS.map(reflectionService)],
  });
  const out = new Map<string, Built>();
  service.addToServer({
    addService(def: ServiceDefinition, impl: Record<string, Handler>) {
      for (const [name, m] of Object.entries(def)) out.set(m.path, { def: m, handler: impl[name]! });
    },
  } as unknown as Server);
  built = out;
  return out;
}

/** Registers reflection v1 and v1alpha on `server`; nothing is loaded until a client uses them. */
export function addReflection(server: Server): void {
  for (const v of VERSIONS) {
    const path = methodPath(v);
    const real = () => build().get(path)!;
    const def: MethodDefinition<unknown, unknown> = {
      path,
      requestStream: true,
      responseStream: true,
      requestSerialize: (value) => real().def.requestSerialize(value),
      requestDeserialize: (bytes) => real().def.requestDeserialize(bytes),
      responseSerialize: (value) => real().def.responseSerialize(value),
      responseDeserialize: (bytes) => real().def.responseDeserialize(bytes),
    };
    server.addService({ ServerReflectionInfo: def } as ServiceDefinition, {
      ServerReflectionInfo: (stream: ServerDuplexStream<unknown, unknown>) => {
        let handler: Handler;
        try {
          handler = real().handler;
        } catch {
          // A broken install must not take the sidecar down; the client learns reflection is unavailable.
          stream.emit("error", { code: status.UNAVAILABLE, details: "server reflection could not be loaded" });
          return;
        }
        handler(stream);
      },
    });
  }
}
