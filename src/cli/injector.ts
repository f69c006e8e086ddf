/**
 * @module `keyward injector`: the HTTPS mutating admission webhook that adds the Keyward sidecar to
 * annotated pods. The certificate and key are read again whenever their folder changes (cert-manager and
 * Secret volumes swap a `..data` link), and a failed read keeps the pair in use.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { dirname } from "node:path";
import { createSecureContext, type SecureContext } from "node:tls";
import { createLogger } from "../log.js";
import { KEYWARD_VERSION } from "../version.js";
import { clusterHasNativeSidecars } from "../injector/cluster-version.js";
import { webhookHandler } from "../injector/webhook.js";
import type { InjectorSettings } from "../injector/sidecar.js";
import { watchFolders } from "../watch.js";
import { bool, flagHelp, parseFlags, port, str, UsageError, type FlagSpec } from "./flags.js";

const FLAGS: readonly FlagSpec[] = [
  { name: "tls-cert-file", kind: "string", value: "FILE", help: "PEM certificate (chain) the webhook serves" },
  { name: "tls-key-file", kind: "string", value: "FILE", help: "PEM private key of the certificate" },
  { name: "port", kind: "int", default: "4000", value: "PORT", help: "HTTPS port" },
  { name: "listen-address", kind: "string", default: "0.0.0.0", value: "ADDR", help: "address to listen on" },
  {
    name: "image",
    kind: "string",
    default: `keyward:${KEYWARD_VERSION}`,
    value: "IMAGE",
    help: "the sidecar image added to pods",
  },
  {
    name: "native-sidecars",
    kind: "string",
    default: "auto",
    value: "MODE",
    help: "true: an init container with restartPolicy Always; false: a regular container; auto: true when the API server is 1.29 or later",
  },
  {
    name: "dapr-annotations",
    kind: "bool",
    default: "false",
    help: "honour dapr.io/* annotations too (keyward.io/* wins)",
  },
  {
    name: "allow-image-annotation",
    kind: "bool",
    default: "false",
    help: "let pods choose the sidecar image with keyward.io/image",
  },
  { name: "log-level", kind: "string", default: "info", value: "LEVEL", help: "debug, info, warn, error or fatal" },
  { name: "log-as-json", kind: "bool", default: "false", help: "print logs as JSON lines" },
  { name: "help", aliases: ["h"], kind: "bool", help: "show this help" },
];

export const INJECTOR_HELP = `Usage: keyward injector --tls-cert-file F --tls-key-file F [flags]

Serves the mutating admission webhook (POST /mutate, GET /healthz over HTTPS) that adds the Keyward sidecar
to pods annotated keyward.io/enabled: "true".

Flags:
${flagHelp(FLAGS)}
`;

export async function injector(argv: string[], env: NodeJS.ProcessEnv): Promise<number | undefined> {
  const { flags, rest } = parseFlags(argv, FLAGS);
  if (bool(flags, FLAGS, "help")) {
    process.stdout.write(INJECTOR_HELP);
    return 0;
  }
  if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
  const certFile = str(flags, FLAGS, "tls-cert-file");
  const keyFile = str(flags, FLAGS, "tls-key-file");
  if (!certFile || !keyFile) throw new UsageError("--tls-cert-file and --tls-key-file are required");
  const native = str(flags, FLAGS, "native-sidecars").toLowerCase();
  if (!["auto", "true", "false"].includes(native))
    throw new UsageError(`invalid value ${JSON.stringify(native)} for --native-sidecars: use auto, true or false`);
  const level = str(flags, FLAGS, "log-level");
  if (!["debug", "info", "warn", "error", "fatal"].includes(level))
    throw new UsageError(`invalid value ${JSON.stringify(level)} for --log-level`);
  const log = createLogger({
    level: level as "info",
    json: bool(flags, FLAGS, "log-as-json"),
    appId: "keyward-injector",
  });
  let context: SecureContext;
  try {
    context = loadPair(certFile, keyFile);
  } catch (err) {
    log.fatal(`cannot load the TLS certificate and key: ${(err as Error).message}`);
    return 1;
  }
  const settings: InjectorSettings = {
    image: str(flags, FLAGS, "image"),
    nativeSidecars: native === "auto" ? await clusterHasNativeSidecars(env, log) : native === "true",
    daprAnnotations: bool(flags, FLAGS, "dapr-annotations"),
    allowImageOverride: bool(flags, FLAGS, "allow-image-annotation"),
  };
  const server: Server = createServer(
    {
      cert: readFileSync(certFile),
      key: readFileSync(keyFile),
      SNICallback: (_name, cb) => cb(null, context),
      minVersion: "TLSv1.2",
    },
    webhookHandler(settings, log),
  );
  server.on("tlsClientError", () => undefined);
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  const watcher = watchFolders({
    dirs: [dirname(certFile), dirname(keyFile)],
    onChange: async () => {
      context = loadPair(certFile, keyFile);
      server.setSecureContext({ cert: readFileSync(certFile), key: readFileSync(keyFile) });
      log.info("TLS certificate and key reloaded");
    },
    onError: (m) => log.error(`TLS certificate reload failed, the previous pair stays: ${m}`),
  });
  const host = str(flags, FLAGS, "listen-address");
  const listenPort = port(flags, FLAGS, "port");
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listenPort, host, () => resolve());
  }).catch((err: unknown) => {
    log.fatal(`cannot listen: ${(err as Error).message}`);
    process.exit(1);
  });
  const address = server.address();
  log.info(
    {
      port: typeof address === "object" && address ? address.port : listenPort,
      image: settings.image,
      native_sidecars: settings.nativeSidecars,
      dapr_annotations: settings.daprAnnotations,
    },
    "keyward injector listening",
  );
  const stop = () => {
    watcher.close();
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  return undefined;
}

function loadPair(certFile: string, keyFile: string): SecureContext {
  return createSecureContext({ cert: readFileSync(certFile), key: readFileSync(keyFile) });
}
