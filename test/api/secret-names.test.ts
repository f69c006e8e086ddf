/**
 * The name the scope checks is the name the store reads, for the local stores: a secret denied by the
 * Configuration stays unreadable under every other spelling of its name (NUL and '=' in an environment
 * variable name, control characters, case, Unicode compatibility forms, percent encodings), over HTTP and
 * gRPC, single and bulk.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { describeTransports } from "../helpers/clients.js";
import { assertBulkWithout, assertSpellings, scopesConfig } from "../helpers/denied-names.js";
import { componentYaml, startSidecar, type Sidecar } from "../helpers/sidecar.js";

const DB_VALUE = `db-canary-${process.pid}-${Date.now()}`;
const TOKEN_VALUE = `token-canary-${process.pid}-${Date.now()}`;
const FILE_VALUE = `file-canary-${process.pid}-${Date.now()}`;
let sidecar: Sidecar;

before(async () => {
  sidecar = await startSidecar({
    components: {
      "env.yaml": componentYaml("envstore", "secretstores.local.env"),
      "files.yaml": componentYaml("files", "secretstores.local.file", { secretsFile: "secrets.json" }),
    },
    config: scopesConfig([
      { storeName: "envstore", deniedSecrets: ["DB_PASSWORD", "APP_API_TOKEN"] },
      { storeName: "files", deniedSecrets: ["db-password"] },
    ]),
    env: { DB_PASSWORD: DB_VALUE, APP_API_TOKEN: TOKEN_VALUE, PUBLIC_NAME: "shop" },
    cwd: await secretsDir(),
  });
});

async function secretsDir(): Promise<string> {
  const { mkdtempSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(join(tmpdir(), "keyward-names-"));
  writeFileSync(join(dir, "secrets.json"), JSON.stringify({ "db-password": FILE_VALUE, ok: "fine" }));
  return dir;
}

after(async () => {
  if (sidecar) assert.equal(await sidecar.stop(), 0, sidecar.output());
  for (const value of [DB_VALUE, TOKEN_VALUE, FILE_VALUE])
    assert.ok(!sidecar.output().includes(value), "a secret value reached the log");
});

describeTransports(
  "denied names in other spellings",
  () => sidecar,
  (client) => {
    void it("local.env reads only the exact variable: NUL and '=' are refused, other spellings are other variables", async () => {
      assert.deepEqual((await client().get("envstore", "PUBLIC_NAME")).ok, true);
      await assertSpellings(client(), "envstore", DB_VALUE, {
        DB_PASSWORD: "denied",
        "DB_PASSWORD\u0000": "refused",
        "DB_PASSWORD\u0000x": "refused",
        "DB_PASSWORD\u0000\u0000": "refused",
        "DB_PASSWORD=": "refused",
        [`DB_PASSWORD=${DB_VALUE.slice(0, 3)}`]: "refused",
        "=DB_PASSWORD": "refused",
        db_password: "elsewhere",
        "DB_PASSWORD ": "elsewhere",
        "DB_PASSWORD\n": "elsewhere",
        "\uFF24\uFF22_PASSWORD": "elsewhere",
        "DB%5FPASSWORD": "elsewhere",
        "DB_PASSWORD%00": "elsewhere",
      });
      await assertSpellings(client(), "envstore", TOKEN_VALUE, {
        APP_API_TOKEN: "denied",
        "APP_API_TOKEN\u0000": "refused",
        "APP_API_TOKEN\u0000anything": "refused",
        "APP_API_TOKEN=": "refused",
      });
    });

    void it("local.file reads the exact key and refuses control characters", async () => {
      assert.deepEqual(await client().get("files", "ok"), {
        ok: true,
        data: { ok: "fine" },
        status: client().transport === "http" ? 200 : "OK",
      });
      await assertSpellings(client(), "files", FILE_VALUE, {
        "db-password": "denied",
        "db-password\u0000": "refused",
        "\u0000db-password": "refused",
        "db-password\u0001": "refused",
        "db-password\u007f": "refused",
        "db-password\u0085": "refused",
        "DB-PASSWORD": "elsewhere",
        "db-password ": "elsewhere",
        "db-password/": "elsewhere",
        "./db-password": "elsewhere",
        "\uFF44\uFF42-password": "elsewhere",
        "db%2Dpassword": "elsewhere",
      });
    });

    void it("bulk leaves the denied secrets out", async () => {
      await assertBulkWithout(client(), "envstore", DB_VALUE, (n) => n.startsWith("DB_PASSWORD"));
      await assertBulkWithout(client(), "envstore", TOKEN_VALUE, (n) => n.startsWith("APP_API_TOKEN"));
      await assertBulkWithout(client(), "files", FILE_VALUE, (n) => n === "db-password");
    });
  },
);

void it("over HTTP the path is decoded once: an encoded NUL is refused, an encoded letter is the denied name", async () => {
  const get = async (path: string) => {
    const res = await fetch(`${sidecar.httpUrl}/v1.0/secrets/envstore/${path}`);
    const text = await res.text();
    assert.ok(!text.includes(DB_VALUE), `${path} served the value`);
    return { status: res.status, text };
  };
  assert.equal((await get("DB_PASSWORD%00")).status, 500);
  assert.match((await get("DB_PASSWORD%00")).text, /is not valid here/);
  assert.equal((await get("%44B_PASSWORD")).status, 403);
  assert.equal((await get("DB%5fPASSWORD")).status, 403);
  assert.equal((await get("DB_PASSWORD%3D")).status, 500);
  assert.equal((await get("DB_PASSWORD%2500")).status, 200);
});
