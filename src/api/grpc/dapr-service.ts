/**
 * @module The `dapr.proto.runtime.v1.Dapr` service definition for grpc-js, built from the .proto files that
 * ship in @dapr/dapr.
 *
 * Why not @grpc/proto-loader's loadSync: it parses all ~30 files (~150 KB) the service imports and builds
 * reflection descriptors for every message, ~45% of the sidecar's start-up time when profiled (`npm run
 * bench`, issue 6). Here start-up parses only dapr.proto (the method list) and the two files whose messages
 * the served methods exchange; everything else is parsed the first time a client calls a method Keyward
 * does not serve, because grpc-js still decodes that request before answering UNIMPLEMENTED.
 * The parser is the protobufjs copy proto-loader itself depends on, and the (de)serializers are
 * proto-loader's (fromObject+encode, decode+toObject with the same options), so the bytes on the wire
 * and the objects the handlers see are the same as with loadSync.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, isAbsolute, join } from "node:path";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import type * as Protobuf from "protobufjs";

const require = createRequire(import.meta.url);
const protobuf = createRequire(require.resolve("@grpc/proto-loader"))("protobufjs") as typeof Protobuf;

const PROTO_ROOT = join(dirname(require.resolve("@dapr/dapr/package.json")), "proto");
const DAPR_PROTO = "dapr/proto/runtime/v1/dapr.proto";
const SERVICE = "dapr.proto.runtime.v1.Dapr";
/** Files holding every message of the served methods (Empty is protobufjs's bundled copy, as with loadSync). */
const SERVED_FILES = [DAPR_PROTO, "dapr/proto/runtime/v1/secret.proto", "dapr/proto/runtime/v1/metadata.proto"];
export const SERVED_METHODS = new Set(["GetSecret", "GetBulkSecret", "GetMetadata", "SetMetadata", "Shutdown"]);
/** proto-loader's options as Keyward always passed them: field names as in the .proto, 64-bit and enums as strings. */
const PARSE_OPTIONS = { keepCase: true };
const OBJECT_OPTIONS: Protobuf.IConversionOptions = { longs: String, enums: String, defaults: true, oneofs: true };

function servedRoot(): Protobuf.Root {
  const root = new protobuf.Root();
  const empty = protobuf.common.get("google/protobuf/empty.proto");
  if (empty) root.addJSON(empty.nested!);
  for (const file of SERVED_FILES) protobuf.parse(readFileSync(join(PROTO_ROOT, file), "utf8"), root, PARSE_OPTIONS);
  return root;
}

/** Everything dapr.proto imports, exactly as proto-loader's includeDirs resolver loads it. */
function fullRoot(): Protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (isAbsolute(target) ? target : join(PROTO_ROOT, target));
  root.loadSync(DAPR_PROTO, PARSE_OPTIONS);
  root.resolveAll();
  return root;
}

function serializer(type: () => Protobuf.Type): (value: unknown) => Buffer {
  return (value) => {
    const cls = type();
    if (Array.isArray(value)) throw new Error(`Failed to serialize message: expected object with ${cls.name} structure, got array instead`);
    return cls.encode(cls.fromObject(value as Record<string, unknown>)).finish() as Buffer;
  };
}

function deserializer(type: () => Protobuf.Type): (bytes: Buffer) => unknown {
  return (bytes) => {
    const cls = type();
    return cls.toObject(cls.decode(bytes), OBJECT_OPTIONS);
  };
}

let cached: ServiceDefinition | undefined;

export function daprService(): ServiceDefinition {
  if (cached) return cached;
  const service = servedRoot().lookupService(SERVICE);
  let full: Protobuf.Service | undefined;
  const fullMethod = (name: string) => (full ??= fullRoot().lookupService(SERVICE)).methods[name]!;
  const def: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methodsArray) {
    const name = method.name;
    let request: () => Protobuf.Type;
    let response: () => Protobuf.Type;
    if (SERVED_METHODS.has(name)) {
      method.resolve();
      const req = method.resolvedRequestType!;
      const res = method.resolvedResponseType!;
      request = () => req;
      response = () => res;
    } else {
      request = () => fullMethod(name).resolvedRequestType!;
      response = () => fullMethod(name).resolvedResponseType!;
    }
    def[name] = {
      path: `/${SERVICE}/${name}`,
      requestStream: !!method.requestStream,
      responseStream: !!method.responseStream,
      requestSerialize: serializer(request),
      requestDeserialize: deserializer(request),
      responseSerialize: serializer(response),
      responseDeserialize: deserializer(response),
      originalName: name.charAt(0).toLowerCase() + name.slice(1),
    };
  }
  cached = def as ServiceDefinition;
  return cached;
}
