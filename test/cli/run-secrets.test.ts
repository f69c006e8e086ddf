/**
 * `keyward run --env / --template`: secrets reach the app's environment and files only, scopes apply,
 * and re-rendering on change works in each --on-change mode. Canaries are unique per test and must never
 * appear in Keyward's output, nor in any other process's environment or command line.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { componentYaml } from "../helpers/sidecar.js";
import { keywardToEnd, startKeyward, workFolder, writeFiles } from "../helpers/keyward-run.js";

const node = process.execPath;
const dir = workFolder("run-secrets");
const canary = (label: string) => `${label}-${randomBytes(8).toString("hex")}`;

/** A multi-valued local.file store `vault` over `file`, and a Configuration denying secret `denied`. */
function setup(values: Record<string, Record<string, string>>): { resources: string; config: string; root: string } {
  const root = join(dir, randomBytes(4).toString("hex"));
  const resources = join(root, "resources");
  mkdirSync(resources, { recursive: true });
  writeFileSync(join(root, "secrets.json"), JSON.stringify(values));
  writeStore(resources, join(root, "secrets.json"));
  const config = join(root, "config.yaml");
  writeFileSync(
    config,
    "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: c\nspec:\n  secrets:\n    scopes:\n      - storeName: vault\n        defaultAccess: allow\n        deniedSecrets: [denied]\n",
  );
  return { resources, config, root };
}

type Setup = ReturnType<typeof setup>;

/** `keyward run` over a setup's store and Configuration with the given --env/--template flags. */
const runWith = (s: Setup, inject: string[], cmd: string[], env: Record<string, string> = {}) =>
  keywardToEnd(["run", "--resources-path", s.resources, "--config", s.config, ...inject, "--", ...cmd], {
    cwd: s.root,
    env,
  });
const appStarted = [node, "-e", "console.log('app started')"];

function writeStore(resources: string, secretsFile: string): void {
  writeFileSync(
    join(resources, "vault.yaml"),
    componentYaml("vault", "secretstores.local.file", { secretsFile, multiValued: "true" }),
  );
}

writeFiles(dir, {
  // Reports whether any other process holds the value of $WATCH in its environment or command line.
  "leak-check.mjs": `import { readdirSync, readFileSync, writeFileSync } from "node:fs";
const needle = process.env[process.env.WATCH];
let leaks = [];
for (const pid of readdirSync("/proc").filter((p) => /^\\d+$/.test(p) && Number(p) !== process.pid)) {
  for (const f of ["environ", "cmdline"]) {
    try { if (readFileSync("/proc/" + pid + "/" + f, "latin1").includes(needle)) leaks.push(pid + "/" + f); } catch {}
  }
}
writeFileSync(process.env.OUT, needle);
console.log("leaks: " + (leaks.join(",") || "none"));
`,
  "read-file.mjs": `import { readFileSync, statSync } from "node:fs";
const f = process.argv[2];
console.log("file at start: " + readFileSync(f).length + " bytes, mode " + (statSync(f).mode & 0o777).toString(8));
`,
  "restart.mjs": `import { appendFileSync } from "node:fs";
appendFileSync(process.env.OUT, "start " + process.env.TOKEN + "\\n");
setInterval(() => {}, 1000);
`,
  "hup.mjs": `import { appendFileSync, readFileSync } from "node:fs";
process.on("SIGHUP", () => appendFileSync(process.env.OUT, "hup " + readFileSync(process.argv[2], "utf8") + "\\n"));
console.log("hup app ready");
setInterval(() => {}, 1000);
`,
  "wait.mjs": `console.log("waiting app ready"); setInterval(() => {}, 1000);`,
});

const waitUntil = async (what: string, ok: () => boolean, ms = 30_000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe("keyward run --env", () => {
  it("puts the secret in the app's environment only: not in Keyward's output, env or argv, nor the sidecar's", async () => {
    const pw = canary("pw");
    const cert = canary("cert");
    const { resources, config, root } = setup({ db: { password: pw, user: "app" }, cert: { pem: cert } });
    const out = join(root, "out");
    const { code, output } = await keywardToEnd(
      [
        "run",
        "--app-id",
        "env-app",
        "--resources-path",
        resources,
        "--config",
        config,
        "--log-level",
        "debug",
        "--enable-api-logging",
        "--env",
        "DB_PASSWORD=vault/db#password",
        "--env",
        "CERT=vault/cert",
        "--",
        node,
        join(dir, "leak-check.mjs"),
      ],
      { cwd: root, env: { WATCH: "DB_PASSWORD", OUT: out } },
    );
    assert.equal(code, 0, output);
    assert.equal(readFileSync(out, "utf8"), pw);
    assert.match(output, /== APP == leaks: none/);
    assert.ok(!output.includes(pw) && !output.includes(cert), output);
  });

  it("a single-key secret needs no #KEY; CERT gets its only value", async () => {
    const cert = canary("cert");
    const { resources, root } = setup({ cert: { pem: cert } });
    const out = join(root, "out");
    const { code, output } = await keywardToEnd(
      ["run", "--resources-path", resources, "--env", "C=vault/cert", "--", node, join(dir, "leak-check.mjs")],
      { cwd: root, env: { WATCH: "C", OUT: out } },
    );
    assert.equal(code, 0, output);
    assert.equal(readFileSync(out, "utf8"), cert);
  });

  const failures: [string, string, RegExp][] = [
    [
      "a denied secret stops the run with the reason",
      "X=vault/denied#x",
      /--env X: ERR_PERMISSION_DENIED: access denied by policy to get "denied" from "vault"/,
    ],
    [
      "a missing key lists the keys",
      "X=vault/db#nope",
      /--env X: secret db in store vault has no key "nope" \(keys: password, user\)/,
    ],
    [
      "a multi-key secret without #KEY lists the keys",
      "X=vault/db",
      /--env X: secret db in store vault has 2 keys \(password, user\): name one with #KEY/,
    ],
    [
      "an unknown store",
      "X=nostore/db#password",
      /--env X: ERR_SECRET_STORE_NOT_FOUND: failed finding secret store with key nostore/,
    ],
  ];
  for (const [name, ref, re] of failures)
    it(`${name}; the app never starts (exit 1)`, async () => {
      const pw = canary("pw");
      const hidden = canary("denied");
      const { code, output } = await runWith(
        setup({ db: { password: pw, user: "app" }, denied: { x: hidden } }),
        ["--env", ref],
        appStarted,
      );
      assert.equal(code, 1, output);
      assert.match(output, re);
      assert.match(output, /the app was not started/);
      assert.doesNotMatch(output, /app started/);
      assert.ok(!output.includes(pw) && !output.includes(hidden), output);
      assert.match(output, /Keyward stopped/, "the sidecar is stopped too");
    });
});

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

describe("keyward run --on-change (polling the secrets)", () => {
  /** Swaps the store's file for one with `values`; hot reload restarts the component. */
  const change = (root: string, resources: string, values: Record<string, Record<string, string>>) => {
    const next = join(root, `secrets-${randomBytes(3).toString("hex")}.json`);
    writeFileSync(next, JSON.stringify(values));
    writeStore(resources, next);
  };

  it("restart: the app is restarted with the new value in its environment", async () => {
    const [one, two] = [canary("one"), canary("two")];
    const { resources, root } = setup({ api: { token: one } });
    const out = join(root, "starts");
    const h = startKeyward(
      [
        "run",
        "--resources-path",
        resources,
        "--env",
        "TOKEN=vault/api#token",
        "--on-change",
        "restart",
        "--poll-interval",
        "100ms",
        "--",
        node,
        join(dir, "restart.mjs"),
      ],
      { cwd: root, env: { OUT: out } },
    );
    await waitUntil("first start", () => existsSync(out));
    change(root, resources, { api: { token: two } });
    await waitUntil("restart", () => readFileSync(out, "utf8").includes(`start ${two}`));
    assert.equal(readFileSync(out, "utf8"), `start ${one}\nstart ${two}\n`);
    h.child.kill("SIGTERM");
    assert.equal(await h.exited, 143, h.output());
    assert.match(h.output(), /a secret changed: app restarted/);
    assert.ok(!h.output().includes(one) && !h.output().includes(two), h.output());
  });

  it("signal:SIGHUP: the template is rendered again, then the app gets SIGHUP (no restart)", async () => {
    const [one, two] = [canary("one"), canary("two")];
    const { resources, root } = setup({ api: { token: one } });
    const out = join(root, "hups");
    writeFileSync(join(root, "t.hbs"), 'token={{ secret "vault" "api" "token" }}');
    const h = startKeyward(
      [
        "run",
        "--resources-path",
        resources,
        "--template",
        "t.hbs:t.conf",
        "--on-change",
        "signal:HUP",
        "--poll-interval",
        "100ms",
        "--",
        node,
        join(dir, "hup.mjs"),
        join(root, "t.conf"),
      ],
      { cwd: root, env: { OUT: out } },
    );
    await h.waitFor(/hup app ready/);
    assert.equal(readFileSync(join(root, "t.conf"), "utf8"), `token=${one}`);
    change(root, resources, { api: { token: two } });
    await waitUntil("SIGHUP", () => existsSync(out));
    assert.equal(readFileSync(out, "utf8"), `hup token=${two}\n`);
    assert.equal(h.output().match(/hup app ready/g)?.length, 1, "the app was not restarted");
    h.child.kill("SIGTERM");
    assert.equal(await h.exited, 143, h.output());
    assert.match(h.output(), /templates rendered again, SIGHUP sent to the app/);
    assert.ok(!h.output().includes(one) && !h.output().includes(two), h.output());
  });

  it("none: the template is rendered again and the app left alone", async () => {
    const [one, two] = [canary("one"), canary("two")];
    const { resources, root } = setup({ api: { token: one } });
    writeFileSync(join(root, "t.hbs"), '{{ secret "vault" "api" "token" }}');
    const dest = join(root, "t.conf");
    const h = startKeyward(
      [
        "run",
        "--resources-path",
        resources,
        "--template",
        `t.hbs:${dest}`,
        "--on-change",
        "none",
        "--poll-interval",
        "100ms",
        "--",
        node,
        join(dir, "wait.mjs"),
      ],
      { cwd: root },
    );
    await h.waitFor(/waiting app ready/);
    change(root, resources, { api: { token: two } });
    await waitUntil("re-render", () => readFileSync(dest, "utf8") === two);
    assert.equal(statSync(dest).mode & 0o777, 0o600);
    h.child.kill("SIGINT");
    assert.equal(await h.exited, 130, h.output());
    assert.equal(h.output().match(/waiting app ready/g)?.length, 1);
    assert.match(h.output(), /a secret changed: templates rendered again/);
  });
});
