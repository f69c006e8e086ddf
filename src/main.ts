/** @module bin entry: `keyward serve`, `keyward run`, `keyward get`, `keyward validate`, `keyward --help`. */
import { UsageError } from "./cli/flags.js";
import { serve, serveHelp, serveSettings } from "./cli/serve.js";
import { KEYWARD_VERSION } from "./api/sidecar-api.js";

const HELP = `Keyward ${KEYWARD_VERSION}: a secrets sidecar that speaks daprd's secrets API.

Usage:
  keyward serve [flags]      run the sidecar (keyward serve --help for flags)
  keyward run [flags] -- CMD start a sidecar, then CMD with it; dapr run's flags (keyward run --help)
  keyward get STORE NAME     print one secret (keyward get --help)
  keyward validate [flags]   check resources and configuration files without starting
  keyward injector [flags]   the Kubernetes sidecar injector webhook (keyward injector --help)
  keyward --version
`;

async function main(argv: string[]): Promise<number | undefined> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === "--version" || command === "version") {
    process.stdout.write(`${KEYWARD_VERSION}\n`);
    return 0;
  }
  try {
    if (command === "serve") {
      const settings = serveSettings(rest, process.env);
      if (settings === "help") {
        process.stdout.write(serveHelp());
        return 0;
      }
      if (settings === "version") {
        process.stdout.write(`${KEYWARD_VERSION}\n`);
        return 0;
      }
      await serve(settings, process.env);
      return undefined;
    }
    // The other commands load on use, so a sidecar start compiles none of their code (`run`'s templating
    // engine alone is a fifth of the bundle's entry chunk).
    if (command === "run") {
      const { run } = await import("./cli/run/run-command.js");
      return await run(rest, process.env);
    }
    if (command === "get") {
      const { get } = await import("./cli/get.js");
      const code = await get(rest, process.env);
      // A store client may keep a socket open; a one-shot command must not wait for it.
      setTimeout(() => process.exit(code), 200).unref();
      return code;
    }
    if (command === "injector") {
      const { injector } = await import("./cli/injector.js");
      return await injector(rest, process.env);
    }
    if (command === "validate") {
      const { validate, VALIDATE_HELP } = await import("./cli/validate.js");
      if (rest.includes("--help") || rest.includes("-h")) {
        process.stdout.write(VALIDATE_HELP);
        return 0;
      }
      return await validate(rest, process.env);
    }
    throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(
        `keyward: ${err.message}\nRun 'keyward ${["validate", "run", "get", "injector"].includes(command) ? command : "serve"} --help' for usage.\n`,
      );
      return 2;
    }
    throw err;
  }
}

// The AWS SDK warns about Node versions it will drop, which a user of Keyward's pinned SDK cannot act on. The
// process entry sets it, so no store writes the environment it is handed.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

// A sidecar must outlive a bug in one request: log and carry on rather than crash the app's pod.
process.on("unhandledRejection", (reason) => {
  process.stderr.write(`keyward: unhandled rejection: ${reason instanceof Error ? reason.message : "unknown"}\n`);
});

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`keyward: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
