/** @module `keyward serve`: start the runtime, then the servers; stop them gracefully on signal. */
import type { Server as HttpServer } from "node:http";
import { createServer } from "node:http";
import { isIP, type AddressInfo } from "node:net";
import { LazyGrpcPort } from "../api/grpc-listener.js";
import { createHttpApi } from "../api/http/server.js";
import type { SidecarState } from "../api/sidecar-api.js";
import type { Tracing } from "../tracing/types.js";
import { InFlightCalls } from "../core/cancellation.js";
import { watchResources, type ResourceWatcher } from "../core/hot-reload.js";
import { inClusterAvailable } from "../core/kubernetes-mode.js";
import { Runtime, StartupError } from "../core/runtime.js";
import { AuditLog } from "../audit/audit-log.js";
import { createLogger, type Logger } from "../log.js";
import { SidecarMetrics } from "../metrics.js";
import { bool, flagHelp, list, parseFlags, parseQuantity, port, str, UsageError, type ParsedFlags } from "./flags.js";
import { checkIgnoredFlags } from "./daprd-flags.js";
import { SERVE_FLAGS, SERVE_USAGE } from "./serve-flags.js";

/** How long calls cancelled at the end of the grace period get to send their error answer. */
const CANCEL_ANSWER_MS = 200;

const LEVELS = new Set(["debug", "info", "warn", "error", "fatal"]);

export interface ServeSettings {
  appId: string;
  resourcesPaths: string[];
  configFiles: string[];
  httpPort: number;
  grpcPort: number;
  listen: string[];
  metricsPort: number;
  metricsAddress: string;
  metrics: boolean;
  logLevel: "debug" | "info" | "warn" | "error" | "fatal";
  logJson: boolean;
  apiLogging: boolean;
  /** `--audit-log`: a file path, or "-" for stdout. */
  auditLog?: string;
  auditLogRequired: boolean;
  graceSeconds: number;
  maxBodyBytes: number;
  kubernetesMode: boolean;
  /** `--kubeconfig`, for Kubernetes stores without kubeconfigPath. */
  kubeconfig?: string;
  disableBuiltinKubernetesStore: boolean;
  /** daprd flags given that mean nothing to Keyward, as `--name`: named once at start-up. */
  ignoredFlags: string[];
  strict: boolean;
}

export function serveSettings(argv: readonly string[], env: NodeJS.ProcessEnv): ServeSettings | "help" | "version" {
  const { flags, rest } = parseFlags(argv, SERVE_FLAGS);
  if (flags.get("help") === true) return "help";
  if (flags.get("version") === true || flags.get("build-info") === true) return "version";
  if (str(flags, SERVE_FLAGS, "unix-domain-socket") !== "")
    throw new UsageError("--unix-domain-socket is not supported: Keyward serves its APIs on TCP ports only");
  const ignoredFlags = checkIgnoredFlags(flags);
  if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
  const appId = str(flags, SERVE_FLAGS, "app-id") || env.APP_ID || "";
  if (appId === "") throw new UsageError("--app-id is required (the app's id; component scopes use it)");
  const level = str(flags, SERVE_FLAGS, "log-level").toLowerCase();
  if (!LEVELS.has(level))
    throw new UsageError(
      `invalid value ${JSON.stringify(level)} for --log-level: use debug, info, warn, error or fatal`,
    );
  const mode = str(flags, SERVE_FLAGS, "mode").toLowerCase();
  if (mode !== "" && mode !== "standalone" && mode !== "kubernetes")
    throw new UsageError(`invalid value ${JSON.stringify(mode)} for --mode: use standalone or kubernetes`);
  const grace = Number(str(flags, SERVE_FLAGS, "dapr-graceful-shutdown-seconds"));
  if (grace < 0) throw new UsageError("--dapr-graceful-shutdown-seconds cannot be negative");
  const listen = str(flags, SERVE_FLAGS, "dapr-listen-addresses")
    .split(",")
    .map((a) => listenAddress(a, "dapr-listen-addresses"))
    .filter(Boolean);
  if (listen.length === 0) throw new UsageError("--dapr-listen-addresses needs at least one address");
  const auditLog = str(flags, SERVE_FLAGS, "audit-log");
  const auditLogRequired = bool(flags, SERVE_FLAGS, "audit-log-required");
  if (flags.has("audit-log") && auditLog === "")
    throw new UsageError("--audit-log needs a file path (or - for stdout)");
  if (auditLogRequired && auditLog === "") throw new UsageError("--audit-log-required needs --audit-log PATH");
  const metricsAddress = listenAddress(str(flags, SERVE_FLAGS, "metrics-listen-address"), "metrics-listen-address");
  if (metricsAddress === "") throw new UsageError("--metrics-listen-address needs an address");
  return {
    appId,
    resourcesPaths: list(flags, "resources-path"),
    configFiles: list(flags, "config"),
    httpPort: port(flags, SERVE_FLAGS, "dapr-http-port"),
    grpcPort: port(flags, SERVE_FLAGS, "dapr-grpc-port"),
    listen,
    metricsPort: port(flags, SERVE_FLAGS, "metrics-port"),
    metricsAddress,
    metrics: bool(flags, SERVE_FLAGS, "enable-metrics"),
    logLevel: level as ServeSettings["logLevel"],
    logJson: bool(flags, SERVE_FLAGS, "log-as-json"),
    apiLogging: bool(flags, SERVE_FLAGS, "enable-api-logging"),
    ...(auditLog ? { auditLog } : {}),
    auditLogRequired,
    graceSeconds: grace,
    maxBodyBytes: maxBodyBytes(flags),
    kubernetesMode: mode === "kubernetes" || (mode === "" && inClusterAvailable(env)),
    ...(str(flags, SERVE_FLAGS, "kubeconfig") ? { kubeconfig: str(flags, SERVE_FLAGS, "kubeconfig") } : {}),
    disableBuiltinKubernetesStore: bool(flags, SERVE_FLAGS, "disable-builtin-k8s-secret-store"),
    ignoredFlags,
    strict: bool(flags, SERVE_FLAGS, "strict"),
  };
}

/** --max-body-size wins over daprd's older --dapr-http-max-request-size (in MB), as in daprd. */
function maxBodyBytes(flags: ParsedFlags): number {
  const mb = flags.get("dapr-http-max-request-size");
  if (!flags.has("max-body-size") && typeof mb === "string") {
    if (Number(mb) <= 0) throw new UsageError("invalid value for --dapr-http-max-request-size: must be more than 0");
    return Number(mb) * 1024 * 1024;
  }
  return parseQuantity(str(flags, SERVE_FLAGS, "max-body-size"), "max-body-size");
}

/** An IP address (IPv6 with or without brackets) or a host name; "" for an empty list item. */
function listenAddress(raw: string, flag: string): string {
  const a = raw.trim().replace(/^\[(.*)\]$/, "$1");
  if (a === "" || isIP(a) !== 0) return a;
  if (/^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(a)) return a;
  throw new UsageError(`invalid address ${JSON.stringify(raw.trim())} in --${flag}: use an IP address or a host name`);
}

export function serveHelp(): string {
  return SERVE_USAGE.replace("%FLAGS%", flagHelp(SERVE_FLAGS));
}

function listenHttp(server: HttpServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function serve(settings: ServeSettings, env: NodeJS.ProcessEnv): Promise<void> {
  const startedAt = performance.now();
  const log = createLogger({ level: settings.logLevel, json: settings.logJson, appId: settings.appId });
  const namespace = env.NAMESPACE ?? "";
  const metrics = settings.metrics ? new SidecarMetrics(settings.appId, namespace) : undefined;
  let audit: AuditLog | undefined;
  try {
    if (settings.auditLog !== undefined)
      audit = new AuditLog(settings.auditLog, settings.auditLogRequired, settings.appId, log, metrics);
  } catch (err) {
    log.fatal((err as Error).message);
    process.exit(1);
  }
  // As daprd in Kubernetes mode: without resources folders, resources come from the API server and
  // --config names a Configuration resource there.
  const fromCluster = settings.kubernetesMode && settings.resourcesPaths.length === 0;
  const runtime = new Runtime({
    appId: settings.appId,
    resourcesPaths: settings.resourcesPaths,
    configFiles: fromCluster ? [] : settings.configFiles,
    ...(fromCluster ? { fromCluster: { configName: settings.configFiles.at(-1) } } : {}),
    kubernetesMode: settings.kubernetesMode,
    kubeconfig: settings.kubeconfig,
    disableBuiltinKubernetesStore: settings.disableBuiltinKubernetesStore,
    namespace,
    env,
    log,
    metrics,
    strict: settings.strict,
  });
  log.info({ mode: settings.kubernetesMode ? "kubernetes" : "standalone" }, "starting Keyward");
  log.debug(
    {
      resources_paths: settings.resourcesPaths.join(",") || "none",
      config_files: settings.configFiles.join(",") || "none",
      listen: settings.listen.join(","),
      api_token: env.DAPR_API_TOKEN ? "set" : "unset",
      max_body_bytes: settings.maxBodyBytes,
    },
    "settings",
  );
  if (settings.ignoredFlags.length > 0)
    log.info(
      `daprd flags accepted and ignored (no meaning for a secrets sidecar): ${settings.ignoredFlags.join(", ")}`,
    );
  try {
    await runtime.start();
  } catch (err) {
    log.fatal(err instanceof StartupError ? err.message : `start-up failed: ${(err as Error).message}`);
    // Exit now: a store whose init timed out may still hold the event loop open (a socket, a FIFO read).
    process.exit(1);
  }

  // Loaded only when the Configuration has spec.tracing: the OpenTelemetry SDK costs start-up time and memory.
  let tracing: Tracing | undefined;
  const tracingSettings = runtime.configuration.tracing;
  if (tracingSettings) {
    try {
      const { startTracing } = await import("../tracing/tracer.js");
      tracing = await startTracing(tracingSettings, settings.appId, log);
    } catch (err) {
      log.fatal(`tracing: ${(err as Error).message}`);
      process.exit(1);
    }
  }

  const httpServers: HttpServer[] = [];
  let grpc: LazyGrpcPort | undefined;
  let metricsServer: HttpServer | undefined;
  let watcher: ResourceWatcher | undefined;
  let shutdownStarted = false;
  const state: SidecarState = {
    appId: settings.appId,
    runtime,
    token: env.DAPR_API_TOKEN ? env.DAPR_API_TOKEN : undefined,
    shuttingDown: false,
    calls: new InFlightCalls(),
    extendedMetadata: new Map(),
    metrics,
    ...(audit ? { audit } : {}),
    ...(tracing ? { tracing } : {}),
    requestShutdown: (reason) => {
      if (shutdownStarted) return;
      shutdownStarted = true;
      void shutdown(reason);
    },
  };

  const shutdown = async (reason: string) => {
    state.shuttingDown = true;
    watcher?.close();
    // Event streams never end on their own: end them now, so the servers can close.
    runtime.notifications.close();
    log.info({ reason }, `shutting down: in-flight requests get up to ${settings.graceSeconds}s`);
    const force = setTimeout(() => {
      log.warn(`grace period over: cancelling ${state.calls.size} store call(s), closing the remaining connections`);
      // Cancelled calls stop their store requests and retries and answer "context canceled" before the
      // connections go; a store that ignores its signal gets CANCEL_ANSWER_MS.
      void state.calls.abortAll(CANCEL_ANSWER_MS).then(() => {
        for (const s of httpServers) s.closeAllConnections();
        grpc?.destroy();
        void Promise.all([runtime.close(), tracing?.shutdown()]).finally(() => process.exit(0));
        setTimeout(() => process.exit(0), 500).unref();
      });
    }, settings.graceSeconds * 1000);
    force.unref();
    // Keep-alive sockets go idle after their last response; close them as they do, so clients are
    // not cut off mid-request and shutdown does not wait for their keep-alive timeout.
    const idleSweep = setInterval(() => httpServers.forEach((s) => s.closeIdleConnections()), 50);
    await Promise.all([
      ...httpServers.map(
        (s) =>
          new Promise<void>((r) => {
            s.close(() => r());
            s.closeIdleConnections();
          }),
      ),
      grpc?.close(),
      new Promise<void>((r) => (metricsServer ? metricsServer.close(() => r()) : r())),
    ]);
    clearInterval(idleSweep);
    await runtime.close();
    // Spans still buffered go to the collector before the process ends.
    await tracing?.shutdown();
    clearTimeout(force);
    log.info("Keyward stopped");
    process.exit(0);
  };

  // daprd 1.18 reloads components by default; a Configuration can turn it off with feature HotReload: false.
  const watched = settings.resourcesPaths.length + settings.configFiles.length;
  if (!fromCluster && watched > 0 && runtime.configuration.features.get("HotReload") !== false) {
    watcher = watchResources(settings.resourcesPaths, settings.configFiles, () => runtime.reload(), log);
  }

  try {
    let httpPort = settings.httpPort;
    let grpcPort = settings.grpcPort;
    const grpcOptions = { state, maxMessageBytes: settings.maxBodyBytes, apiLogging: settings.apiLogging, log };
    grpc = new LazyGrpcPort(async () => (await import("../api/grpc/server.js")).grpcConnectionSink(grpcOptions), log);
    for (const host of settings.listen) {
      const server = createHttpApi({
        state,
        maxBodyBytes: settings.maxBodyBytes,
        apiLogging: settings.apiLogging,
        log,
      });
      httpServers.push(server);
      httpPort = await listenHttp(server, httpPort, host);
      grpcPort = await grpc.listen(host, grpcPort);
    }
    let metricsPort: number | undefined;
    if (metrics) metricsServer = createMetricsServer(metrics, log);
    if (metricsServer) metricsPort = await listenHttp(metricsServer, settings.metricsPort, settings.metricsAddress);
    // Before the ready line: a supervisor may stop the sidecar the moment it reads it (stdout to a pipe is
    // written synchronously, so the rest of start-up may not have run yet).
    // logrotate renames the file and sends SIGHUP; without an audit log SIGHUP keeps Node's default (exit).
    if (audit) process.on("SIGHUP", () => audit.reopen());
    process.on("SIGTERM", () => state.requestShutdown("SIGTERM"));
    process.on("SIGINT", () => state.requestShutdown("SIGINT"));
    announce(log, settings, runtime, httpPort, grpcPort, metricsPort, performance.now() - startedAt);
    metrics?.exposition().catch((err: unknown) => log.error(`metrics: ${(err as Error).message}`));
  } catch (err) {
    log.fatal(`cannot listen: ${(err as Error).message}`);
    for (const s of httpServers) s.close();
    grpc?.destroy();
    metricsServer?.close();
    await runtime.close();
    process.exit(1);
  }
}

function createMetricsServer(metrics: SidecarMetrics, log: Logger): HttpServer {
  return createServer((req, res) => {
    if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
      return;
    }
    metrics.render().then(
      ({ contentType, text }) => res.writeHead(200, { "Content-Type": contentType }).end(text),
      (err: unknown) => {
        log.error(`metrics: ${(err as Error).message}`);
        res.writeHead(500).end();
      },
    );
  });
}

function announce(
  log: Logger,
  s: ServeSettings,
  runtime: Runtime,
  httpPort: number,
  grpcPort: number,
  metricsPort: number | undefined,
  ms: number,
): void {
  const host = s.listen[0] === "0.0.0.0" || s.listen[0] === "::" ? "127.0.0.1" : s.listen[0]!;
  const hostPart = host.includes(":") ? `[${host}]` : host;
  log.info(
    {
      http_port: httpPort,
      grpc_port: grpcPort,
      metrics_port: metricsPort ?? "off",
      stores: runtime.stores.size,
      elapsed_ms: Math.round(ms),
    },
    `dapr initialized. Status: Running. Init Elapsed ${Math.round(ms)}ms`,
  );
  for (const name of runtime.stores.keys()) {
    log.info(
      `query a secret: curl http://${hostPart}:${httpPort}/v1.0/secrets/${encodeURIComponent(name)}/<secret-name>`,
    );
  }
}
