/**
 * A store that hands out the same frozen object for unchanged data (local.file) has its answer encoded once,
 * single and bulk alike, over both transports; a store that hands out mutable objects is encoded on every
 * call, so a change made in place is seen. Encoding is counted through getters on the values: encoding reads
 * each value once, serving kept bytes reads none. Then, end to end on a started sidecar, a local.file bulk
 * answer follows an edit of the file.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { BulkSecretData, SecretData, SecretStore } from "../../src/stores/types.js";
import { grpcSecretsClient, httpSecretsClient, type SecretsClient } from "../helpers/clients.js";
import { startInProcess, type InProcess } from "../helpers/in-process.js";
import { componentYaml, startSidecar, type Sidecar } from "../helpers/sidecar.js";

/** Secrets whose every value read is counted. */
function countedSecrets(names: string[], reads: { n: number }, freeze: boolean): BulkSecretData {
  const out: Record<string, SecretData> = {};
  for (const name of names) {
    const secret = {};
    Object.defineProperty(secret, name, { enumerable: true, get: () => (reads.n++, `value-of-${name}`) });
    out[name] = freeze ? Object.freeze(secret) : (secret as SecretData);
  }
  return freeze ? Object.freeze(out) : out;
}

class CountingStore implements SecretStore {
  readonly reads = { n: 0 };
  readonly bulk: BulkSecretData;
  constructor(
    names: string[],
    private readonly frozen: boolean,
  ) {
    this.bulk = countedSecrets(names, this.reads, frozen);
  }
  async init() {}
  async getSecret(req: { name: string }) {
    return this.bulk[req.name] ?? null;
  }
  peekSecret(name: string) {
    return this.frozen ? this.bulk[name] : undefined;
  }
  async bulkGetSecret() {
    return this.bulk;
  }
  features() {
    return [] as const;
  }
  async close() {}
}

const NAMES = ["alpha", "beta", "gamma"];
const frozen = new CountingStore(NAMES, true);
const scoped = new CountingStore(NAMES, true);
const mutable = new CountingStore(NAMES, false);
let srv: InProcess;
let clients: SecretsClient[];

before(async () => {
  srv = await startInProcess({
    stores: { frozen, scoped, mutable },
    scopes: [
      { storeName: "scoped", defaultAccess: "allow", allowedSecrets: new Set(), deniedSecrets: new Set(["beta"]) },
    ],
  });
  clients = [httpSecretsClient(srv.httpUrl), grpcSecretsClient(srv.grpcAddress)];
});

after(async () => {
  for (const c of clients ?? []) c.close();
  await srv?.close();
});

const expected = (names: string[]) => Object.fromEntries(names.map((n) => [n, { [n]: `value-of-${n}` }]));

describe("answers of unchanged data are encoded once", () => {
  for (const transport of [0, 1]) {
    const label = transport === 0 ? "HTTP" : "gRPC";

    it(`${label}: repeated bulk gets of a frozen map read its values once`, async () => {
      const first = await clients[transport]!.bulk("frozen");
      assert.deepEqual(first, { ok: true, data: expected(NAMES), status: first.ok ? first.status : 0 });
      const afterFirst = frozen.reads.n;
      for (let i = 0; i < 5; i++) {
        const o = await clients[transport]!.bulk("frozen");
        assert.ok(o.ok, JSON.stringify(o));
        assert.deepEqual(o.data, expected(NAMES));
      }
      assert.equal(frozen.reads.n, afterFirst, "the bulk answer was encoded again");
    });

    it(`${label}: a scope-filtered bulk answer is kept as well, and still filtered`, async () => {
      await clients[transport]!.bulk("scoped");
      const afterFirst = scoped.reads.n;
      for (let i = 0; i < 3; i++) {
        const o = await clients[transport]!.bulk("scoped");
        assert.ok(o.ok, JSON.stringify(o));
        assert.deepEqual(o.data, expected(["alpha", "gamma"]));
      }
      assert.equal(scoped.reads.n, afterFirst, "the filtered bulk answer was encoded again");
    });

    it(`${label}: repeated single gets of a frozen secret read it once`, async () => {
      await clients[transport]!.get("frozen", "gamma");
      const afterFirst = frozen.reads.n;
      for (let i = 0; i < 3; i++) {
        const o = await clients[transport]!.get("frozen", "gamma");
        assert.ok(o.ok, JSON.stringify(o));
        assert.deepEqual(o.data, { gamma: "value-of-gamma" });
      }
      assert.equal(frozen.reads.n, afterFirst, "the single answer was encoded again");
    });

    it(`${label}: a mutable map is encoded on every call, so a change in place is served`, async () => {
      const before = mutable.reads.n;
      await clients[transport]!.bulk("mutable");
      const perCall = mutable.reads.n - before;
      assert.ok(perCall >= NAMES.length, `encoding read ${perCall} values`);
      await clients[transport]!.bulk("mutable");
      assert.equal(mutable.reads.n - before, 2 * perCall, "a mutable map's answer was reused");
      const changed = mutable.bulk as Record<string, SecretData>;
      changed.alpha = { alpha: `changed-${label}` };
      const o = await clients[transport]!.bulk("mutable");
      assert.ok(o.ok, JSON.stringify(o));
      assert.deepEqual((o.data as Record<string, unknown>).alpha, { alpha: `changed-${label}` });
    });
  }
});

describe("local.file bulk answer after an edit of the file", () => {
  const CANARY = `bulk-once-${process.pid}-${Date.now()}`;
  const dir = mkdtempSync(join(tmpdir(), "keyward-bulk-once-"));
  const file = join(dir, "secrets.json");
  let sidecar: Sidecar;
  let both: SecretsClient[];

  before(async () => {
    writeFileSync(file, JSON.stringify({ db: `one-${CANARY}`, api: `key-${CANARY}` }));
    sidecar = await startSidecar({
      components: { "files.yaml": componentYaml("files", "secretstores.local.file", { secretsFile: file }) },
    });
    both = [httpSecretsClient(sidecar.httpUrl), grpcSecretsClient(sidecar.grpcAddress)];
  });

  after(async () => {
    for (const c of both ?? []) c.close();
    const output = sidecar?.output() ?? "";
    if (sidecar) assert.equal(await sidecar.stop(), 0, output);
    assert.ok(!output.includes(CANARY), "a secret value reached the log");
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves the new contents over both transports once the file changed", async () => {
    for (const c of both) {
      const o = await c.bulk("files");
      assert.deepEqual(o.ok && o.data, { db: { db: `one-${CANARY}` }, api: { api: `key-${CANARY}` } });
    }
    writeFileSync(file, JSON.stringify({ db: `two-${CANARY}` }));
    const want = { db: { db: `two-${CANARY}` } };
    const end = Date.now() + 5000;
    for (;;) {
      const o = await both[0]!.bulk("files");
      if (o.ok && JSON.stringify(o.data) === JSON.stringify(want)) break;
      assert.ok(Date.now() < end, `still the old bulk answer after 5 s: ${JSON.stringify(o)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const o = await both[1]!.bulk("files");
    assert.deepEqual(o.ok && o.data, want);
  });
});
