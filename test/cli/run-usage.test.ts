/** `keyward run`: command-line errors stop before anything starts (exit 2); help. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { keywardToEnd } from "../helpers/keyward-run.js";
import { dir } from "../helpers/run-app-fixtures.js";

describe("keyward run: command-line errors stop before anything starts (exit 2)", () => {
  const cases: [string[], RegExp][] = [
    [["--resources-pth", "x", "--", "true"], /unknown flag --resources-pth; did you mean --resources-path\?/],
    [["--kubernetes", "--", "true"], /--kubernetes is not supported/],
    [["--app-port", "eighty", "--", "true"], /invalid value "eighty" for --app-port/],
    [["--on-change", "restart", "--", "true"], /--on-change needs --env or --template/],
    [["--env", "1BAD=s/x", "--", "true"], /invalid --env "1BAD=s\/x"/],
    [["--env", "A=nostore", "--", "true"], /STORE\/SECRET/],
    [["--on-change", "signal:NOPE", "--env", "A=s/x", "--", "true"], /invalid value "signal:NOPE" for --on-change/],
    [["--poll-interval", "soon", "--env", "A=s/x", "--", "true"], /--poll-interval/],
  ];
  for (const [args, re] of cases)
    it(args.join(" "), async () => {
      const { code, output } = await keywardToEnd(["run", ...args], { cwd: dir });
      assert.equal(code, 2, output);
      assert.match(output, re);
      assert.match(output, /Run 'keyward run --help' for usage/);
      assert.doesNotMatch(output, /starting Keyward/);
    });

  it("keyward run --help lists dapr run's flags and Keyward's own", async () => {
    const { code, output } = await keywardToEnd(["run", "--help"]);
    assert.equal(code, 0);
    for (const f of [
      "--app-id, --a",
      "--app-port",
      "--run-file, --f",
      "--env",
      "--template",
      "--on-change",
      "--poll-interval",
    ])
      assert.ok(output.includes(f), f);
  });
});
