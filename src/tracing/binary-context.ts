/**
 * @module gRPC's `grpc-trace-bin` (OpenCensus' binary trace context), which daprd reads before `traceparent`
 * and sends back: version 0, field 0 + 16-byte trace id, field 1 + 8-byte span id, field 2 + 1-byte flags.
 */

export interface BinarySpanContext {
  traceId: string;
  spanId: string;
  traceFlags: number;
}

const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);

/** The context in `b`, or undefined when it is malformed, of another version or has no ids. */
export function fromBinary(b: Buffer): BinarySpanContext | undefined {
  if (b.length < 18 || b[0] !== 0 || b[1] !== 0) return undefined;
  const traceId = b.subarray(2, 18).toString("hex");
  let i = 18;
  let spanId = ZERO_SPAN;
  let traceFlags = 0;
  if (b[i] === 1 && b.length >= i + 9) {
    spanId = b.subarray(i + 1, i + 9).toString("hex");
    i += 9;
  }
  if (b[i] === 2 && b.length >= i + 2) traceFlags = b[i + 1]! & 0xff;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId, spanId, traceFlags };
}

export function toBinary(sc: BinarySpanContext): Buffer {
  const b = Buffer.alloc(29);
  b.write(sc.traceId, 2, "hex");
  b[18] = 1;
  b.write(sc.spanId, 19, "hex");
  b[27] = 2;
  b[28] = sc.traceFlags & 0xff;
  return b;
}
