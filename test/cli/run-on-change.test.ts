/** `keyward run --on-change`: re-rendering when a secret changes, in each mode. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { startKeyward } from "../helpers/keyward-run.js";
import { canary, dir, node, setup, waitUntil, writeStore } from "../helpers/run-fixtures.js";

describe("keyward run --on-change", () => {
  /** Swaps the store's file for one with `values`; hot reload restarts the component. */
  const change = (root: string, resources: string, values: Record<string, Record<string, string>>) => {
    const next = join(root, `secrets-${randomBytes(3).toString("hex")}.json`);
    writeFileSync(next, JSON.stringify(values));
    writeStore(resources, next);
  };

  /** `keyward run --env TOKEN=vault/api#token --on-change restart` around an app that logs each start to `out`. */
  const runRestarting = (resources: string, root: string, out: string, pollInterval: string) =>
    startKeyward(
      [
        "run",
        "--resources-path",
        resources,
        "--env",
        "TOKEN=vault/api#token",
        "--on-change",
        "restart",
        "--poll-interval",
        pollInterval,
        "--",
        node,
        join(dir, "restart.mjs"),
      ],
      { cwd: root, env: { OUT: out } },
    );

  it("restart: the app is restarted with the new value in its environment", async () => {
    const [one, two] = [canary("one"), canary("two")];
    const { resources, root } = setup({ api: { token: one } });
    const out = join(root, "starts");
    const h = runRestarting(resources, root, out, "100ms");
    await waitUntil("first start", () => existsSync(out));
    change(root, resources, { api: { token: two } });
    await waitUntil("restart", () => readFileSync(out, "utf8").includes(`start ${two}`));
    assert.equal(readFileSync(out, "utf8"), `start ${one}\nstart ${two}\n`);
    h.child.kill("SIGTERM");
    assert.equal(await h.exited, 143, h.output());
    assert.match(h.output(), /a secret changed: app restarted/);
    assert.ok(!h.output().includes(one) && !h.output().includes(two), h.output());
  });

  it("follows the sidecar's change notifications: an edit of the secrets file restarts the app long before any poll", async () => {
    const [one, two] = [canary("one"), canary("two")];
    const { resources, root } = setup({ api: { token: one } });
    const out = join(root, "starts");
    const h = runRestarting(resources, root, out, "1h");
    await waitUntil("first start", () => existsSync(out));
    // The same file, rewritten: local.file notices and notifies its subscribers; no poll runs within an hour.
    writeFileSync(join(root, "secrets.json"), JSON.stringify({ api: { token: two } }));
    await waitUntil("restart", () => readFileSync(out, "utf8").includes(`start ${two}`));
    assert.equal(readFileSync(out, "utf8"), `start ${one}\nstart ${two}\n`);
    h.child.kill("SIGTERM");
    assert.equal(await h.exited, 143, h.output());
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
