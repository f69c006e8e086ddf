/**
 * @module Encodes google.rpc.Status with one google.rpc.ErrorInfo for `grpc-status-details-bin`, as daprd
 * attaches to auth and allow-list errors. Five fields of protobuf do not justify another dependency.
 */
import { Metadata, type status } from "@grpc/grpc-js";

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

function bytesField(tag: number, data: Uint8Array): number[] {
  return [...varint((tag << 3) | 2), ...varint(data.length), ...data];
}

const utf8 = (s: string) => Buffer.from(s, "utf8");

export function errorInfoMetadata(
  code: status,
  message: string,
  reason: string,
  meta: Record<string, string>,
): Metadata {
  const info: number[] = [...bytesField(1, utf8(reason)), ...bytesField(2, utf8("dapr.io"))];
  for (const [k, v] of Object.entries(meta))
    info.push(...bytesField(3, Uint8Array.from([...bytesField(1, utf8(k)), ...bytesField(2, utf8(v))])));
  const any = [
    ...bytesField(1, utf8("type.googleapis.com/google.rpc.ErrorInfo")),
    ...bytesField(2, Uint8Array.from(info)),
  ];
  const statusMsg = [
    ...varint((1 << 3) | 0),
    ...varint(code),
    ...bytesField(2, utf8(message)),
    ...bytesField(3, Uint8Array.from(any)),
  ];
  const md = new Metadata();
  md.set("grpc-status-details-bin", Buffer.from(statusMsg));
  return md;
}
