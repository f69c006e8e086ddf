/**
 * @module The `dapr.proto.runtime.v1.Dapr` service definition for grpc-js, built from the Dapr .proto files
 * vendored under proto/ (proto/README.md says which release).
 *
 * Why not @grpc/proto-loader's loadSync: it parses all ~30 files (~150 KB) the service imports and builds
 * reflection descriptors for every message, ~45% of the sidecar's start-up time when profiled (`npm run
 * bench`). Why not even protobufjs at start: importing it is another ~10% of start-up. So start-up
 * only reads the method list (names and streaming flags) from the `service Dapr` block of dapr.proto;
 * protobufjs (the version proto-loader also uses) parses dapr.proto and the two files whose messages
 * the served methods exchange when `warmDaprService` runs, as the gRPC API loads on the port's first
 * connection (api/grpc-listener.ts). Everything else is parsed the first time a client calls a method Keyward does
 * not serve, because grpc-js still decodes that request before answering UNIMPLEMENTED.
 * The (de)serializers are proto-loader's (fromObject+encode, decode+toObject with the same options), so the
 * bytes on the wire and the objects the handlers see are the same as with loadSync.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { isAbsolute, join } from "node:path";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import type * as Protobuf from "protobufjs";
import { PACKAGE_ROOT } from "../../package-root.js";

const require = createRequire(import.meta.url);
let protobufjs: typeof Protobuf | undefined;
const protobuf = (): typeof Protobuf => (protobufjs ??= require("protobufjs") as typeof Protobuf);

/** proto/ at the package root. */
export const PROTO_ROOT = join(PACKAGE_ROOT, "proto");
export const DAPR_PROTO = "dapr/proto/runtime/v1/dapr.proto";
export const SERVICE = "dapr.proto.runtime.v1.Dapr";
/** Files holding every message of the served methods (Empty is protobufjs's bundled copy, as with loadSync). */
const SERVED_FILES = [DAPR_PROTO, "dapr/proto/runtime/v1/secret.proto", "dapr/proto/runtime/v1/metadata.proto"];
export const SERVED_METHODS = new Set(["GetSecret", "GetBulkSecret", "GetMetadata", "SetMetadata", "Shutdown"]);
/** proto-loader's options as Keyward always passed them: field names as in the .proto, 64-bit and enums as strings. */
const PARSE_OPTIONS = { keepCase: true };
const OBJECT_OPTIONS: Protobuf.IConversionOptions = { longs: String, enums: String, defaults: true, oneofs: true };

export interface RpcShape {
  name: string;
  requestStream: boolean;
  responseStream: boolean;
}

/** The rpcs of `service <name>` in .proto text: comments dropped, the block found by brace matching. */
export function serviceRpcs(protoText: string, service: string): RpcShape[] {
  const text = protoText.replace(/\/\*[\s\S]*?\*\//g, " ").replace(/\/\/[^\n]*/g, " ");
  const head = new RegExp(`\\bservice\\s+${service}\\s*\\{`).exec(text);
  if (!head) throw new Error(`service ${service} not found`);
  let depth = 0;
  let end = -1;
  for (let i = head.index + head[0].length - 1; i < text.length; i++) {
    if (text[i] === "{") depth++;
    else if (text[i] === "}" && --depth === 0) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new Error(`service ${service} is not closed`);
  const body = text.slice(head.index + head[0].length, end);
  const rpcs: RpcShape[] = [];
  for (const m of body.matchAll(
    /\brpc\s+(\w+)\s*\(\s*(stream\s+)?[\w.]+\s*\)\s*returns\s*\(\s*(stream\s+)?[\w.]+\s*\)/g,
  )) {
    rpcs.push({ name: m[1]!, requestStream: m[2] !== undefined, responseStream: m[3] !== undefined });
  }
  if (rpcs.length === 0) throw new Error(`service ${service} has no rpc`);
  return rpcs;
}

function servedRoot(): Protobuf.Root {
  const pb = protobuf();
  const root = new pb.Root();
  const empty = pb.common.get("google/protobuf/empty.proto");
  if (empty) root.addJSON(empty.nested!);
  for (const file of SERVED_FILES) pb.parse(readFileSync(join(PROTO_ROOT, file), "utf8"), root, PARSE_OPTIONS);
  return root;
}

/** Everything dapr.proto imports, exactly as proto-loader's includeDirs resolver loads it. */
function fullRoot(): Protobuf.Root {
  const root = new (protobuf().Root)();
  root.resolvePath = (_origin, target) => (isAbsolute(target) ? target : join(PROTO_ROOT, target));
  root.loadSync(DAPR_PROTO, PARSE_OPTIONS);
  root.resolveAll();
  return root;
}

/**
 * The wire size of each message the served methods read or wrote, for daprd's bytes-per-rpc metrics: the
 * (de)serializers know it and the handlers do not. Weak, so a message takes its entry with it.
 */
export const wireBytes = new WeakMap<object, number>();

function serializer(type: () => Protobuf.Type): (value: unknown) => Buffer {
  // Bytes of frozen messages: the secrets service freezes the replies it keeps with cached answers, so a
  // cached answer is encoded once however often it is served.
  const encodedOnce = new WeakMap<object, Buffer>();
  return (value) => {
    const cls = type();
    if (Array.isArray(value))
      throw new Error(`Failed to serialize message: expected object with ${cls.name} structure, got array instead`);
    const kept = Object.isFrozen(value) ? encodedOnce.get(value as object) : undefined;
    if (kept) {
      wireBytes.set(value as object, kept.length);
      return kept;
    }
    const bytes = cls.encode(cls.fromObject(value as Record<string, unknown>)).finish() as Buffer;
    if (Object.isFrozen(value)) encodedOnce.set(value as object, bytes);
    if (typeof value === "object" && value !== null) wireBytes.set(value, bytes.length);
    return bytes;
  };
}

function deserializer(type: () => Protobuf.Type): (bytes: Buffer) => unknown {
  return (bytes) => {
    const cls = type();
    const message = cls.toObject(cls.decode(bytes), OBJECT_OPTIONS);
    wireBytes.set(message, bytes.length);
    return message;
  };
}

let cached: ServiceDefinition | undefined;
let served: Protobuf.Service | undefined;
let full: Protobuf.Service | undefined;

function servedMethod(name: string): Protobuf.Method {
  const method = (served ??= servedRoot().lookupService(SERVICE)).methods[name]!;
  method.resolve();
  return method;
}

function fullMethod(name: string): Protobuf.Method {
  return (full ??= fullRoot().lookupService(SERVICE)).methods[name]!;
}

export function daprService(): ServiceDefinition {
  if (cached) return cached;
  const def: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const rpc of serviceRpcs(readFileSync(join(PROTO_ROOT, DAPR_PROTO), "utf8"), "Dapr")) {
    const name = rpc.name;
    const method = SERVED_METHODS.has(name) ? () => servedMethod(name) : () => fullMethod(name);
    const request = () => method().resolvedRequestType!;
    const response = () => method().resolvedResponseType!;
    def[name] = {
      path: `/${SERVICE}/${name}`,
      requestStream: rpc.requestStream,
      responseStream: rpc.responseStream,
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

/**
 * Loads protobufjs and the served messages' (de)serializers now rather than on the first call; `keyward
 * serve` calls it once the sidecar is ready. Returns the rpcs whose shape protobufjs reads differently from
 * the method list start-up read (always none unless dapr.proto uses syntax that list reader does not know).
 */
export function warmDaprService(): string[] {
  for (const name of SERVED_METHODS) {
    const m = servedMethod(name);
    m.resolvedRequestType!.setup();
    m.resolvedResponseType!.setup();
  }
  const parsed = served!.methodsArray;
  const listed = serviceRpcs(readFileSync(join(PROTO_ROOT, DAPR_PROTO), "utf8"), "Dapr");
  const differ = listed
    .filter(
      (r, i) =>
        parsed[i]?.name !== r.name ||
        !!parsed[i]?.requestStream !== r.requestStream ||
        !!parsed[i]?.responseStream !== r.responseStream,
    )
    .map((r) => r.name);
  if (parsed.length !== listed.length) differ.push(`(${parsed.length} rpcs parsed, ${listed.length} listed)`);
  return differ;
}
