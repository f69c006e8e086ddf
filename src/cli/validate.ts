/** @module `keyward validate`: load resources and configuration as `serve` would, report every problem. */
import { loadConfiguration } from "../resources/configuration.js";
import { loadResources } from "../resources/load.js";
import { orderByReferences } from "../core/references.js";
import { buildPolicies } from "../core/resiliency.js";
import { findStoreDefinition } from "../stores/registry.js";
import { list, parseFlags, str, UsageError, type FlagSpec } from "./flags.js";

const FLAGS: readonly FlagSpec[] = [
  { name: "app-id", kind: "string", value: "ID", help: "" },
  { name: "resources-path", aliases: ["components-path"], kind: "list", value: "DIR", help: "" },
  { name: "config", kind: "list", value: "FILE", help: "" },
  { name: "mode", kind: "string", default: "standalone", value: "MODE", help: "" },
];

export const VALIDATE_HELP = `Usage: keyward validate --app-id ID --resources-path DIR [--config FILE]

Loads the resources folders and Configuration files exactly as 'keyward serve' would, without
initialising any store, and prints every problem with its file and line. Exits 1 when there is any.
`;

export async function validate(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { flags } = parseFlags(argv, FLAGS);
  const appId = str(flags, FLAGS, "app-id") || env.APP_ID || "";
  if (appId === "") throw new UsageError("--app-id is required");
  const problems: string[] = [];
  try {
    await loadConfiguration(list(flags, "config"), env);
  } catch (err) {
    problems.push(`configuration: ${(err as Error).message}`);
  }
  try {
    const res = await loadResources(list(flags, "resources-path"), { appId, namespace: env.NAMESPACE ?? "" });
    problems.push(...res.problems);
    for (const w of res.warnings) if (!res.problems.includes(w)) process.stdout.write(`warning: ${w}\n`);
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
      if (!(await findStoreDefinition(c.type, c.version).catch(() => undefined)))
        problems.push(
          `${c.file}:${c.line}: component ${c.name}: couldn't find secret store ${c.type}/${c.version || "v1"}`,
        );
    }
    process.stdout.write(
      `${res.secretStores.length} secret store component(s): ${res.secretStores.map((c) => c.name).join(", ") || "none"}\n`,
    );
  } catch (err) {
    problems.push((err as Error).message);
  }
  for (const p of problems) process.stdout.write(`problem: ${p}\n`);
  process.stdout.write(problems.length ? `${problems.length} problem(s)\n` : "ok\n");
  return problems.length ? 1 : 0;
}
