/**
 * @module The gRPC baseline: a bare @grpc/grpc-js server with the same Dapr service, loaded from the same
 * dapr.proto vendored in proto/, whose GetSecret returns the same map Keyward returns. Every other method is
 * left unimplemented. Input: one JSON argument {data: {name: value}}. Prints `ready port=N`.
 */
import { fileURLToPath } from "node:url";
import {
  loadPackageDefinition,
  Server,
  ServerCredentials,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";

const data = (JSON.parse(process.argv[2] ?? '{"data":{}}') as { data: Record<string, string> }).data;
/** proto/ at the repository root: this file runs as dist/bench/servers/bare-grpc.js. */
const protoRoot = fileURLToPath(new URL("../../../proto/", import.meta.url));
const def = loadSync("dapr/proto/runtime/v1/dapr.proto", {
  includeDirs: [protoRoot],
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
});
const pkg = loadPackageDefinition(def) as unknown as {
  dapr: { proto: { runtime: { v1: { Dapr: { service: ServiceDefinition } } } } };
};
const impl: UntypedServiceImplementation = {
  GetSecret: (_call: unknown, cb: (err: null, value: unknown) => void) => cb(null, { data }),
};
const server = new Server();
server.addService(pkg.dapr.proto.runtime.v1.Dapr.service, impl);
server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.stdout.write(`ready port=${port}\n`);
});
process.on("SIGTERM", () => server.tryShutdown(() => process.exit(0)));
