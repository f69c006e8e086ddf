/** `keyward run -- CMD`: a sidecar or command that cannot start, and the prefixed output of both. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { keywardToEnd, startKeyward } from "../helpers/keyward-run.js";
import { dir, resources, run } from "../helpers/run-app-fixtures.js";

const node = process.execPath;

describe("keyward run: start failures and output", () => {
  it("a sidecar that cannot start: the app never starts, exit 1", async () => {
    const { code, output } = await keywardToEnd(
      ["run", "--app-id", "x", "--resources-path", join(dir, "missing"), "--", node, "-e", "console.log('started')"],
      { cwd: dir },
    );
    assert.equal(code, 1, output);
    assert.match(output, /the sidecar stopped before it was ready/);
    assert.doesNotMatch(output, /started/);
  });

  it("a command that does not exist: exit 127 with a message", async () => {
    const { code, output } = await run([], ["no-such-command-keyward-test"]);
    assert.equal(code, 127, output);
    assert.match(output, /cannot start "no-such-command-keyward-test": command not found/);
  });

  it("app output on both streams is prefixed; a 200 kB line with no newline arrives whole", async () => {
    const h = startKeyward(["run", "--app-id", "runner", "--resources-path", resources, "--", node, "noisy.mjs"], {
      cwd: dir,
    });
    const code = await h.exited;
    const [stdout, stderr] = [h.stdout(), h.stderr()];
    assert.equal(code, 0, h.output());
    // Each stream read alone: keyward run's stdout and stderr are separate pipes, and a 64 kB piece of the
    // long line can reach the reader in parts with the stderr line between them.
    assert.match(stderr, /^== APP == to stderr$/m);
    const xs = stdout.split("\n").filter((l) => l.startsWith("== APP == x"));
    assert.equal(xs.map((l) => l.slice("== APP == ".length)).join(""), "x".repeat(200000));
  });
});
