import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Cancelled, InFlightCalls } from "../../src/core/cancellation.js";

describe("InFlightCalls", () => {
  it("abortAll aborts the live calls and every later one, and waits for them to end", async () => {
    const calls = new InFlightCalls();
    const a = calls.begin();
    const b = calls.begin();
    calls.end(b);
    assert.equal(calls.size, 1);
    a.signal.addEventListener("abort", () => setTimeout(() => calls.end(a), 20));
    const started = Date.now();
    await calls.abortAll(10_000);
    assert.ok(Date.now() - started < 5000, "abortAll waited past the call's end");
    assert.ok(a.signal.aborted && !b.signal.aborted);
    assert.ok(a.signal.reason instanceof Cancelled && a.signal.reason.message === "context canceled");
    const late = calls.begin();
    assert.ok(late.signal.aborted, "a call begun during shutdown starts cancelled");
    assert.equal(calls.size, 0);
  });

  it("abortAll gives up waiting on a call that never ends after its wait", async () => {
    const calls = new InFlightCalls();
    calls.begin();
    const started = Date.now();
    await calls.abortAll(50);
    assert.ok(Date.now() - started >= 45);
  });
});
