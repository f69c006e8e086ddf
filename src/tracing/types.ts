/**
 * @module What the API servers and the secrets service see of tracing: plain interfaces, so nothing of the
 * OpenTelemetry SDK is loaded unless the Configuration turns tracing on.
 */

/** A store call inside an API call's span. */
export interface StoreSpan {
  /** Ends the span; a failure sets its status (the store's error kind, never its message). */
  end(error?: unknown): void;
}

/** The server span of one API call. */
export interface CallSpan {
  /** 32 hex digits. */
  readonly traceId: string;
  /** The W3C traceparent of this span, for the HTTP response header. */
  readonly traceparent: string;
  /** The caller's tracestate, passed back as daprd does; "" for none. */
  readonly tracestate: string;
  /** The binary trace context of this span (OpenCensus' grpc-trace-bin layout), for the gRPC response header. */
  binary(): Buffer;
  /** A child span around one store call. */
  storeCall(store: string, type: string, operation: "get" | "bulk_get"): StoreSpan;
  /** Adds attributes (strings only, as daprd's). */
  set(attributes: Readonly<Record<string, string>>): void;
  /** Ends the span with an error status when `error` is given. */
  end(error?: string): void;
}

/** The header or metadata values a caller may send to continue its trace. */
export interface IncomingContext {
  traceparent?: string | undefined;
  tracestate?: string | undefined;
  /** gRPC `grpc-trace-bin`. */
  binary?: Buffer | undefined;
}

export interface Tracing {
  /** Starts an API call's server span, continuing the caller's trace when it sent one. */
  start(name: string, incoming: IncomingContext): CallSpan;
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}
