/** `keyward run --template`: secrets rendered into files before the app starts, verbatim, mode 0600. */
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { keywardToEnd } from "../helpers/keyward-run.js";
import { appStarted, canary, dir, node, runWith, setup } from "../helpers/run-fixtures.js";

describe("keyward run --template", () => {
  it("renders before the app starts: values verbatim (no escaping), mode 0600", async () => {
    const pw = canary("pw");
    const special = `${canary("sp")}&<>"'{{x}}\`\\n$HOME`;
    const cert = `-----BEGIN CERTIFICATE-----\n${canary("cert")}\n-----END CERTIFICATE-----\n`;
    const s = setup({ db: { password: pw, user: "app" }, special: { v: special }, cert: { pem: cert } });
    const dest = join(s.root, "app.conf");
    writeFileSync(
      join(s.root, "app.conf.hbs"),
      'password={{ secret "vault" "db" "password" }}\nspecial={{secret "vault" "special" "v"}}\n{{ secret "vault" "cert" }}user={{ secret "vault" "db" "user" }}\n',
    );
    const { code, output } = await runWith(
      s,
      ["--template", "app.conf.hbs:app.conf"],
      [node, join(dir, "read-file.mjs"), dest],
    );
    assert.equal(code, 0, output);
    const want = `password=${pw}\nspecial=${special}\n${cert}user=app\n`;
    assert.equal(readFileSync(dest, "utf8"), want);
    assert.equal(statSync(dest).mode & 0o777, 0o600);
    assert.match(output, new RegExp(`== APP == file at start: ${Buffer.byteLength(want)} bytes, mode 600`));
    assert.ok(!output.includes(pw) && !output.includes(special.slice(0, 20)), output);
  });

  it("a denied secret in a template stops the run; DEST is not written", async () => {
    const hidden = canary("denied");
    const s = setup({ denied: { x: hidden } });
    writeFileSync(join(s.root, "t.hbs"), 'x={{ secret "vault" "denied" "x" }}\n');
    const { code, output } = await runWith(s, ["--template", "t.hbs:t.out"], appStarted);
    assert.equal(code, 1, output);
    assert.match(output, /access denied by policy to get "denied" from "vault"/);
    assert.ok(!existsSync(join(s.root, "t.out")));
    assert.doesNotMatch(output, /app started/);
    assert.ok(!output.includes(hidden));
  });

  it("a broken template or a wrong call is reported with its file; the sidecar is never started", async () => {
    const { resources, root } = setup({ db: { password: "p", user: "u" } });
    writeFileSync(join(root, "broken.hbs"), 'x={{ secret "vault" \n');
    writeFileSync(join(root, "wrong.hbs"), 'x={{ secret "vault" }}\n');
    writeFileSync(join(root, "unknown.hbs"), "x={{ password }}\n");
    for (const t of ["broken.hbs", "wrong.hbs", "unknown.hbs"]) {
      const { code, output } = await keywardToEnd(
        ["run", "--resources-path", resources, "--template", `${t}:out`, "--", node, "-e", "1"],
        { cwd: root },
      );
      assert.equal(code, 1, output);
      assert.match(output, new RegExp(`keyward run: \\[.*\\] template ${join(root, t).replace(/[.]/g, "\\.")}: `));
      assert.doesNotMatch(output, /starting Keyward/);
    }
  });
});
