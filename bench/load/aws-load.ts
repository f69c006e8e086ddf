/**
 * @module Client side of the remote-store figure, its own process: reads secrets from AWS Secrets Manager
 * (moto) through Keyward's HTTP API and through @aws-sdk/client-secrets-manager called directly,
 * alternating, each secret read once (a cold read: nothing can be cached). Also seeds the secrets.
 */
import { Agent, request } from "node:http";
import { isMain } from "../lib/main.js";

export interface AwsSpec {
  action: "seed" | "measure";
  endpoint: string;
  region: string;
  /** seed: the names to create. measure: the names to read directly with the SDK. */
  names: string[];
  /** measure: names to read through Keyward, same count as `names`. */
  keywardNames?: string[];
  keywardPort?: number;
  store?: string;
  /** measure: whether the SDK or Keyward makes the very first call of the round. */
  sdkFirst?: boolean;
}

export interface AwsRound {
  /** First call of a fresh SDK client (connection set-up included), ms. */
  firstSdkMs: number;
  /** First call to a freshly started sidecar (its SDK client's connection set-up included), ms. */
  firstKeywardMs: number;
  sdkMs: number[];
  keywardMs: number[];
}

export const secretValue = (name: string) => `value-of-${name}-Zq81-kd93`;

async function main(spec: AwsSpec): Promise<unknown> {
  const sdk = await import("@aws-sdk/client-secrets-manager");
  const client = new sdk.SecretsManagerClient({
    region: spec.region,
    endpoint: spec.endpoint,
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  });
  if (spec.action === "seed") {
    for (const name of spec.names)
      await client.send(new sdk.CreateSecretCommand({ Name: name, SecretString: secretValue(name) }));
    client.destroy();
    return { seeded: spec.names.length };
  }
  const agent = new Agent({ keepAlive: true });
  const viaSdk = async (name: string) => {
    const t = performance.now();
    const out = await client.send(new sdk.GetSecretValueCommand({ SecretId: name }));
    const ms = performance.now() - t;
    if (out.SecretString !== secretValue(name)) throw new Error(`SDK read the wrong value for ${name}`);
    return ms;
  };
  const viaKeyward = (name: string) =>
    new Promise<number>((resolve, reject) => {
      const t = performance.now();
      const req = request(
        { host: "127.0.0.1", port: spec.keywardPort, path: `/v1.0/secrets/${spec.store}/${name}`, agent },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => (body += c));
          res.on("end", () => {
            const ms = performance.now() - t;
            if (res.statusCode !== 200 || !body.includes(secretValue(name)))
              reject(new Error(`Keyward answered ${res.statusCode} for ${name}: ${body.slice(0, 200)}`));
            else resolve(ms);
          });
        },
      );
      req.on("error", reject);
      req.end();
    });
  const kwNames = spec.keywardNames ?? [];
  const round: AwsRound = { firstSdkMs: NaN, firstKeywardMs: NaN, sdkMs: [], keywardMs: [] };
  for (let i = 0; i < spec.names.length; i++) {
    const sdkFirst = i % 2 === 0 ? spec.sdkFirst : !spec.sdkFirst;
    const pair: [() => Promise<number>, (ms: number) => void][] = [
      [() => viaSdk(spec.names[i]!), (ms) => (i === 0 ? (round.firstSdkMs = ms) : round.sdkMs.push(ms))],
      [() => viaKeyward(kwNames[i]!), (ms) => (i === 0 ? (round.firstKeywardMs = ms) : round.keywardMs.push(ms))],
    ];
    for (const [run, keep] of sdkFirst ? pair : pair.reverse()) keep(await run());
  }
  agent.destroy();
  client.destroy();
  return round;
}

if (isMain(import.meta.url)) {
  main(JSON.parse(process.argv[2]!) as AwsSpec).then(
    (r) => process.stdout.write(JSON.stringify(r) + "\n"),
    (err: unknown) => {
      process.stderr.write(`aws-load: ${(err as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
