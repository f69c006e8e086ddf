/**
 * @module `npm run soak`: Keyward under a long mixed load. Clients read a local.file store and a Vault store
 * over HTTP and gRPC while the soak rewrites the local.file component every few seconds (a valid change,
 * broken YAML, the fix) and stops and restarts the Vault server now and then. It samples the sidecar's RSS
 * and open file descriptors, prints them over time with the request counts, and exits 1 on growth, on a
 * failed request that the outage does not explain, or on a secret value in the sidecar's output.
 * `--duration 2m` (default 10m), `--clients N` (default 6).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { componentYaml } from "../test/helpers/sidecar.js";
import { startVaultServer } from "../test/servers/vault/server.js";
import { rssMB, startKeyward } from "./lib/processes.js";
import { newTally, runClient, type Target } from "./lib/soak-clients.js";

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const inline = process.argv.find((a) => a.startsWith(`--${name}=`));
  return inline ? inline.slice(name.length + 3) : i > 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

function durationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`--duration ${JSON.stringify(text)}: use e.g. 90s, 2m, 10m`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "s") as "s"];
}

const DURATION_MS = durationMs(option("duration", "10m"));
const CLIENTS = Number(option("clients", "6"));
const RELOAD_EVERY_MS = 3000;
/** Vault goes away this often, for OUTAGE_MS; a short run still gets a few outages. */
const OUTAGE_EVERY_MS = Math.min(45_000, Math.max(15_000, DURATION_MS / 4));
const OUTAGE_MS = 5000;
/** After a rewrite or a restart, how long answers may still reflect it (file watch debounce, reconnects). */
const SETTLE_MS = 2000;
const SAMPLE_EVERY_MS = Math.max(2000, Math.min(20_000, DURATION_MS / 30));
const WARM_UP_MS = 30_000;
/** RSS growth allowed in the last third of the steady part of the run over the higher of the two before it. */
const RSS_TOLERANCE = { ratio: 0.1, mb: 15 };
/** Used-heap growth allowed between the first and the last third (medians of samples taken between GCs). */
const HEAP_TOLERANCE = { ratio: 0.5, mb: 15 };
const FD_TOLERANCE = 16;
const SECRETS = 20;

const dir = mkdtempSync(join(tmpdir(), "keyward-soak-"));
const unique = randomBytes(6).toString("hex");
const fileSecrets = new Map<string, string>();
const vaultSecrets = new Map<string, string>();
for (let i = 0; i < SECRETS; i++) {
  fileSecrets.set(`file-${i}`, `soak-file-${unique}-${i}`);
  vaultSecrets.set(`vault-${i}`, `soak-vault-${unique}-${i}`);
}
writeFileSync(join(dir, "secrets.json"), JSON.stringify(Object.fromEntries(fileSecrets)));

const vault = await startVaultServer();
for (const [name, value] of vaultSecrets) vault.put(`dapr/${name}`, { value });

const resources = join(dir, "resources");
const fileComponent = (separator: string) =>
  componentYaml("files", "secretstores.local.file", {
    secretsFile: join(dir, "secrets.json"),
    nestedSeparator: separator,
  });
const writeFiles = (text: string) => writeFileSync(join(resources, "files.yaml"), text);
mkdirSync(resources);
writeFiles(fileComponent(":"));
writeFileSync(
  join(resources, "vault.yaml"),
  componentYaml("vault", "secretstores.hashicorp.vault", {
    vaultAddr: vault.url,
    vaultToken: vault.rootToken,
    vaultKVVersion: "2",
  }),
);

const keyward = await startKeyward(resources);
const started = Date.now();
let vaultDown: { from: number; to: number } | undefined;
let lastRewrite = 0;
let broken = false;
const target: Target = {
  httpUrl: `http://127.0.0.1:${keyward.httpPort}`,
  grpcAddress: `127.0.0.1:${keyward.grpcPort}`,
  expected: new Map([
    ["files", fileSecrets],
    ["vault", vaultSecrets],
  ]),
  classify(store, startedAt) {
    const now = Date.now();
    if (store === "vault" && vaultDown && startedAt < vaultDown.to + SETTLE_MS && now >= vaultDown.from)
      return "backend down";
    if (store === "files" && (broken || startedAt < lastRewrite + SETTLE_MS)) return "during reload";
    return "unexpected";
  },
};

const tally = newTally();
const done = () => Date.now() - started >= DURATION_MS;
const clients = Array.from({ length: CLIENTS }, (_, id) => runClient(target, id, tally, done, 20));

/** Valid change, broken YAML, fix: the store must keep answering throughout (make-before-break reload). */
async function churn(): Promise<number> {
  let reloads = 0;
  for (let step = 0; !done(); step++) {
    await pause(RELOAD_EVERY_MS);
    if (done()) break;
    lastRewrite = Date.now();
    const phase = step % 3;
    broken = phase === 1;
    writeFiles(
      phase === 1
        ? "apiVersion: dapr.io/v1alpha1\nkind: Component\nspec: [unclosed\n"
        : fileComponent(step % 2 ? "." : ":"),
    );
    reloads++;
  }
  broken = false;
  return reloads;
}

/** Waits `ms`, or less when the run ends first. */
async function pause(ms: number): Promise<void> {
  for (const until = Date.now() + ms; Date.now() < until && !done();) await wait(Math.min(250, until - Date.now()));
}

async function outages(): Promise<number> {
  let n = 0;
  while (!done()) {
    await pause(OUTAGE_EVERY_MS);
    if (Date.now() - started + OUTAGE_MS + SETTLE_MS >= DURATION_MS) break;
    const from = Date.now();
    vaultDown = { from, to: Infinity };
    await vault.stop();
    await wait(OUTAGE_MS);
    await vault.start();
    vaultDown = { from, to: Date.now() };
    vault.requests.length = 0; // the test server records every request; a soak would grow it without end
    n++;
  }
  return n;
}

interface Sample {
  at: number;
  rss: number;
  /** V8's used heap, from the sidecar's own metrics: tells a leak from a heap that only grew. */
  heap: number;
  fds: number;
  ok: number;
  backendDown: number;
  duringReload: number;
  unexpected: number;
}
const samples: Sample[] = [];
const metricsUrl = `http://127.0.0.1:${/metrics_port=(\d+)/.exec(keyward.output())?.[1]}/metrics`;
async function heapMB(): Promise<number> {
  try {
    const text = await (await fetch(metricsUrl, { signal: AbortSignal.timeout(5000) })).text();
    return Number(/^nodejs_heap_size_used_bytes\S* (\S+)/m.exec(text)?.[1]) / 1e6;
  } catch {
    return NaN;
  }
}
const sample = async (): Promise<Sample> => ({
  at: Math.round((Date.now() - started) / 1000),
  heap: await heapMB(),
  rss: rssMB(keyward.pid),
  fds: readdirSync(`/proc/${keyward.pid}/fd`).length,
  ok: tally.ok,
  backendDown: tally.backendDown,
  duringReload: tally.duringReload,
  unexpected: tally.unexpected,
});
const row = (s: Sample) =>
  [s.at, s.rss.toFixed(1), s.heap.toFixed(1), s.fds, s.ok, s.backendDown, s.duringReload, s.unexpected]
    .map((v) => String(v).padStart(9))
    .join(" ");
console.log(
  `soak: ${DURATION_MS / 1000}s, ${CLIENTS} clients, a reload every ${RELOAD_EVERY_MS / 1000}s, Vault away ${OUTAGE_MS / 1000}s every ${OUTAGE_EVERY_MS / 1000}s`,
);
console.log(
  ["t (s)", "RSS (MB)", "heap (MB)", "fds", "ok", "vault down", "reloading", "failed"]
    .map((h) => h.padStart(9))
    .join(" "),
);
const record = async () => {
  samples.push(await sample());
  console.log(row(samples[samples.length - 1]!));
};
const sampler = setInterval(() => void record(), SAMPLE_EVERY_MS);

const [reloads, outageCount] = await Promise.all([churn(), outages(), ...clients]);
clearInterval(sampler);
await record();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
// The heap and JIT grow during the first part of a run; growth is measured after that.
const steady = samples.filter((s) => s.at * 1000 >= Math.max(DURATION_MS * 0.2, WARM_UP_MS));
const third = Math.max(1, Math.floor(steady.length / 3));
const early = steady.slice(0, third);
const middle = steady.slice(third, -third);
const late = steady.slice(-third);
const rssEarly = median(early.map((s) => s.rss));
const rssMiddle = median(middle.map((s) => s.rss));
const rssLate = median(late.map((s) => s.rss));
const heapEarly = median(early.map((s) => s.heap));
const heapLate = median(late.map((s) => s.heap));
const fdEarly = Math.max(...early.map((s) => s.fds));
const fdLate = Math.max(...late.map((s) => s.fds));
const problems: string[] = [];
// A leak keeps growing. V8's heap spaces and the C allocator's arenas grow to the load's working size for
// several minutes and then level off, without live objects growing (heap snapshots taken 200 reloads apart
// hold the same objects); RSS also moves up and down with the load. So the last third's RSS is held against
// the higher of the two thirds before it, and live objects are judged by the used heap, first third to last.
if (steady.length < 6) problems.push(`the run is too short to measure growth: use --duration 3m or more`);
else {
  const rssBefore = Math.max(rssEarly, rssMiddle);
  if (rssLate > rssBefore + Math.max(RSS_TOLERANCE.mb, rssBefore * RSS_TOLERANCE.ratio))
    problems.push(
      `RSS kept growing: ${rssEarly.toFixed(1)} → ${rssMiddle.toFixed(1)} → ${rssLate.toFixed(1)} MB by thirds`,
    );
  if (heapLate > heapEarly + Math.max(HEAP_TOLERANCE.mb, heapEarly * HEAP_TOLERANCE.ratio))
    problems.push(`used heap grew from ${heapEarly.toFixed(1)} MB to ${heapLate.toFixed(1)} MB`);
}
if (fdLate > fdEarly + FD_TOLERANCE) problems.push(`open fds grew from ${fdEarly} to ${fdLate}`);
if (tally.duringReload > 0)
  problems.push(`${tally.duringReload} request(s) to the reloaded store failed while its component file changed`);
if (tally.unexpected > 0) problems.push(`${tally.unexpected} unexpected failure(s): ${tally.examples.join("; ")}`);
await keyward.stop();
const output = keyward.output();
const leaked = [...fileSecrets.values(), ...vaultSecrets.values(), vault.rootToken].filter((v) => output.includes(v));
if (leaked.length) problems.push(`${leaked.length} secret value(s) or the Vault token appear in the sidecar's output`);
await vault.close();
rmSync(dir, { recursive: true, force: true });

console.log(
  `\n${tally.ok} requests answered, ${tally.backendDown} failed while Vault was away (expected), ` +
    `${tally.duringReload} failed during reloads, ${tally.unexpected} failed otherwise; ` +
    `${reloads} component rewrites, ${outageCount} Vault outages; RSS ${rssEarly.toFixed(1)} → ${rssMiddle.toFixed(1)} → ${rssLate.toFixed(1)} MB by thirds (used heap ${heapEarly.toFixed(1)} → ${heapLate.toFixed(1)} MB), fds ${fdEarly} → ${fdLate}`,
);
if (problems.length) {
  console.log(`SOAK FAILED:\n- ${problems.join("\n- ")}`);
  process.exit(1);
}
console.log("soak passed");
