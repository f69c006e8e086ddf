/** `keyward run -- CMD`: exit codes and signals in both directions, and a sidecar that fails under the app. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startKeyward } from "../helpers/keyward-run.js";
import { dir, resources, run } from "../helpers/run-app-fixtures.js";

const node = process.execPath;

describe("keyward run: exit codes and signals", () => {
  it("exits with the app's exit code", async () => {
    const { code, output } = await run([], [node, "-e", "process.exit(7)"]);
    assert.equal(code, 7, output);
  });

  it("128+signal when a signal killed the app", async () => {
    const { code, output } = await run(
      [],
      [node, "-e", "process.kill(process.pid, 'SIGTERM'); setTimeout(() => {}, 5000)"],
    );
    assert.equal(code, 143, output);
  });

  for (const [sig, want] of [
    ["SIGTERM", 3],
    ["SIGINT", 130],
  ] as const) {
    it(`${sig} to keyward run goes to the app; the sidecar stops after it`, async () => {
      const h = startKeyward(["run", "--app-id", "trap", "--resources-path", resources, "--", node, "trap.mjs"], {
        cwd: dir,
      });
      await h.waitFor(/== APP == app ready trap/);
      h.child.kill(sig);
      assert.equal(await h.exited, want, h.output());
      if (sig === "SIGTERM") assert.match(h.output(), /== APP == app got SIGTERM/);
      const out = h.output();
      assert.ok(out.lastIndexOf("Keyward stopped") > out.indexOf("app got SIGTERM"), out);
    });
  }

  it("when the sidecar fails, the app is stopped and keyward run says why (exit 1)", async () => {
    const { code, output } = await run([], [node, "shutdown-sidecar.mjs"]);
    assert.equal(code, 1, output);
    assert.match(output, /== APP == app told to stop/);
    assert.match(
      output,
      /keyward run: \[runner\] the sidecar stopped unexpectedly \(exit code 1\); the app was stopped/,
    );
  });
});
