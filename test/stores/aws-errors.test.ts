/** How AWS failures become store errors: kinds, and no credential in any message (no backend needed). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AwsCredentialError, toStoreError } from "../../src/stores/aws/errors.js";
import { SecretStoreError } from "../../src/stores/types.js";

const ctx = {
  service: "AWS Secrets Manager",
  action: "get secret db",
  secretName: "db",
  secrets: ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "session-token-value-123"],
};

function sdkError(name: string, message: string, status: number): Error {
  return Object.assign(new Error(message), { name, $fault: "client", $metadata: { httpStatusCode: status } });
}

describe("aws errors", () => {
  it("maps AWS error codes to kinds", () => {
    const cases: [string, number, string][] = [
      ["ResourceNotFoundException", 400, "not_found"],
      ["ParameterNotFound", 400, "not_found"],
      ["AccessDeniedException", 400, "permission_denied"],
      ["UnrecognizedClientException", 400, "bad_credentials"],
      ["InvalidSignatureException", 400, "bad_credentials"],
      ["ExpiredTokenException", 400, "bad_credentials"],
      ["ThrottlingException", 400, "throttled"],
      ["TooManyRequestsException", 429, "throttled"],
      ["InternalServiceError", 500, "unavailable"],
      ["InvalidParameterException", 400, "invalid_request"],
      ["SomethingNew", 503, "unavailable"],
      ["SomethingNew", 403, "permission_denied"],
    ];
    for (const [name, status, kind] of cases) {
      const e = toStoreError(sdkError(name, "m", status), ctx);
      assert.ok(e instanceof SecretStoreError);
      assert.equal(e.kind, kind, name);
      assert.ok(e.message.includes(name), e.message);
    }
    assert.match(
      toStoreError(sdkError("ResourceNotFoundException", "gone", 400), ctx).message,
      /^secret db not found in AWS Secrets Manager/,
    );
  });

  it("socket errors and aborts are unreachable; credential failures name their source", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
    assert.equal(toStoreError(refused, ctx).kind, "unavailable");
    assert.equal(toStoreError(Object.assign(new Error("aborted"), { name: "AbortError" }), ctx).kind, "unavailable");
    const cred = new AwsCredentialError("the default credential chain", {
      cause: sdkError("InvalidIdentityToken", "bad jwt", 400),
    });
    const e = toStoreError(cred, ctx);
    assert.equal(e.kind, "bad_credentials");
    assert.match(
      e.message,
      /could not obtain AWS credentials from the default credential chain \(InvalidIdentityToken: bad jwt\)/,
    );
    const stsDown = new AwsCredentialError("STS", { cause: refused });
    assert.equal(toStoreError(stsDown, ctx).kind, "unavailable");
  });

  it("an error message that echoes a credential is redacted", () => {
    const e = toStoreError(
      sdkError(
        "AccessDeniedException",
        "denied for AKIAIOSFODNN7EXAMPLE with wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        400,
      ),
      ctx,
    );
    assert.ok(!e.message.includes("AKIAIOSFODNN7EXAMPLE") && !e.message.includes("wJalrXUtnFEMI"), e.message);
  });
});
