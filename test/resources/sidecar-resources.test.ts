/**
 * Resource loading, references and secret scopes through a real `bin/keyward serve`, as a user runs it.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { componentYaml, runKeyward, startSidecar, type Sidecar } from "../helpers/sidecar.js";

const data = mkdtempSync(join(tmpdir(), "keyward-res-e2e-"));
after(() => rmSync(data, { recursive: true, force: true }));
function json(name: string, value: unknown): string {
  const p = join(data, name);
  writeFileSync(p, JSON.stringify(value));
  return p;
}

async function get(sc: Sidecar, path: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${sc.httpUrl}${path}`);
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}

async function componentNames(sc: Sidecar): Promise<string[]> {
  const { body } = await get(sc, "/v1.0/metadata");
  return ((body as { components?: { name: string }[] }).components ?? []).map((c) => c.name).sort();
}

async function withSidecar(
  opts: Parameters<typeof startSidecar>[0],
  fn: (sc: Sidecar) => Promise<void>,
): Promise<string> {
  const sc = await startSidecar(opts);
  try {
    await fn(sc);
  } finally {
    assert.equal(await sc.stop(), 0);
  }
  return sc.output();
}

const fileStore = (name: string, secretsFile: string, extraMeta = "", extra = "") =>
  `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${name}\nspec:\n  type: secretstores.local.file\n  version: v1\n  metadata:\n  - name: secretsFile\n    value: ${JSON.stringify(secretsFile)}\n${extraMeta}${extra}`;

describe("resources through bin/keyward serve", () => {
  it("a real app folder: several documents, any-case names and extensions, non-secret components, a broken document", async () => {
    const seed = "e2e-yaml-seed-4c1d7be0";
    const nested = json("nested.json", { db: { password: "nested-pw" }, flag: "on" });
    json("shop.json", { greeting: "hello shop" }); // read through "{appID}.json"
    const components = {
      "10-stores.YML": [
        // lower-case field names, a number and a YAML 1.1 boolean as values
        "apiversion: dapr.io/v1alpha1\nKIND: Component\nmetadata:\n  NAME: nested\nSpec:\n  Type: SecretStores.Local.File\n  metadata:",
        `  - Name: secretsFile\n    Value: ${nested}\n  - name: nestedSeparator\n    value: 7\n  - name: multiValued\n    value: no`,
        "---",
        `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: broken\nspec:\n  metadata:\n  - name: password\n    value: ${seed}\n      oops: ${seed}`,
        "---",
        fileStore("by-app", join(data, "{appID}.json")),
      ].join("\n"),
      "20-state.yaml": componentYaml("statestore", "state.redis", { redisHost: "localhost:6379", redisPassword: "" }),
      "30-pubsub.yml": `${componentYaml("pubsub", "pubsub.redis", { redisHost: "localhost:6379" })}\n---\napiVersion: dapr.io/v2alpha1\nkind: Subscription\nmetadata:\n  name: orders\n`,
      "README.md": "# components",
      // Unquoted values the yaml package would otherwise quote in its error message.
      "40-leaky.yaml": `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: leaky\nspec:\n  type: secretstores.local.env\n  metadata:\n  - name: password\n    value: >${seed}\n---\napiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: leaky2\nspec:\n  type: secretstores.local.env\n  metadata:\n  - name: password\n    value: *${seed}\n`,
    };
    const out = await withSidecar({ components, appId: "shop" }, async (sc) => {
      assert.deepEqual(await componentNames(sc), ["by-app", "nested"]);
      assert.deepEqual((await get(sc, "/v1.0/secrets/nested/db7password")).body, { db7password: "nested-pw" });
      assert.deepEqual((await get(sc, "/v1.0/secrets/by-app/greeting")).body, { greeting: "hello shop" });
    });
    const warnings = out.split("\n").filter((l) => l.includes("level=warning"));
    assert.equal(warnings.filter((l) => l.includes("component statestore (state.redis)")).length, 1, out);
    assert.equal(warnings.filter((l) => l.includes("component pubsub (pubsub.redis)")).length, 1, out);
    assert.equal(warnings.filter((l) => l.includes("README.md")).length, 1, out);
    assert.ok(
      warnings.some((l) => /10-stores\.YML:2[23]: YAML error/.test(l)),
      out,
    );
    assert.ok(
      warnings.some((l) => l.includes("40-leaky.yaml:9: YAML error")),
      out,
    );
    assert.ok(
      warnings.some((l) => l.includes("40-leaky.yaml:19: YAML error")),
      out,
    );
    assert.equal(warnings.length, 6, out);
    assert.doesNotMatch(out, new RegExp(seed));
  });

  it("store-to-store secretKeyRef chains of 3 in reverse file order, key defaulting to the name", async () => {
    const top = json("top.json", { answer: "forty-two" });
    // mid is multi-valued: its secret "paths" is a map that holds top's file name.
    const mid = json("mid.json", { paths: { topFile: top } });
    const refStore = (name: string, authField: string, store: string, ref: string, extraMeta = "") =>
      `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${name}\nspec:\n  type: secretstores.local.file\n  metadata:\n  - name: secretsFile\n    secretKeyRef:\n${ref}${extraMeta}auth:\n  ${authField}: ${store}\n`;
    const components = {
      "a-top.yaml": refStore("top", "secretstore", "mid", "      name: paths\n      key: topFile\n"),
      "b-mid.yaml": refStore(
        "mid",
        "secretStore",
        "base",
        "      name: KW_E2E_MID_FILE\n",
        '  - name: multiValued\n    value: "true"\n',
      ),
      "c-base.yaml": componentYaml("base", "secretstores.local.env"),
    };
    const out = await withSidecar({ components, env: { KW_E2E_MID_FILE: mid } }, async (sc) => {
      assert.deepEqual(await componentNames(sc), ["base", "mid", "top"]);
      assert.deepEqual((await get(sc, "/v1.0/secrets/top/answer")).body, { answer: "forty-two" });
    });
    assert.doesNotMatch(out, /forty-two/);
  });

  it("envRef fills an empty value; DAPR_* names are refused with a warning and never printed", async () => {
    const file = json("env-ref.json", { k: "from-env-ref" });
    const components = {
      "a.yaml": `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: viaenv\nspec:\n  type: secretstores.local.file\n  metadata:\n  - name: secretsFile\n    envRef: KW_E2E_FILE\n  - name: nestedSeparator\n    envRef: DAPR_API_TOKEN\n`,
    };
    const token = "token-seed-93ab01";
    const out = await withSidecar({ components, env: { KW_E2E_FILE: file, DAPR_API_TOKEN: token } }, async (sc) => {
      const res = await fetch(`${sc.httpUrl}/v1.0/secrets/viaenv/k`, { headers: { "dapr-api-token": token } });
      assert.deepEqual(await res.json(), { k: "from-env-ref" });
    });
    assert.match(out, /envRef DAPR_API_TOKEN is not allowed/);
    assert.doesNotMatch(out, new RegExp(token));
  });

  it("NAMESPACE and app-id scopes decide which components load", async () => {
    const f = json("ns.json", { a: "1" });
    const ns = (name: string, namespace: string, extra = "") =>
      fileStore(name, f, "", extra).replace(`  name: ${name}\n`, `  name: ${name}\n  namespace: ${namespace}\n`);
    const components = {
      "a.yaml": ns("in-prod", "prod"),
      "b.yaml": ns("in-dev", "dev"),
      "c.yaml": fileStore("no-namespace", f),
      "d.yaml": fileStore("for-me", f, "", "scopes:\n  - checkout\n"),
      "e.yaml": fileStore("for-others", f, "", "scopes:\n  - billing\n"),
      // Same name as the dev one: not a duplicate, since that one is skipped.
      "f.yaml": ns("in-dev", "prod"),
    };
    await withSidecar({ components, appId: "checkout", env: { NAMESPACE: "prod" } }, async (sc) => {
      assert.deepEqual(await componentNames(sc), ["for-me", "in-dev", "in-prod", "no-namespace"]);
      assert.equal((await get(sc, "/v1.0/secrets/for-others/a")).status, 401);
    });
  });

  it("secret scopes from several --config files, env-expanded; single gets denied with 403, bulk filtered", async () => {
    const f = json("scoped.json", { s1: "v1", s2: "v2", s3: "v3" });
    const first =
      "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: a\nspec:\n  secrets:\n    scopes:\n      - storeName: other\n        defaultAccess: deny\n      - storeName: scoped\n        defaultAccess: deny\n";
    const second = join(mkdtempSync(join(data, "cfg-")), "second.yaml");
    writeFileSync(
      second,
      'apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: b\nspec:\n  secrets:\n    scopes:\n      - storeName: ${KW_STORE}\n        defaultAccess: allow\n        deniedSecrets: ["$KW_DENIED"]\n',
    );
    const components = { "a.yaml": fileStore("scoped", f), "b.yaml": fileStore("other", f) };
    // The helper passes `--config <first>`; the later `--config <second>` replaces its secrets section wholesale.
    await withSidecar(
      { components, config: first, args: ["--config", second], env: { KW_STORE: "scoped", KW_DENIED: "s2" } },
      async (sc) => {
        assert.equal((await get(sc, "/v1.0/secrets/scoped/s1")).status, 200);
        assert.equal((await get(sc, "/v1.0/secrets/scoped/s2")).status, 403);
        assert.deepEqual((await get(sc, "/v1.0/secrets/scoped/bulk")).body, { s1: { s1: "v1" }, s3: { s3: "v3" } });
        assert.equal((await get(sc, "/v1.0/secrets/other/s2")).status, 200);
      },
    );
  });
});

describe("start-up failures through bin/keyward serve", () => {
  const fails = async (opts: Parameters<typeof runKeyward>[0], re: RegExp) => {
    const { code, output } = await runKeyward(opts);
    assert.equal(code, 1, output);
    assert.match(output, re);
    return output;
  };

  it("duplicate component names fail, naming both files", async () => {
    const f = json("dup.json", {});
    const out = await fails(
      { components: { "one.yaml": fileStore("dup", f), "two.yaml": fileStore("dup", f) } },
      /duplicate definition of Component name dup/,
    );
    assert.match(out, /one\.yaml:1 and .*two\.yaml:1/);
  });

  it("a self-reference, a cycle and a reference to a missing store are start-up errors naming the chain", async () => {
    const ref = (name: string, store: string) =>
      `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${name}\nspec:\n  type: secretstores.local.file\n  metadata:\n  - name: secretsFile\n    secretKeyRef:\n      name: path\nauth:\n  secretStore: ${store}\n`;
    await fails({ components: { "a.yaml": ref("self", "self") } }, /secret store reference cycle: self -> self/);
    await fails(
      { components: { "a.yaml": ref("a", "b"), "b.yaml": ref("b", "a") } },
      /secret store reference cycle: a -> b -> a/,
    );
    await fails(
      { components: { "a.yaml": ref("lonely", "nowhere") } },
      /auth\.secretStore nowhere is not a secret store defined for this app/,
    );
  });

  it("a store init that exceeds initTimeout fails start-up; with ignoreErrors the sidecar goes on without it", async () => {
    // A sparse 256 MiB file takes thousands of chunked reads: far longer than an initTimeout of 1 ms.
    const huge = join(data, "huge.json");
    writeFileSync(huge, "");
    truncateSync(huge, 256 * 1024 * 1024);
    const slow = (extra = "") =>
      fileStore("slow", huge, "  - name: maxFileSize\n    value: 512Mi\n").replace(
        "  version: v1\n",
        `  version: v1\n  initTimeout: 1ms\n${extra}`,
      );
    const r = await runKeyward({ components: { "a.yaml": slow() } });
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /initialization error occurred for slow .*init timed out after 1 ms \(spec\.initTimeout\)/);

    const ok = json("ok.json", { k: "v" });
    const sc = await startSidecar({
      components: { "a.yaml": slow("  ignoreErrors: true\n"), "b.yaml": fileStore("ok", ok) },
    });
    try {
      assert.deepEqual(await componentNames(sc), ["ok"]);
      assert.match(sc.output(), /slow .*init timed out after 1 ms.*ignoreErrors is set/);
    } finally {
      assert.equal(await sc.stop(), 0);
    }
  });

  it("a failing store stops start-up unless ignoreErrors; an unknown type is named", async () => {
    await fails(
      { components: { "a.yaml": fileStore("nofile", join(data, "missing.json")) } },
      /initialization error occurred for nofile .*cannot read secrets file/,
    );
    await fails(
      { components: { "a.yaml": componentYaml("what", "secretstores.made.up") } },
      /couldn't find secret store secretstores\.made\.up\/v1/,
    );
  });

  it("a missing resources folder is a clear error", async () => {
    const missing = join(data, "no-such-components");
    await fails(
      { resourcesArgs: ["--resources-path", missing] },
      new RegExp(`cannot read resources path ${missing}: no such folder`),
    );
  });

  it("a Configuration with a repeated storeName or a bad defaultAccess does not start", async () => {
    const cfg = (scopes: string) =>
      `apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: c\nspec:\n  secrets:\n    scopes:\n${scopes}`;
    await fails(
      { config: cfg("      - storeName: a\n      - storeName: a\n") },
      /a storeName is repeated in secrets configuration/,
    );
    await fails(
      { config: cfg("      - storeName: a\n        defaultAccess: sometimes\n") },
      /defaultAccess sometimes can be either allow or deny/,
    );
  });
});
