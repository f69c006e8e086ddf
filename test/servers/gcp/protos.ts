/**
 * The Secret Manager wire contract, loaded from the .proto files that ship inside
 * @google-cloud/secret-manager (google-gax's protos resolve the google/api, iam and rpc imports).
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const require = createRequire(import.meta.url);
// Both packages' main files live in build/src; their protos in build/protos.
const SECRET_MANAGER_PROTOS = join(dirname(require.resolve("@google-cloud/secret-manager")), "..", "protos");
const GAX_PROTOS = join(dirname(require.resolve("google-gax")), "..", "protos");

const definition = protoLoader.loadSync(
  ["google/cloud/secretmanager/v1/service.proto", "google/rpc/error_details.proto"],
  {
    includeDirs: [SECRET_MANAGER_PROTOS, GAX_PROTOS],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  },
);

interface ServiceHolder {
  google: { cloud: { secretmanager: { v1: { SecretManagerService: grpc.ServiceClientConstructor } } } };
}

export const SecretManagerService = (grpc.loadPackageDefinition(definition) as unknown as ServiceHolder).google.cloud
  .secretmanager.v1.SecretManagerService.service;

function messageType(name: string): protoLoader.MessageTypeDefinition<object, object> {
  const t = definition[name];
  if (!t || !("serialize" in t)) throw new Error(`message ${name} is not in the loaded protos`);
  return t as protoLoader.MessageTypeDefinition<object, object>;
}

/** google.rpc.Status with one google.rpc.ErrorInfo detail, as Google APIs send in `grpc-status-details-bin`. */
export function statusDetailsBin(
  code: number,
  message: string,
  info: { reason: string; domain: string; metadata: Record<string, string> },
): Buffer {
  const errorInfo = messageType("google.rpc.ErrorInfo").serialize(info);
  return messageType("google.rpc.Status").serialize({
    code,
    message,
    details: [{ type_url: "type.googleapis.com/google.rpc.ErrorInfo", value: errorInfo }],
  });
}
