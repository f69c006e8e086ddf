import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Cancelled } from "../../src/core/cancellation.js";
import {
  abortableSleep,
  buildPolicies,
  CircuitBreaker,
  CircuitOpen,
  DeadlineExceeded,
  ResiliencyError,
  runWithPolicy,
  type StorePolicy,
} from "../../src/core/resiliency.js";
import type { RawResource } from "../../src/resources/load.js";
import { parseYamlDocument, splitDocuments } from "../../src/resources/yaml-documents.js";

function resources(text: string): RawResource[] {
  return splitDocuments(text).map((chunk) => {
    const doc = parseYamlDocument(chunk, "1.1");
    assert.equal(doc.error, undefined);
    return { kind: "Resiliency", doc, file: "resiliency.yaml" };
  });
}

const resiliency = (spec: string, scopes = "") =>
  `apiVersion: dapr.io/v1alpha1\nkind: Resiliency\nmetadata:\n  name: r\n${scopes}spec:\n${spec}`;

describe("buildPolicies: names and defaults (docs/compatibility.md §7.1)", () => {
  it("a named component target wins over the default policies", () => {
    const r = resources(
      resiliency(`  policies:
    timeouts:
      short: 2s
      DefaultTimeoutPolicy: 9s
    retries:
      twice:
        policy: constant
        duration: 10ms
        maxRetries: 2
  targets:
    components:
      vault:
        outbound:
          timeout: short
          retry: twice
`),
    );
    const p = buildPolicies(r, "app", ["vault", "local"]);
    assert.equal(p.get("vault")!.timeoutMs, 2000);
    assert.deepEqual(p.get("vault")!.retry, {
      policy: "constant",
      durationMs: 10,
      maxIntervalMs: 60_000,
      maxRetries: 2,
    });
    assert.equal(p.get("local")!.timeoutMs, 9000);
    assert.equal(p.get("local")!.retry, undefined);
  });

  it("default policy names are searched most specific first, per kind", () => {
    const names = [
      "DefaultSecretstoreComponentOutboundTimeoutPolicy",
      "DefaultComponentOutboundTimeoutPolicy",
      "DefaultComponentTimeoutPolicy",
      "DefaultTimeoutPolicy",
    ];
    names.forEach((_, i) => {
      const present = names.slice(i);
      const spec = `  policies:\n    timeouts:\n${present.map((n, j) => `      ${n}: ${i + 1}${j}ms`).join("\n")}\n`;
      const p = buildPolicies(resources(resiliency(spec)), "app", ["s"]);
      assert.equal(p.get("s")!.timeoutMs, Number(`${i + 1}0`), present[0]);
    });
    // The docs' name without "Outbound" is not one daprd's code looks up.
    const docsName = buildPolicies(
      resources(resiliency("  policies:\n    timeouts:\n      DefaultSecretstoreComponentTimeoutPolicy: 1s\n")),
      "app",
      ["s"],
    );
    assert.equal(docsName.has("s"), false);
  });

  it("retry defaults: constant, 5s, maxInterval 60s, retry for ever", () => {
    const spec =
      "  policies:\n    retries:\n      DefaultRetryPolicy: {}\n      DefaultSecretstoreComponentOutboundRetryPolicy:\n        policy: exponential\n        maxInterval: 3s\n        maxRetries: 4\n";
    const p = buildPolicies(resources(resiliency(spec)), "app", ["s"]);
    assert.deepEqual(p.get("s")!.retry, {
      policy: "exponential",
      durationMs: 5000,
      maxIntervalMs: 3000,
      maxRetries: 4,
    });
    const q = buildPolicies(resources(resiliency("  policies:\n    retries:\n      DefaultRetryPolicy: {}\n")), "app", [
      "s",
    ]);
    assert.deepEqual(q.get("s")!.retry, {
      policy: "constant",
      durationMs: 5000,
      maxIntervalMs: 60_000,
      maxRetries: -1,
    });
  });

  it("circuit breakers: trip expressions and per-store instances", async () => {
    const spec =
      "  policies:\n    circuitBreakers:\n      DefaultCircuitBreakerPolicy:\n        maxRequests: 1\n        timeout: 30s\n        trip: consecutiveFailures > 1\n";
    const p = buildPolicies(resources(resiliency(spec)), "app", ["a", "b"]);
    const a = p.get("a")!.breaker!;
    assert.ok(a instanceof CircuitBreaker);
    assert.notEqual(a, p.get("b")!.breaker);
    const fail = () => Promise.reject(new Error("down"));
    await assert.rejects(a.run(fail), /down/);
    await assert.rejects(a.run(fail), /down/);
    await assert.rejects(
      a.run(() => Promise.resolve(1)),
      CircuitOpen,
    );
    assert.equal(await p.get("b")!.breaker!.run(() => Promise.resolve(2)), 2);
  });

  it("a Resiliency scoped to other apps does not apply", () => {
    const text = resiliency("  policies:\n    timeouts:\n      DefaultTimeoutPolicy: 1s\n", "scopes: [other-app]\n");
    assert.equal(buildPolicies(resources(text), "app", ["s"]).size, 0);
    assert.equal(buildPolicies(resources(text), "other-app", ["s"]).get("s")!.timeoutMs, 1000);
  });

  it("no Resiliency, no policy", () => {
    assert.equal(buildPolicies([], "app", ["s"]).size, 0);
  });

  it("errors: an undefined named policy, a bad duration, a bad retry kind, an unsupported trip", () => {
    const target = "  targets:\n    components:\n      s:\n        outbound:\n          retry: nope\n";
    assert.throws(
      () => buildPolicies(resources(resiliency(target)), "app", ["s"]),
      (e: unknown) => e instanceof ResiliencyError && /retry policy nope, which is not defined/i.test(e.message),
    );
    assert.throws(
      () => buildPolicies(resources(resiliency("  policies:\n    timeouts:\n      t: soon\n")), "app", []),
      /"soon" is not a duration/,
    );
    assert.throws(
      () =>
        buildPolicies(
          resources(resiliency("  policies:\n    retries:\n      r:\n        policy: linear\n")),
          "app",
          [],
        ),
      /constant or exponential/,
    );
    assert.throws(
      () =>
        buildPolicies(
          resources(resiliency("  policies:\n    circuitBreakers:\n      c:\n        trip: requests > 3\n")),
          "app",
          [],
        ),
      /not supported/,
    );
  });
});

describe("runWithPolicy", () => {
  it("no policy: one attempt", async () => {
    let n = 0;
    await assert.rejects(
      runWithPolicy(undefined, () => Promise.reject(new Error(`fail ${++n}`))),
      /fail 1/,
    );
  });

  it("retry: a store failing once then succeeding answers after 2 calls", async () => {
    let n = 0;
    const policy: StorePolicy = { retry: { policy: "constant", durationMs: 1, maxIntervalMs: 1, maxRetries: 3 } };
    assert.equal(
      await runWithPolicy(policy, () => (++n === 1 ? Promise.reject(new Error("once")) : Promise.resolve("ok"))),
      "ok",
    );
    assert.equal(n, 2);
  });

  it("retry: gives up after maxRetries more attempts with the last error", async () => {
    let n = 0;
    const policy: StorePolicy = { retry: { policy: "constant", durationMs: 1, maxIntervalMs: 1, maxRetries: 2 } };
    await assert.rejects(
      runWithPolicy(policy, () => Promise.reject(new Error(`fail ${++n}`))),
      /fail 3/,
    );
    assert.equal(n, 3);
  });

  it("timeout applies to each attempt and aborts its signal", async () => {
    const signals: AbortSignal[] = [];
    const policy: StorePolicy = {
      timeoutMs: 20,
      retry: { policy: "constant", durationMs: 1, maxIntervalMs: 1, maxRetries: 1 },
    };
    const never = (signal: AbortSignal | undefined) => {
      signals.push(signal!);
      return new Promise<never>(() => undefined);
    };
    await assert.rejects(
      runWithPolicy(policy, never),
      (e: unknown) => e instanceof DeadlineExceeded && e.message === "context deadline exceeded",
    );
    assert.equal(signals.length, 2);
    assert.ok(signals.every((s) => s.aborted));
  });

  describe("the caller's signal", () => {
    const forever: StorePolicy = { retry: { policy: "constant", durationMs: 5, maxIntervalMs: 5, maxRetries: -1 } };

    it("stops unlimited retries and the backoff sleep: no attempt after the abort", async () => {
      const ctl = new AbortController();
      let n = 0;
      const run = runWithPolicy(forever, () => Promise.reject(new Error(`fail ${++n}`)), ctl.signal);
      await new Promise((r) => setTimeout(r, 50));
      ctl.abort(new Cancelled("client gone"));
      await assert.rejects(run, (e: unknown) => e instanceof Cancelled && e.message === "context canceled");
      const atAbort = n;
      assert.ok(atAbort >= 2, `retried ${atAbort} times`);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(n, atAbort);
    });

    it("reaches the attempt, also under a timeout, and stops waiting for a store that ignores it", async () => {
      const seen: AbortSignal[] = [];
      const deaf = (signal: AbortSignal | undefined) => {
        seen.push(signal!);
        return new Promise<never>(() => undefined);
      };
      for (const policy of [forever, { ...forever, timeoutMs: 60_000 }]) {
        const ctl = new AbortController();
        const run = runWithPolicy(policy, deaf, ctl.signal);
        setTimeout(() => ctl.abort(new Cancelled("shutting down")), 10);
        await assert.rejects(run, Cancelled);
      }
      assert.equal(seen.length, 2);
      assert.ok(seen.every((s) => s.aborted));
      await assert.rejects(
        runWithPolicy(undefined, deaf, AbortSignal.abort(new Cancelled("client gone"))),
        Cancelled,
        "already aborted: no attempt",
      );
      assert.equal(seen.length, 2);
    });

    it("no policy: the store gets the caller's signal", async () => {
      const ctl = new AbortController();
      const run = runWithPolicy(
        undefined,
        (signal) => new Promise((_r, reject) => (signal!.onabort = () => reject(new Error("store saw the abort")))),
        ctl.signal,
      );
      ctl.abort(new Cancelled("client gone"));
      await assert.rejects(run, Cancelled);
    });
  });

  it("abortableSleep resolves after its time, rejects at once on abort", async () => {
    await abortableSleep(1);
    const ctl = new AbortController();
    const started = Date.now();
    const sleeping = abortableSleep(60_000, ctl.signal);
    ctl.abort(new Cancelled("client gone"));
    await assert.rejects(sleeping, Cancelled);
    assert.ok(Date.now() - started < 1000);
  });
});
