/** @module `keyward validate`: load resources and configuration as `serve` would, report every problem. */
import { checkWrittenComponent } from "../core/component-check.js";
import { orderByReferences } from "../core/references.js";
import { buildPolicies } from "../core/resiliency.js";
import { loadConfiguration, unmatchedScopeWarnings, type RuntimeConfiguration } from "../resources/configuration.js";
import { loadResources } from "../resources/load.js";
import { bool, list, parseFlags, str, UsageError, type FlagSpec } from "./flags.js";

const FLAGS: readonly FlagSpec[] = [
  { name: "app-id", kind: "string", value: "ID", help: "" },
  { name: "resources-path", aliases: ["components-path"], kind: "list", value: "DIR", help: "" },
  { name: "config", kind: "list", value: "FILE", help: "" },
  { name: "mode", kind: "string", default: "standalone", value: "MODE", help: "" },
  { name: "strict", kind: "bool", default: "false", help: "" },
];

export const VALIDATE_HELP = `Usage: keyward validate --app-id ID --resources-path DIR [--config FILE] [--strict]

Loads the resources folders and Configuration files exactly as 'keyward serve' would, without
initialising any store or contacting any backend, checks every component's metadata against its
store's declared fields, and prints every problem with its file and line. Exits 1 when there is any.
Warnings (unknown metadata names, skipped documents, a secret scope for no store) are problems too
with --strict, as they are for 'keyward serve --strict'.
`;

export async function validate(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { flags } = parseFlags(argv, FLAGS);
  const appId = str(flags, FLAGS, "app-id") || env.APP_ID || "";
  if (appId === "") throw new UsageError("--app-id is required");
  const strict = bool(flags, FLAGS, "strict");
  const problems: string[] = [];
  const warnings: string[] = [];
  let configuration: RuntimeConfiguration | undefined;
  try {
    configuration = await loadConfiguration(list(flags, "config"), env);
  } catch (err) {
    problems.push(`configuration: ${(err as Error).message}`);
  }
  try {
    const res = await loadResources(list(flags, "resources-path"), { appId, namespace: env.NAMESPACE ?? "" });
    problems.push(...res.problems);
    warnings.push(...res.warnings.filter((w) => !res.problems.includes(w)));
    const k8s = str(flags, FLAGS, "mode") === "kubernetes";
    const { problems: refs } = orderByReferences(
      res.secretStores,
      k8s ? "kubernetes" : "",
      new Set(k8s ? ["kubernetes"] : []),
    );
    for (const [name, why] of refs) {
      const c = res.secretStores.find((s) => s.name === name);
      problems.push(`${c ? `${c.file}:${c.line}: ` : ""}component ${name}: ${why}`);
    }
    try {
      buildPolicies(
        res.others,
        appId,
        res.secretStores.map((c) => c.name),
      );
    } catch (err) {
      problems.push(`resiliency: ${(err as Error).message}`);
    }
    for (const c of res.secretStores) {
      const found = await checkWrittenComponent(c, env);
      problems.push(...found.problems);
      warnings.push(...found.warnings);
    }
    const names = res.secretStores.map((c) => c.name);
    if (configuration)
      warnings.push(...unmatchedScopeWarnings(configuration.scopes, k8s ? [...names, "kubernetes"] : names));
    process.stdout.write(`${names.length} secret store component(s): ${names.join(", ") || "none"}\n`);
  } catch (err) {
    problems.push((err as Error).message);
  }
  if (strict) problems.push(...warnings.map((w) => `${w} (--strict)`));
  else for (const w of warnings) process.stdout.write(`warning: ${w}\n`);
  for (const p of problems) process.stdout.write(`problem: ${p}\n`);
  process.stdout.write(problems.length ? `${problems.length} problem(s)\n` : "ok\n");
  return problems.length ? 1 : 0;
}
