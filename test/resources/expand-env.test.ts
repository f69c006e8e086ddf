import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { expandEnv } from "../../src/resources/expand-env.js";

// Expected values are what Go's os.ExpandEnv returns for the same input and environment.
describe("expandEnv (Go os.ExpandEnv)", () => {
  const env = { HOME: "/home/u", STORE: "vault", A: "x", AB: "y", _U: "under" };
  const cases: [string, string][] = [
    ["$HOME/file", "/home/u/file"],
    ["${HOME}/file", "/home/u/file"],
    ["$STORE-$A", "vault-x"],
    ["$AB", "y"],
    ["${A}B", "xB"],
    ["$_U", "under"],
    ["$UNSET end", " end"],
    ["${UNSET}", ""],
    ["no dollars", "no dollars"],
    ["trailing $", "trailing $"],
    ["$ space", "$ space"],
    ["a$-b", "ab"],
    ["$1x", "x"],
    ["${1}", ""],
    ["${}x", "x"],
    ["${A", "A"],
    ["$$", ""],
    ["price: 5$", "price: 5$"],
    ["${A:-default}", ""],
    ["é$A€", "éx€"],
    ["$A$AB$", "xy$"],
  ];
  for (const [input, want] of cases) {
    it(JSON.stringify(input), () => assert.equal(expandEnv(input, env), want));
  }

  it("reads process.env by default", () => {
    process.env.KEYWARD_EXPAND_TEST = "from-process";
    try {
      assert.equal(expandEnv("v=$KEYWARD_EXPAND_TEST"), "v=from-process");
    } finally {
      delete process.env.KEYWARD_EXPAND_TEST;
    }
  });
});
