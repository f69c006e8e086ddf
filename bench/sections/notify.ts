/**
 * @module Change-notification delay per source: from the backend change to the HTTP subscriber's event,
 * for local.file (file watch), Kubernetes with `watch: "true"` (the API test server's watch) and Vault
 * polled at pollInterval 1s (the Vault test server), plus the Vault calls fifty subscribers of one secret
 * cost per poll interval.
 */
import { writeFileSync } from "node:fs";
import type { BenchConfig } from "../lib/config.js";
import { componentYaml, type Workspace } from "../lib/fixtures.js";
import { startKeyward } from "../lib/processes.js";
import { summarize, type LatencySummary } from "../lib/stats.js";
import { sseSubscribe, type SseSubscription } from "../../test/helpers/subscribe-clients.js";
import { KubeApiTestServer } from "../../test/servers/kubernetes/server.js";
import { startVaultServer } from "../../test/servers/vault/server.js";

export interface NotifySource {
  source: string;
  /** Change → event at the subscriber (ms). */
  delay: LatencySummary;
}

export interface NotifyResults {
  changes: number;
  pollIntervalMs: number;
  sources: NotifySource[];
  /** Vault requests per poll interval while fifty clients subscribe to one secret. */
  vaultCallsPerIntervalWith50: number;
}

const POLL_MS = 1000;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Changes the secret `changes` times, each once the last change arrived, and times each arrival. */
async function delays(
  sub: SseSubscription,
  changes: number,
  change: (value: string) => void,
  spread: number,
): Promise<LatencySummary> {
  const samples = new Float64Array(changes);
  for (let i = 0; i < changes; i++) {
    // A random wait, so a polled source is not always changed at the same point of its interval.
    await pause(Math.random() * spread);
    const value = `v${i}-${Date.now()}`;
    const t = performance.now();
    change(value);
    const e = await sub.waitFor((ev) => ev.data.includes(value), 30_000, `change ${i}`);
    samples[i] = e.at - t;
  }
  return summarize(samples);
}

export async function notifySection(cfg: BenchConfig, ws: Workspace, log: (m: string) => void): Promise<NotifyResults> {
  const changes = cfg.quick ? 5 : 20;
  const vault = await startVaultServer({ rootToken: `hvs.bench-notify-${process.pid}` });
  const kube = await KubeApiTestServer.start();
  const file = ws.file("notify-secrets.json", JSON.stringify({ watched: "v" }));
  vault.put("dapr/watched", { v: "v" });
  kube.putSecret("apps", "watched", { v: "v" });
  const res = ws.rawResources("notify", {
    "file.yaml": componentYaml("file", "local.file", { secretsFile: file }),
    "kube.yaml": componentYaml("kube", "kubernetes", {
      kubeconfigPath: kube.writeKubeconfig(),
      defaultNamespace: "apps",
      watch: "true",
    }),
    "vault.yaml": componentYaml("vault", "hashicorp.vault", {
      vaultAddr: vault.url,
      vaultToken: vault.rootToken,
      pollInterval: `${POLL_MS}ms`,
    }),
  });
  const kw = await startKeyward(res);
  const open: SseSubscription[] = [];
  try {
    const subscribe = async (store: string) => {
      const sub = await sseSubscribe(`http://127.0.0.1:${kw.httpPort}/v1.0-alpha1/secrets/${store}/watched/subscribe`);
      if (sub.status !== 200) throw new Error(`subscribe ${store}: HTTP ${sub.status} ${sub.body}`);
      open.push(sub);
      await sub.waitFor((e) => e.event === "update", 10_000);
      return sub;
    };
    const sources: NotifySource[] = [];
    const measure = async (source: string, store: string, change: (v: string) => void, spread: number) => {
      const delay = await delays(await subscribe(store), changes, change, spread);
      log(`notify ${source}: p50 ${delay.p50.toFixed(1)} ms, p99 ${delay.p99.toFixed(1)} ms`);
      sources.push({ source, delay });
    };
    await measure("local.file (file watch)", "file", (v) => writeFileSync(file, JSON.stringify({ watched: v })), 100);
    await measure("Kubernetes watch: true", "kube", (v) => kube.putSecret("apps", "watched", { v }), 100);
    await measure(
      `Vault KV v2, pollInterval ${POLL_MS} ms`,
      "vault",
      (v) => void vault.put("dapr/watched", { v }),
      POLL_MS,
    );
    for (let i = 0; i < 49; i++) await subscribe("vault");
    const before = vault.requests.length;
    const intervals = cfg.quick ? 3 : 10;
    await pause(POLL_MS * intervals);
    const vaultCallsPerIntervalWith50 = (vault.requests.length - before) / intervals;
    log(`notify: ${vaultCallsPerIntervalWith50} Vault calls per poll interval with 50 subscribers`);
    return { changes, pollIntervalMs: POLL_MS, sources, vaultCallsPerIntervalWith50 };
  } finally {
    for (const s of open) s.close();
    await kw.stop();
    await vault.close();
    await kube.close();
  }
}
