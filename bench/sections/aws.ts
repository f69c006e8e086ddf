/**
 * @module Remote store: AWS Secrets Manager on moto. Cold reads (each secret read once) through Keyward vs
 * the AWS SDK called directly against the same moto; the difference is Keyward's own overhead on a remote call.
 */
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import type { AwsRound, AwsSpec } from "../load/aws-load.js";
import type { BenchConfig } from "../lib/config.js";
import { componentYaml, type Workspace } from "../lib/fixtures.js";
import { PATHS, runJson, startKeyward } from "../lib/processes.js";
import { median } from "../lib/stats.js";

export interface AwsResults {
  available: true;
  keywardMs: number;
  sdkMs: number;
  overheadMs: number;
  firstKeywardMs: number;
  firstSdkMs: number;
  reads: number;
  rounds: AwsRound[];
}

export type AwsOutcome = AwsResults | { available: false; reason: string };

const REGION = "us-east-1";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

async function startMoto(): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const child = spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await exited;
    }
  };
  const endpoint = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 150; i++) {
    if (child.exitCode !== null) throw new Error(`moto_server exited: ${err}`);
    try {
      if ((await fetch(`${endpoint}/moto-api/reset`, { method: "POST" })).ok) return { endpoint, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error("moto_server did not start in 15 s");
}

export async function awsSection(cfg: BenchConfig, ws: Workspace, log: (m: string) => void): Promise<AwsOutcome> {
  if (spawnSync("sh", ["-c", "command -v moto_server"]).status !== 0)
    return { available: false, reason: "moto_server is not on PATH" };
  const moto = await startMoto();
  try {
    const n = cfg.awsReadsPerRound + 1;
    const names = (side: string, r: number) => Array.from({ length: n }, (_, i) => `bench-${side}-${r}-${i}`);
    const all: string[] = [];
    for (let r = 0; r < cfg.awsRounds; r++) all.push(...names("kw", r), ...names("sdk", r));
    await runJson(PATHS.awsLoad, {
      action: "seed",
      endpoint: moto.endpoint,
      region: REGION,
      names: all,
    } satisfies AwsSpec);
    const res = ws.rawResources("aws", {
      "aws.yaml": componentYaml("aws", "aws.secretmanager", {
        region: REGION,
        endpoint: moto.endpoint,
        accessKey: "testing",
        secretKey: "testing",
      }),
    });
    const rounds: AwsRound[] = [];
    for (let r = 0; r < cfg.awsRounds; r++) {
      // A fresh sidecar each round, so its first call is as cold as the fresh SDK client's.
      const kw = await startKeyward(res);
      try {
        const spec: AwsSpec = {
          action: "measure",
          endpoint: moto.endpoint,
          region: REGION,
          names: names("sdk", r),
          keywardNames: names("kw", r),
          keywardPort: kw.httpPort,
          store: "aws",
          sdkFirst: r % 2 === 0,
        };
        const round = await runJson<AwsRound>(PATHS.awsLoad, spec);
        rounds.push(round);
        log(
          `aws round ${r + 1}/${cfg.awsRounds}: keyward ${median(round.keywardMs).toFixed(2)} ms, sdk ${median(round.sdkMs).toFixed(2)} ms (first: ${round.firstKeywardMs.toFixed(1)} / ${round.firstSdkMs.toFixed(1)} ms)`,
        );
      } finally {
        await kw.stop();
      }
    }
    const keywardMs = median(rounds.map((r) => median(r.keywardMs)));
    const sdkMs = median(rounds.map((r) => median(r.sdkMs)));
    return {
      available: true,
      keywardMs,
      sdkMs,
      overheadMs: median(rounds.map((r) => median(r.keywardMs) - median(r.sdkMs))),
      firstKeywardMs: median(rounds.map((r) => r.firstKeywardMs)),
      firstSdkMs: median(rounds.map((r) => r.firstSdkMs)),
      reads: rounds.reduce((a, r) => a + r.keywardMs.length + r.sdkMs.length, 0),
      rounds,
    };
  } finally {
    await moto.stop();
  }
}
