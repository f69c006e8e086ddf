/**
 * The error catalogue spells its gRPC codes itself (so the HTTP path loads no gRPC library): each must be
 * grpc's own number for its name, and every error must carry one of them.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { Errors, GrpcStatus } from "../../src/errors/catalogue.js";

describe("error catalogue: gRPC codes", () => {
  it("names each code with grpc's number for it", () => {
    for (const [name, code] of Object.entries(GrpcStatus))
      assert.equal(code, status[name as keyof typeof status], name);
  });

  it("gives every error a code from that list", () => {
    const codes = new Set<number>(Object.values(GrpcStatus));
    for (const [name, def] of Object.entries(Errors)) assert.ok(codes.has(def.grpcCode), name);
  });
});
