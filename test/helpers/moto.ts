/**
 * Runs moto (a real AWS emulator: Secrets Manager, SSM, STS, IAM) for the AWS store tests: one process per test
 * file on a free 127.0.0.1 port. A missing `moto_server` is a hard failure, never a skip.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Moto {
  /** e.g. http://127.0.0.1:41234 */
  endpoint: string;
  port: number;
  /** All moto output so far (its request log and tracebacks), for failure messages. */
  output(): string;
  /** Turns IAM authentication on (every request is checked against moto's IAM users, roles and policies) or off. */
  setIamAuth(on: boolean): Promise<void>;
  /** Calls the IAM query API (CreateUser, PutUserPolicy, CreateRole, ...) while authentication is off. */
  iam(action: string, params: Record<string, string>): Promise<string>;
  /** Instances of moto's internal models, e.g. model("sts", "AssumedRole"). */
  model(service: string, kind: string): Promise<Record<string, unknown>[]>;
  stop(): Promise<void>;
}

/** Static credentials moto accepts while IAM authentication is off; any value works. */
export const MOTO_CREDENTIALS = { accessKeyId: "testing", secretAccessKey: "testing" } as const;
export const MOTO_REGION = "us-east-1";
export const MOTO_ACCOUNT = "123456789012";

/** Component metadata for an AWS store on this moto with its static test keys. */
export function motoMetadata(moto: Moto, extra: Record<string, string> = {}): Record<string, string> {
  return {
    region: MOTO_REGION,
    endpoint: moto.endpoint,
    accessKey: MOTO_CREDENTIALS.accessKeyId,
    secretKey: MOTO_CREDENTIALS.secretAccessKey,
    ...extra,
  };
}

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

function requireMoto(): void {
  const r = spawnSync("sh", ["-c", "command -v moto_server"], { encoding: "utf8" });
  if (r.status !== 0 || !r.stdout.trim()) {
    throw new Error(
      "moto_server is not on PATH: the AWS store tests need moto (README.md, Requirements); refusing to skip them",
    );
  }
}

async function waitReady(endpoint: string, child: ChildProcess, out: () => string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with code ${child.exitCode}:\n${out()}`);
    try {
      const r = await fetch(`${endpoint}/moto-api/reset`, { method: "POST" });
      if (r.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`moto_server did not answer on ${endpoint} within 30 s:\n${out()}`);
}

export async function startMoto(): Promise<Moto> {
  requireMoto();
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    // Own process group, so stop() ends moto and nothing else.
    const child = spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let log = "";
    const append = (b: Buffer): void => {
      log += b.toString("utf8");
      if (log.length > 200_000) log = log.slice(-100_000);
    };
    child.stdout?.on("data", append);
    child.stderr?.on("data", append);
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    // moto runs in its own process group, so it would outlive a test process that dies without after() hooks.
    const killOnExit = (): void => {
      try {
        process.kill(-(child.pid as number), "SIGKILL");
      } catch {
        // Already gone.
      }
    };
    process.once("exit", killOnExit);
    void exited.then(() => process.removeListener("exit", killOnExit));
    child.once("error", (err) => append(Buffer.from(String(err))));
    const stop = async (): Promise<void> => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-(child.pid as number), "SIGTERM");
      } catch {
        child.kill("SIGTERM");
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-(child.pid as number), "SIGKILL");
        } catch {
          // Already gone.
        }
      }, 3000);
      await exited;
      clearTimeout(timer);
    };
    try {
      await waitReady(endpoint, child, () => log);
    } catch (err) {
      lastError = err;
      await stop();
      continue;
    }
    return {
      endpoint,
      port,
      output: () => log,
      async setIamAuth(on) {
        // moto's documented switch: after this many unauthenticated actions, every request is authenticated.
        const r = await fetch(`${endpoint}/moto-api/reset-auth`, {
          method: "POST",
          headers: { "content-type": "text/plain" },
          body: on ? "0" : "inf",
        });
        if (!r.ok) throw new Error(`moto reset-auth answered ${r.status}: ${await r.text()}`);
      },
      async iam(action, params) {
        const body = new URLSearchParams({ Action: action, Version: "2010-05-08", ...params }).toString();
        // moto routes by the credential scope of the Authorization header; with authentication off it checks nothing else.
        const r = await fetch(`${endpoint}/`, {
          method: "POST",
          body,
          headers: {
            "content-type": "application/x-www-form-urlencoded",
            authorization: `AWS4-HMAC-SHA256 Credential=${MOTO_CREDENTIALS.accessKeyId}/20260101/${MOTO_REGION}/iam/aws4_request, SignedHeaders=host, Signature=0`,
          },
        });
        const text = await r.text();
        if (!r.ok) throw new Error(`IAM ${action} answered ${r.status}: ${text}`);
        return text;
      },
      async model(service, kind) {
        const r = await fetch(`${endpoint}/moto-api/data.json`);
        const data = (await r.json()) as Record<string, Record<string, Record<string, unknown>[]>>;
        return data[service]?.[kind] ?? [];
      },
      stop,
    };
  }
  throw new Error(`could not start moto_server: ${String(lastError)}`);
}

export function isolateAwsEnv(): void {
  for (const k of Object.keys(process.env)) if (k.startsWith("AWS_")) delete process.env[k];
  const dir = mkdtempSync(join(tmpdir(), "keyward-aws-home-"));
  process.env.AWS_CONFIG_FILE = join(dir, "config");
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, "credentials");
  // No instance metadata service here; without this the chain's last link waits for timeouts.
  process.env.AWS_EC2_METADATA_DISABLED = "true";
}

/** Runs `fn` with some environment variables set (undefined deletes), then restores them. */
export async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(vars)) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** An IAM policy document allowing (or denying) actions on resources. */
export function policy(
  statements: { effect?: "Allow" | "Deny"; action: string | string[]; resource?: string | string[] }[],
): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: statements.map((s) => ({ Effect: s.effect ?? "Allow", Action: s.action, Resource: s.resource ?? "*" })),
  });
}

/** Creates an IAM user with an inline policy and an access key; returns the key. */
export async function createIamUser(
  moto: Moto,
  name: string,
  policyDocument: string,
): Promise<{ accessKeyId: string; secretAccessKey: string; arn: string }> {
  const user = await moto.iam("CreateUser", { UserName: name });
  await moto.iam("PutUserPolicy", { UserName: name, PolicyName: `${name}-policy`, PolicyDocument: policyDocument });
  const key = await moto.iam("CreateAccessKey", { UserName: name });
  const pick = (xml: string, tag: string): string => {
    const v = new RegExp(`<${tag}>([^<]+)</${tag}>`).exec(xml)?.[1];
    if (!v) throw new Error(`no ${tag} in IAM answer: ${xml}`);
    return v;
  };
  return {
    accessKeyId: pick(key, "AccessKeyId"),
    secretAccessKey: pick(key, "SecretAccessKey"),
    arn: pick(user, "Arn"),
  };
}

/** Creates an IAM role with a trust policy and an inline permissions policy; returns its ARN. */
export async function createIamRole(
  moto: Moto,
  name: string,
  trustPolicy: string,
  permissions: string,
): Promise<string> {
  const xml = await moto.iam("CreateRole", { RoleName: name, AssumeRolePolicyDocument: trustPolicy });
  await moto.iam("PutRolePolicy", { RoleName: name, PolicyName: `${name}-policy`, PolicyDocument: permissions });
  const arn = /<Arn>([^<]+)<\/Arn>/.exec(xml)?.[1];
  if (!arn) throw new Error(`no Arn in CreateRole answer: ${xml}`);
  return arn;
}

/**
 * An HTTP endpoint that answers every request with one AWS JSON-protocol error (as AWS sends it: status,
 * `x-amzn-errortype`, `{"__type","message"}` body), to drive the error paths moto cannot produce (throttling, 5xx).
 */
export async function startFaultEndpoint(
  status: number,
  type: string,
  message: string,
): Promise<{
  endpoint: string;
  requests(): number;
  headers(): Record<string, string | string[] | undefined>[];
  close(): Promise<void>;
}> {
  const { createServer: createHttpServer } = await import("node:http");
  let count = 0;
  const seen: Record<string, string | string[] | undefined>[] = [];
  const srv = createHttpServer((req, res) => {
    count++;
    seen.push(req.headers);
    req.resume();
    req.on("end", () => {
      res.writeHead(status, {
        "content-type": "application/x-amz-json-1.1",
        "x-amzn-errortype": type,
        "x-amzn-requestid": `req-${count}`,
      });
      res.end(JSON.stringify({ __type: type, message }));
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const addr = srv.address();
  if (typeof addr !== "object" || !addr) throw new Error("no address");
  return {
    endpoint: `http://127.0.0.1:${addr.port}`,
    requests: () => count,
    headers: () => seen,
    close: () =>
      new Promise<void>((resolve) => {
        srv.closeAllConnections();
        srv.close(() => resolve());
      }),
  };
}

/** A port nothing listens on (bound, then released). */
export function closedPort(): Promise<number> {
  return freePort();
}
