/**
 * @module The connect-node gRPC candidate: a bare @connectrpc/connect-node server (HTTP/2 cleartext, the gRPC
 * protocol) with the same Dapr service as bare-grpc.ts, from the same vendored proto/ dapr.proto, whose GetSecret
 * returns the same map. There is no codegen step: protobufjs parses the .proto and exports it as a
 * FileDescriptorSet, which @bufbuild/protobuf turns into a registry at run time. Every other method is left
 * unimplemented. Input: one JSON argument {data: {name: value}}. Prints `ready port=N`.
 */
import { createServer } from "node:http2";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type * as Protobuf from "protobufjs";

const data = (JSON.parse(process.argv[2] ?? '{"data":{}}') as { data: Record<string, string> }).data;
/** proto/ at the repository root: this file runs as dist/bench/servers/bare-connect.js. */
const protoRoot = fileURLToPath(new URL("../../../proto/", import.meta.url));

const require = createRequire(import.meta.url);
const pb = require("protobufjs") as typeof Protobuf;
// Adds Root#toDescriptor.
const descriptor = require("protobufjs/ext/descriptor") as { FileDescriptorSet: Protobuf.Type };

interface FieldDesc {
  typeName?: string;
}
interface MessageDesc {
  name: string;
  field: FieldDesc[];
  nestedType?: MessageDesc[];
}
interface MethodDesc {
  inputType: string;
  outputType: string;
}
interface FileDesc {
  name: string;
  package: string;
  dependency: string[];
  messageType: MessageDesc[];
  service?: { name: string; method: MethodDesc[] }[];
}

/**
 * protobufjs writes one file per package, with no imports and type names relative to their scope (and map
 * entries named after the field); @bufbuild/protobuf wants imports and fully qualified names, so both are filled in.
 */
function fileDescriptorSet(root: Protobuf.Root): Uint8Array {
  const set = (root as unknown as { toDescriptor(syntax: string): { file: FileDesc[] } }).toDescriptor("proto3");
  const qualify = (msgs: MessageDesc[], prefix: string, scope: Protobuf.NamespaceBase) => {
    for (const m of msgs) {
      const full = `${prefix}.${m.name}`;
      // Map entries exist only in the descriptor: their value types resolve in the enclosing message.
      const here = (root.lookup(full.slice(1)) as Protobuf.Type | null) ?? scope;
      for (const f of m.field) {
        if (!f.typeName || f.typeName.startsWith(".")) continue;
        const nested = (m.nestedType ?? []).some((n) => n.name === f.typeName);
        f.typeName = nested ? `${full}.${f.typeName}` : here.lookupTypeOrEnum(f.typeName).fullName;
      }
      qualify(m.nestedType ?? [], full, here);
    }
  };
  const byPackage = new Map(set.file.map((f) => [f.package, f]));
  for (const f of set.file) {
    qualify(f.messageType, `.${f.package}`, root);
    for (const s of f.service ?? [])
      for (const m of s.method) {
        const svc = root.lookupService(`${f.package}.${s.name}`);
        m.inputType = svc.lookupType(m.inputType).fullName;
        m.outputType = svc.lookupType(m.outputType).fullName;
      }
  }
  // Imports: every package a file's types refer to, listed before it.
  const order: FileDesc[] = [];
  const visit = (f: FileDesc) => {
    if (order.includes(f)) return;
    const refs = new Set<string>();
    const walk = (msgs: MessageDesc[]) => {
      for (const m of msgs) {
        for (const fd of m.field) if (fd.typeName) refs.add(fd.typeName);
        walk(m.nestedType ?? []);
      }
    };
    walk(f.messageType);
    for (const s of f.service ?? []) for (const m of s.method) refs.add(m.inputType).add(m.outputType);
    const deps = [...byPackage.values()].filter(
      (d) => d !== f && [...refs].some((r) => r.startsWith(`.${d.package}.`)),
    );
    f.dependency = deps.map((d) => d.name);
    deps.forEach(visit);
    order.push(f);
  };
  set.file.forEach(visit);
  set.file = order;
  return descriptor.FileDescriptorSet.encode(set as unknown as Protobuf.Message).finish();
}

const root = new pb.Root();
root.resolvePath = (_origin, target) => protoRoot + target;
root.loadSync("dapr/proto/runtime/v1/dapr.proto", { keepCase: true }).resolveAll();
const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, fileDescriptorSet(root)));
const dapr = registry.getService("dapr.proto.runtime.v1.Dapr");
if (!dapr) throw new Error("dapr.proto.runtime.v1.Dapr is not in the descriptor set");
const getSecret = dapr.methods.find((m) => m.name === "GetSecret");
if (!getSecret) throw new Error("Dapr.GetSecret is not in the descriptor set");

const routes = (router: ConnectRouter) => router.rpc(getSecret as never, (() => ({ data })) as never);
const server = createServer(connectNodeAdapter({ routes, grpc: true, grpcWeb: false, connect: false }));
server.listen(0, "127.0.0.1", () => process.stdout.write(`ready port=${(server.address() as AddressInfo).port}\n`));
process.on("SIGTERM", () => process.exit(0));
