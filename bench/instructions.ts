/**
 * @module `npm run bench:instructions`: machine instructions per HTTP `GetSecret`, Keyward against the bare
 * `node:http` server sending the same bytes, counted by valgrind's callgrind. The CPU-time figures of the
 * bench move by more than a change to the hot path is worth on a shared machine; an instruction count
 * repeats to within a fraction of a percent, so a step of a few percent can be measured. Each server runs
 * under callgrind; after `--warmup` keep-alive requests (default 8,000, past the compiler's work on the hot path) the counters are zeroed, then
 * `--requests` (default 4,000) are counted, every thread included (V8's compiler and GC threads too).
 * Flags after `--` are passed to `keyward serve`. Needs valgrind (Debian: `apt-get install valgrind`). Writes bench/results/instructions.{json,md}.
 */
import { spawn, execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { request, Agent } from "node:http";
import { join } from "node:path";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { BENCH_KEY, BENCH_STORE, BENCH_VALUE, secretsDocument, Workspace } from "./lib/fixtures.js";
import { PATHS } from "./lib/processes.js";

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i > 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name}: a positive whole number, please`);
  return value;
}

const WARMUP = option("warmup", 8000);
const REQUESTS = option("requests", 4000);
const PATH = `/v1.0/secrets/${BENCH_STORE}/${BENCH_KEY}`;
const RESULTS = fileURLToPath(new URL("../../bench/results/", import.meta.url));

interface Counted {
  instructionsPerRequest: number;
  body: string;
}

function get(port: number, agent: Agent): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    request({ port, host: "127.0.0.1", path: PATH, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`status ${res.statusCode}`)),
      );
    })
      .on("error", reject)
      .end();
  });
}

/** Runs `node args` under callgrind, waits for `ready` to give the port, and counts the measured requests. */
async function count(name: string, args: string[], ready: RegExp, dir: string): Promise<Counted> {
  const out = join(dir, `${name}.callgrind`);
  const child = spawn(
    "valgrind",
    ["--tool=callgrind", "--smc-check=all", `--callgrind-out-file=${out}`, process.execPath, ...args],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let text = "";
  child.stdout.on("data", (d: Buffer) => (text += d.toString()));
  child.stderr.on("data", (d: Buffer) => (text += d.toString()));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setInterval(() => {
        const m = ready.exec(text);
        if (m) {
          clearInterval(timer);
          resolve(Number(m[1]));
        }
      }, 100);
      void exited.then(() => {
        clearInterval(timer);
        reject(new Error(`${name} exited under valgrind:\n${text.slice(-2000)}`));
      });
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    let body = "";
    for (let i = 0; i < WARMUP; i++) body = (await get(port, agent)).toString("base64");
    execFileSync("callgrind_control", ["--zero", String(child.pid)], { stdio: "ignore" });
    for (let i = 0; i < REQUESTS; i++) await get(port, agent);
    execFileSync("callgrind_control", ["--dump", String(child.pid)], { stdio: "ignore" });
    agent.destroy();
    // The dump after zeroing holds the measured requests; the one at exit, only the shutdown.
    let measured = 0;
    for (const f of readdirSync(dir).filter((f) => f.startsWith(`${name}.callgrind`))) {
      const m = /^(?:summary|totals): (\d+)/m.exec(readFileSync(join(dir, f), "utf8"));
      if (m) measured = Math.max(measured, Number(m[1]));
    }
    return { instructionsPerRequest: Math.round(measured / REQUESTS), body };
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
}

async function main(): Promise<void> {
  try {
    execFileSync("callgrind_control", ["--help"], { stdio: "ignore" });
  } catch {
    throw new Error("valgrind is not installed (Debian: apt-get install valgrind)");
  }
  const ws = new Workspace();
  try {
    const resources = ws.resources("instructions", {
      [BENCH_STORE]: secretsDocument(20, { [BENCH_KEY]: BENCH_VALUE }),
    });
    const serve = ["serve", "--app-id", "bench", "--resources-path", resources];
    for (const flag of ["--dapr-http-port", "--dapr-grpc-port", "--metrics-port"]) serve.push(flag, "0");
    // Flags after `--` go to keyward serve, to count a configuration (`-- --enable-metrics=false`).
    const dashes = process.argv.indexOf("--");
    if (dashes > 0) serve.push(...process.argv.slice(dashes + 1));
    const keyward = await count("keyward", [PATHS.keywardMain, ...serve], /http_port=(\d+)/, ws.dir);
    const spec = { status: 200, contentType: "application/json", body: keyward.body };
    const bare = await count("bare", [PATHS.bareHttp, JSON.stringify(spec)], /ready port=(\d+)/, ws.dir);
    if (bare.body !== keyward.body)
      throw new Error("Keyward and the bare server answered differently; refusing to compare");
    const meta = {
      date: new Date().toISOString(),
      commit: execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim(),
      node: process.version,
      cpu: cpus()[0]?.model ?? "",
      loadAverage: loadavg().map((v) => Number(v.toFixed(2))),
      warmup: WARMUP,
      requests: REQUESTS,
    };
    const ratio = bare.instructionsPerRequest / keyward.instructionsPerRequest;
    const md =
      `Measured ${meta.date.slice(0, 16).replace("T", " ")} UTC at commit \`${meta.commit}\`, Node ${meta.node}, ` +
      `callgrind; ${REQUESTS} keep-alive requests counted after ${WARMUP}, every thread.\n\n` +
      `| HTTP GetSecret | Keyward | Bare node:http | Bare / Keyward |\n| --- | --: | --: | --: |\n` +
      `| Instructions per request | ${keyward.instructionsPerRequest.toLocaleString("en-US")} | ` +
      `${bare.instructionsPerRequest.toLocaleString("en-US")} | ${ratio.toFixed(2)}x |\n`;
    const results = RESULTS;
    if (existsSync(results)) {
      writeFileSync(
        join(results, "instructions.json"),
        JSON.stringify({ meta, keyward: keyward.instructionsPerRequest, bare: bare.instructionsPerRequest }, null, 2) +
          "\n",
      );
      writeFileSync(join(results, "instructions.md"), md);
    }
    process.stdout.write(md);
  } finally {
    ws.remove();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:instructions: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
