/** Shared sidecar set-up for the API tests: several local stores and a scope configuration. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { componentYaml, startSidecar, type Sidecar, type SidecarOptions } from "../helpers/sidecar.js";

export const FILE_SECRETS = {
  secret: "v1",
  nested: { a: "x" },
  "a/b": "slash",
  "with space": "sp",
  bulk: "named-bulk",
  "x<y&z": "html<>&",
  other: "o",
};

export const MULTI_SECRETS = { parent: { child1: "12345", child2: { child3: "67890" } }, single: "s" };

export const SCOPES_CONFIG = `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: appconfig
spec:
  secrets:
    scopes:
      - storeName: scoped
        defaultAccess: deny
        allowedSecrets: ["secret"]
      - storeName: denylisted
        defaultAccess: allow
        deniedSecrets: ["secret"]
`;

export function writeJson(value: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), "keyward-api-"));
  const p = join(dir, "secrets.json");
  writeFileSync(p, JSON.stringify(value));
  return p;
}

/** A sidecar with filestore, multistore, envstore, scoped and denylisted stores. */
export async function startApiSidecar(extra: SidecarOptions = {}): Promise<Sidecar> {
  const file = writeJson(FILE_SECRETS);
  return startSidecar({
    ...extra,
    components: {
      "file.yaml": componentYaml("filestore", "secretstores.local.file", { secretsFile: file }),
      "multi.yaml": componentYaml("multistore", "secretstores.local.file", {
        secretsFile: writeJson(MULTI_SECRETS),
        multiValued: "true",
      }),
      "env.yaml": componentYaml("envstore", "secretstores.local.env", { prefix: "KWAPI_" }),
      "scoped.yaml":
        componentYaml("scoped", "secretstores.local.file", { secretsFile: file }) +
        "---\n" +
        componentYaml("denylisted", "secretstores.local.file", { secretsFile: file }),
      ...extra.components,
    },
    config: SCOPES_CONFIG,
    env: { KWAPI_ONE: "1", KWAPI_TWO: "2", ...extra.env },
  });
}

/** The value of secret `s<i>` in the `big` store: 1,000 bytes. */
export const bigSecretValue = (i: number) => `${"x".repeat(995)}${i}`.padEnd(1000, "y");

/** A sidecar with one local.file store, `big`, whose bulk answer is about 1 MB: 1,000 secrets of 1,000 bytes. */
export function startBigStoreSidecar(extra: SidecarOptions = {}): Promise<Sidecar> {
  const secrets: Record<string, string> = {};
  for (let i = 0; i < 1000; i++) secrets[`s${i}`] = bigSecretValue(i);
  return startSidecar({
    ...extra,
    components: { "big.yaml": componentYaml("big", "secretstores.local.file", { secretsFile: writeJson(secrets) }) },
  });
}
