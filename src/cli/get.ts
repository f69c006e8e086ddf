/**
 * @module `keyward get`: load the components as `serve` would, read one secret through the same
 * service (scopes and resiliency apply), print it. For scripts and operators; logs go to stderr.
 */
import { ApiError } from "../errors/catalogue.js";
import { Runtime, StartupError } from "../core/runtime.js";
import { createLogger } from "../log.js";
import { inClusterAvailable } from "../core/kubernetes-mode.js";
import { list, parseFlags, str, UsageError, type FlagSpec } from "./flags.js";
import { pickKey, SecretReadError } from "./run/secret-source.js";

const FLAGS: readonly FlagSpec[] = [
  { name: "resources-path", aliases: ["components-path"], kind: "list", value: "DIR", help: "" },
  { name: "config", kind: "list", value: "FILE", help: "" },
  { name: "app-id", kind: "string", value: "ID", help: "" },
  { name: "key", kind: "string", value: "K", help: "" },
  { name: "output", aliases: ["o"], kind: "string", default: "json", value: "FORMAT", help: "" },
  { name: "mode", kind: "string", default: "", value: "MODE", help: "" },
  { name: "log-level", kind: "string", default: "warn", value: "LEVEL", help: "" },
  { name: "help", aliases: ["h"], kind: "bool", help: "" },
];

export const GET_HELP = `Usage: keyward get --resources-path DIR [--config FILE] STORE NAME [--key K] [--output json|value]

Loads the components as 'keyward serve' would, reads secret NAME from store STORE through the same
service (Configuration secret scopes apply) and prints it:
  --output json    the secret's key/value map as JSON, as GET /v1.0/secrets/STORE/NAME answers (default)
  --output value   one value, byte for byte with no newline added: the one named by --key, or the only
                   key of a single-key secret
  --key K          only key K
  --app-id ID      the app id component scopes are checked against (default: env APP_ID, else "keyward")
  --mode MODE      standalone or kubernetes (as for serve)
  --log-level L    logs go to stderr; default warn
Exits 1 with the API's message when the secret cannot be read, 2 on a usage error.
`;

export async function get(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { flags, rest } = parseFlags(argv, FLAGS);
  if (flags.get("help") === true) {
    process.stdout.write(GET_HELP);
    return 0;
  }
  if (rest.length !== 2) throw new UsageError("give the store and the secret name: keyward get STORE NAME");
  const [store, name] = rest as [string, string];
  const output = str(flags, FLAGS, "output");
  if (output !== "json" && output !== "value")
    throw new UsageError(`invalid value ${JSON.stringify(output)} for --output: use json or value`);
  const level = str(flags, FLAGS, "log-level");
  if (!["debug", "info", "warn", "error", "fatal"].includes(level))
    throw new UsageError(`invalid value ${JSON.stringify(level)} for --log-level`);
  const mode = str(flags, FLAGS, "mode");
  if (mode !== "" && mode !== "standalone" && mode !== "kubernetes")
    throw new UsageError(`invalid value ${JSON.stringify(mode)} for --mode: use standalone or kubernetes`);
  const appId = str(flags, FLAGS, "app-id") || env.APP_ID || "keyward";
  const log = createLogger({
    level: level as "warn",
    json: false,
    appId,
    destination: process.stderr,
  });
  const runtime = new Runtime({
    appId,
    resourcesPaths: list(flags, "resources-path"),
    configFiles: list(flags, "config"),
    kubernetesMode: mode === "kubernetes" || (mode === "" && inClusterAvailable(env)),
    namespace: env.NAMESPACE ?? "",
    env,
    log,
  });
  try {
    await runtime.start();
  } catch (err) {
    process.stderr.write(`keyward: ${err instanceof StartupError ? err.message : (err as Error).message}\n`);
    return 1;
  }
  try {
    const data = (await runtime.service.getSecret(store, name, {})) ?? {};
    const key = str(flags, FLAGS, "key");
    let text: string;
    if (output === "value") text = pickKey({ store, name, key }, data, "--key");
    else if (key !== "") text = `${JSON.stringify({ [key]: pickKey({ store, name, key }, data, "--key") })}\n`;
    else text = `${JSON.stringify(data)}\n`;
    await new Promise<void>((resolve) => process.stdout.write(text, () => resolve()));
    return 0;
  } catch (err) {
    if (err instanceof ApiError) process.stderr.write(`keyward: ${err.code}: ${err.message}\n`);
    else if (err instanceof SecretReadError) process.stderr.write(`keyward: ${err.message}\n`);
    else throw err;
    return 1;
  } finally {
    await runtime.close();
  }
}
