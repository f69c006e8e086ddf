import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  envRefAllowed,
  orderByReferences,
  SecretRefError,
  resolveMetadata,
  type ResolveContext,
} from "../../src/core/references.js";
import { readComponent, type ComponentManifest } from "../../src/resources/component.js";
import { parseYamlDocument } from "../../src/resources/yaml-documents.js";
import { SecretStoreError, type GetSecretRequest, type SecretData, type SecretStore } from "../../src/stores/types.js";

/** A component from compact parts; `items` is the YAML of spec.metadata's list items. */
function component(name: string, opts: { auth?: string; items?: string; namespace?: string } = {}): ComponentManifest {
  const text = [
    "apiVersion: dapr.io/v1alpha1",
    "kind: Component",
    "metadata:",
    `  name: ${name}`,
    ...(opts.namespace ? [`  namespace: ${opts.namespace}`] : []),
    "spec:",
    "  type: secretstores.local.env",
    ...(opts.items ? ["  metadata:", opts.items] : []),
    ...(opts.auth ? ["auth:", `  secretStore: ${opts.auth}`] : []),
  ].join("\n");
  const doc = parseYamlDocument({ text, line: 1 }, "1.1");
  assert.equal(doc.error, undefined);
  return readComponent(doc, `${name}.yaml`);
}

const ref = (item: string, secret: string, key?: string) =>
  `  - name: ${item}\n    secretKeyRef:\n      name: ${secret}${key === undefined ? "" : `\n      key: ${key}`}`;

class FakeStore implements SecretStore {
  calls: GetSecretRequest[] = [];
  constructor(private readonly data: Record<string, SecretData | Error>) {}
  async init(): Promise<void> {}
  async getSecret(req: GetSecretRequest): Promise<SecretData> {
    this.calls.push(req);
    const v = this.data[req.name];
    if (v === undefined) throw new SecretStoreError("not_found", `secret ${req.name} not found`);
    if (v instanceof Error) throw v;
    return v;
  }
  async bulkGetSecret() {
    return {};
  }
  features() {
    return [];
  }
  async close(): Promise<void> {}
}

function ctx(
  stores: Record<string, SecretStore> = {},
  env: NodeJS.ProcessEnv = {},
  extra: Partial<ResolveContext> = {},
) {
  const warnings: string[] = [];
  const c: ResolveContext = {
    appId: "order-processor",
    namespace: "prod",
    env,
    store: (n) => stores[n],
    defaultStore: "",
    warn: (m) => warnings.push(m),
    ...extra,
  };
  return { c, warnings };
}

describe("orderByReferences", () => {
  it("puts referenced stores first whatever the file order (chain of 3)", () => {
    const top = component("top", { auth: "mid", items: ref("token", "t") });
    const mid = component("mid", { auth: "base", items: ref("token", "m") });
    const base = component("base");
    const other = component("other");
    const { ordered, problems } = orderByReferences([top, other, mid, base], "", new Set());
    assert.deepEqual(
      ordered.map((c) => c.name),
      ["base", "mid", "top", "other"],
    );
    assert.equal(problems.size, 0);
  });

  it("a store that references itself is a problem naming the chain", () => {
    const self = component("self", { auth: "self", items: ref("token", "t") });
    const { problems } = orderByReferences([self], "", new Set());
    assert.equal(problems.get("self"), "secret store reference cycle: self -> self");
  });

  it("a cycle names the whole chain for each member, and a store that depends on it cannot start either", () => {
    const a = component("a", { auth: "b", items: ref("p", "x") });
    const b = component("b", { auth: "c", items: ref("p", "x") });
    const c = component("c", { auth: "a", items: ref("p", "x") });
    const user = component("user", { auth: "a", items: ref("p", "x") });
    const free = component("free");
    const { problems } = orderByReferences([user, a, b, c, free], "", new Set());
    for (const n of ["a", "b", "c"])
      assert.match(
        problems.get(n)!,
        /secret store reference cycle: (a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c)/,
        n,
      );
    assert.match(problems.get("user")!, /its secret store a cannot start: secret store reference cycle/);
    assert.equal(problems.has("free"), false);
  });

  it("a reference to a store that does not exist is a problem", () => {
    const c = component("c", { auth: "nope", items: ref("p", "x") });
    assert.match(
      orderByReferences([c], "", new Set()).problems.get("c")!,
      /auth\.secretStore nope is not a secret store defined for this app/,
    );
  });

  it("secretKeyRef without auth.secretStore is a problem in standalone mode; Kubernetes mode uses the built-in store", () => {
    const c = component("c", { items: ref("password", "x") });
    assert.match(
      orderByReferences([c], "", new Set()).problems.get("c")!,
      /metadata password \(line \d+\) uses secretKeyRef, but the component sets no auth\.secretStore/,
    );
    assert.equal(orderByReferences([c], "kubernetes", new Set(["kubernetes"])).problems.size, 0);
  });

  it("auth.secretStore without any secretKeyRef creates no dependency", () => {
    const c = component("c", { auth: "nope", items: "  - name: a\n    value: b" });
    assert.equal(orderByReferences([c], "", new Set()).problems.size, 0);
  });
});

describe("resolveMetadata: secretKeyRef", () => {
  it("reads the key, defaulting it to the secret name, with one call per secret and the component's namespace", async () => {
    const vault = new FakeStore({ db: { user: "admin", password: "pw-1" }, token: { token: "tk-1" } });
    const c = component("c", {
      auth: "vault",
      namespace: "team-a",
      items: [
        ref("user", "db", "user"),
        ref("password", "db", "password"),
        ref("token", "token"),
        "  - name: plain\n    value: x",
      ].join("\n"),
    });
    const md = await resolveMetadata(c, ctx({ vault }).c);
    assert.deepEqual(md, { user: "admin", password: "pw-1", token: "tk-1", plain: "x" });
    assert.deepEqual(vault.calls, [
      { name: "db", metadata: { namespace: "team-a" } },
      { name: "token", metadata: { namespace: "team-a" } },
    ]);
  });

  it("a missing key, a store error or an unloaded store are errors naming the item, never a value", async () => {
    const seed = "ref-seed-0c9d41";
    const vault = new FakeStore({
      db: { user: seed },
      broken: new SecretStoreError("permission_denied", "permission denied"),
    });
    const check = async (items: string, re: RegExp, stores: Record<string, SecretStore> = { vault }) => {
      await assert.rejects(resolveMetadata(component("c", { auth: "vault", items }), ctx(stores).c), (err: unknown) => {
        assert.ok(err instanceof SecretRefError);
        assert.match(err.message, re);
        assert.doesNotMatch(err.message, new RegExp(seed));
        return true;
      });
    };
    await check(ref("password", "db", "password"), /metadata password: secret db in store vault has no key password/);
    await check(
      ref("password", "missing"),
      /metadata password: secretKeyRef missing from store vault: secret missing not found/,
    );
    await check(ref("password", "broken"), /permission denied/);
    await check(ref("password", "db", "user"), /secret store vault is not loaded/, {});
  });

  it("an empty secret value counts as missing", async () => {
    const vault = new FakeStore({ empty: { empty: "" } });
    await assert.rejects(
      resolveMetadata(component("c", { auth: "vault", items: ref("p", "empty") }), ctx({ vault }).c),
      /secret empty in store vault has an empty value for key empty/,
    );
  });
});

describe("resolveMetadata: envRef", () => {
  const item = (env: string, value?: string) =>
    `  - name: v\n    envRef: ${env}${value === undefined ? "" : `\n    value: ${value}`}`;
  const resolve = async (items: string, env: NodeJS.ProcessEnv) => {
    const { c, warnings } = ctx({}, env);
    return { md: await resolveMetadata(component("c", { items }), c), warnings };
  };

  it("reads the variable when the value is empty; a value wins over envRef", async () => {
    assert.deepEqual((await resolve(item("MY_TOKEN"), { MY_TOKEN: "env-1" })).md, { v: "env-1" });
    assert.deepEqual((await resolve(item("MY_TOKEN", "inline"), { MY_TOKEN: "env-1" })).md, { v: "inline" });
    assert.deepEqual((await resolve(item("UNSET_VAR"), {})).md, { v: "" });
  });

  it("refuses DAPR_* (any case) and APP_API_TOKEN with a warning that holds no value", async () => {
    for (const name of ["DAPR_API_TOKEN", "dapr_api_token", "Dapr_Anything", "APP_API_TOKEN", "app_api_token"]) {
      const { md, warnings } = await resolve(item(name), { [name]: "env-seed-41af" });
      assert.deepEqual(md, { v: "" }, name);
      assert.equal(warnings.length, 1, name);
      assert.match(warnings[0]!, new RegExp(`envRef ${name} is not allowed`));
      assert.doesNotMatch(warnings[0]!, /env-seed-41af/);
    }
  });

  it("envRefAllowed: names with a space or empty are refused; DAPR_ENV_KEYS is an upper-case allow-list", () => {
    assert.equal(envRefAllowed("", {}), false);
    assert.equal(envRefAllowed("A B", {}), false);
    assert.equal(envRefAllowed("ANY", {}), true);
    assert.equal(envRefAllowed("ANY", { DAPR_ENV_KEYS: "" }), true);
    const env = { DAPR_ENV_KEYS: "FOO BAR_BAZ" };
    assert.equal(envRefAllowed("FOO", env), true);
    assert.equal(envRefAllowed("foo", env), true);
    assert.equal(envRefAllowed("BAR_BAZ", env), true);
    assert.equal(envRefAllowed("BAR", env), false);
    assert.equal(envRefAllowed("FO", env), false);
    assert.equal(envRefAllowed("OTHER", env), false);
    assert.equal(envRefAllowed("DAPR_X", { DAPR_ENV_KEYS: "DAPR_X" }), false);
    assert.equal(envRefAllowed("APP_API_TOKEN", { DAPR_ENV_KEYS: "APP_API_TOKEN" }), false);
  });

  it("with DAPR_ENV_KEYS set, a variable outside it is refused", async () => {
    const env = { DAPR_ENV_KEYS: "ALLOWED", ALLOWED: "a", OTHER: "o" };
    assert.deepEqual((await resolve(item("ALLOWED"), env)).md, { v: "a" });
    const other = await resolve(item("OTHER"), env);
    assert.deepEqual(other.md, { v: "" });
    assert.equal(other.warnings.length, 1);
  });

  it("an item with both envRef and secretKeyRef takes the variable, as daprd", async () => {
    const vault = new FakeStore({ s: { s: "from-store" } });
    const c = component("c", { auth: "vault", items: "  - name: v\n    envRef: E\n    secretKeyRef:\n      name: s" });
    assert.deepEqual(await resolveMetadata(c, ctx({ vault }, { E: "from-env" }).c), { v: "from-env" });
    assert.equal(vault.calls.length, 0);
  });
});

describe("resolveMetadata: templates", () => {
  const value = async (v: string, env: NodeJS.ProcessEnv = {}, extra: Partial<ResolveContext> = {}) =>
    (await resolveMetadata(component("c", { items: `  - name: v\n    value: "${v}"` }), ctx({}, env, extra).c)).v ?? "";

  it("{appID}, {namespace} (namespace.appId) and {podName}", async () => {
    assert.equal(await value("id={appID}"), "id=order-processor");
    assert.equal(await value("{namespace}"), "prod.order-processor");
    assert.equal(await value("{namespace}", {}, { namespace: "" }), ".order-processor");
    assert.equal(await value("pod-{podName}", { POD_NAME: "web-7d9" }), "pod-web-7d9");
    assert.equal(await value("{appID}", {}, { appId: "a$&b" }), "a$&b");
  });

  it("{uuid} is a fresh v4 UUID at each occurrence", async () => {
    const out = await value("{uuid}/{uuid}");
    const [a, b] = out.split("/");
    const v4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    assert.match(a!, v4);
    assert.match(b!, v4);
    assert.notEqual(a, b);
  });

  it("{podName} without POD_NAME is an error", async () => {
    await assert.rejects(value("{podName}"), /\{podName\} is used but POD_NAME is not set/);
  });

  it("unknown braces are left alone; templates also apply to resolved secrets, as daprd", async () => {
    assert.equal(await value("{other} {APPID}"), "{other} {APPID}");
    const vault = new FakeStore({ s: { s: "x-{appID}" } });
    assert.deepEqual(await resolveMetadata(component("c", { auth: "vault", items: ref("v", "s") }), ctx({ vault }).c), {
      v: "x-order-processor",
    });
  });
});
