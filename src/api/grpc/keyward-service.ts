/**
 * @module `keyward.v1alpha1.Secrets` (proto/keyward/v1alpha1/secrets.proto): change notifications over
 * gRPC. Served next to the Dapr service on the same port, behind the same token interceptor. protobufjs
 * parses the small .proto on the first call, not at start-up.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { status, type ServerWritableStream, type ServiceDefinition } from "@grpc/grpc-js";
import type * as Protobuf from "protobufjs";
import type { SecretEvent, Subscriber } from "../../core/notify/events.js";
import { LatestOnly } from "../../core/notify/latest-only.js";
import { REFRESH_CACHE } from "../../core/secrets-service.js";
import { ApiError } from "../../errors/catalogue.js";
import type { SidecarState } from "../sidecar-api.js";
import { PROTO_ROOT } from "./dapr-service.js";

const require = createRequire(import.meta.url);
export const KEYWARD_PROTO = "keyward/v1alpha1/secrets.proto";
export const KEYWARD_SERVICE = "keyward.v1alpha1.Secrets";
const OBJECT_OPTIONS: Protobuf.IConversionOptions = { longs: String, enums: String, defaults: true };

let types: { request: Protobuf.Type; update: Protobuf.Type } | undefined;
function messages(): { request: Protobuf.Type; update: Protobuf.Type } {
  if (types) return types;
  const pb = require("protobufjs") as typeof Protobuf;
  const root = pb.parse(readFileSync(join(PROTO_ROOT, KEYWARD_PROTO), "utf8"), new pb.Root(), { keepCase: true }).root;
  types = {
    request: root.lookupType("keyward.v1alpha1.SubscribeSecretRequest"),
    update: root.lookupType("keyward.v1alpha1.SecretUpdate"),
  };
  return types;
}

function serializer(type: () => Protobuf.Type) {
  return (value: unknown) =>
    Buffer.from(
      type()
        .encode(type().fromObject(value as Record<string, unknown>))
        .finish(),
    );
}
function deserializer(type: () => Protobuf.Type) {
  return (bytes: Buffer) => type().toObject(type().decode(bytes), OBJECT_OPTIONS);
}

export function keywardService(): ServiceDefinition {
  const request = () => messages().request;
  const update = () => messages().update;
  return {
    SubscribeSecret: {
      path: `/${KEYWARD_SERVICE}/SubscribeSecret`,
      requestStream: false,
      responseStream: true,
      requestSerialize: serializer(request),
      requestDeserialize: deserializer(request),
      responseSerialize: serializer(update),
      responseDeserialize: deserializer(update),
      originalName: "subscribeSecret",
    },
  } as ServiceDefinition;
}

interface SubscribeRequest {
  store_name: string;
  key: string;
  metadata: Record<string, string>;
}

type Call = ServerWritableStream<SubscribeRequest, unknown>;

function updateMessage(event: SecretEvent): object {
  if (event.kind === "delete") return { data: {}, deleted: true, version: event.version ?? "" };
  return { data: event.answer?.data ?? {}, deleted: false, version: event.version ?? "" };
}

/** Latest-state delivery on a gRPC stream: while the client does not read, only the newest update waits. */
class UpdateStream implements Subscriber {
  private ended = false;
  private readonly slot: LatestOnly<object>;

  constructor(private readonly call: Call) {
    this.slot = new LatestOnly(
      call,
      (message) => call.write(message),
      () => !this.ended,
    );
    call.once("cancelled", () => (this.ended = true));
  }

  push(event: SecretEvent): void {
    if (!this.ended) this.slot.offer(updateMessage(event));
  }

  close(why: string): void {
    if (this.ended) return;
    this.ended = true;
    this.call.emit("error", { code: status.UNAVAILABLE, details: `subscription ended: ${why}` });
  }
}

/** The SubscribeSecret handler: the checks of GetSecret, then the secret's states until the client cancels. */
export function subscribeSecretHandler(state: SidecarState): (call: Call) => void {
  return (call) => {
    const r = call.request;
    const { [REFRESH_CACHE]: _refresh, ...metadata } = r.metadata ?? {};
    const stream = new UpdateStream(call);
    void (async () => {
      const { entry, name } = await state.runtime.service.subscribeTarget(r.store_name, r.key);
      if (call.cancelled) return;
      const stop = await state.runtime.notifications.subscribe(
        { entry, name, metadata, connection: `grpc-${call.getPeer()}` },
        stream,
      );
      if (call.cancelled) stop();
      else call.once("cancelled", stop);
    })().catch((err: unknown) => {
      if (err instanceof ApiError) call.emit("error", { code: err.grpcCode, details: err.message });
      else call.emit("error", { code: status.INTERNAL, details: "internal error" });
    });
  };
}
