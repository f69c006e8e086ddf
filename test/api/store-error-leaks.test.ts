/**
 * No credential in any store's error text: each store is configured with seeded credentials and pointed at a
 * hostile backend that answers every request with an error quoting all it was sent (headers, query, body). The
 * sidecar's logs and every HTTP and gRPC answer are then grepped for the seeds.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { grpcSecretsClient, httpSecretsClient, type Outcome } from "../helpers/clients.js";
import { componentYaml, startSidecar } from "../helpers/sidecar.js";

const tag = `${process.pid}x${Date.now()}`;
const SEED = {
  vaultToken: `vault-token-seed-${tag}`,
  awsAccessKey: `AKIASEED${tag.replace(/\D/g, "").slice(-12).padStart(12, "7")}`,
  awsSecretKey: `aws-secret-seed-${tag}`,
  awsSessionToken: `aws-session-seed-${tag}`,
  kubeToken: `kube-token-seed-${tag}`,
  azureClientSecret: `azure-secret-seed-${tag}`,
  azureCertPassword: `azure-certpw-seed-${tag}`,
};
const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const gcpKeyPem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
/** A line from the middle of the key: what would show if any part of it leaked. */
const gcpKeyLine = gcpKeyPem.split("\n")[5] as string;

function assertClean(text: string, where: string): void {
  const seeds: [string, string][] = [...Object.entries(SEED), ["gcpKey", gcpKeyLine]];
  for (const [name, value] of seeds) {
    const lines = text.split("\n").filter((l) => l.includes(value));
    assert.equal(lines.length, 0, `${name} leaked in ${where}:\n${lines.join("\n")}`);
  }
}

/** Answers every request with an error that quotes the request whole, in every shape a store reads errors from. */
function hostileBackend(): { server: Server; seen: string[] } {
  const seen: string[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      // Credentials first: stores cut long messages, and the test must see what a short message would show.
      const h = req.headers;
      const credentials = [h.authorization, h["x-amz-security-token"], h["x-vault-token"]].filter(Boolean).join(" ");
      const echo = `echo of ${credentials} ${req.method} ${req.url} body ${Buffer.concat(chunks).toString()} headers ${JSON.stringify(h)}`;
      seen.push(echo);
      const body = JSON.stringify({
        // Vault, AWS JSON protocol, a Kubernetes Status, an OAuth error, Key Vault: all at once.
        errors: [echo],
        __type: "AccessDeniedException",
        message: echo,
        kind: "Status",
        apiVersion: "v1",
        status: "Failure",
        reason: "Forbidden",
        code: 403,
        error: { code: "Forbidden", message: echo },
        error_description: echo,
      });
      res.writeHead(403, { "content-type": "application/json" });
      res.end(body);
    });
  });
  return { server, seen };
}

describe("no credential in any store's error text", () => {
  const backend = hostileBackend();
  let url = "";
  const dir = mkdtempSync(join(tmpdir(), "keyward-store-leaks-"));

  before(async () => {
    await new Promise<void>((r) => backend.server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(backend.server.address() as AddressInfo).port}`;
  });
  after(() => backend.server.close());

  it("vault, aws, kubernetes, gcp and azure stores against a backend that quotes every request", async () => {
    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(
      kubeconfig,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters: [{name: c, cluster: {server: URL, insecure-skip-tls-verify: true}}]",
        "users: [{name: u, user: {token: TOKEN}}]",
        "contexts: [{name: x, context: {cluster: c, user: u}}]",
        "current-context: x",
      ]
        .join("\n")
        .replace("URL", url)
        .replace("TOKEN", SEED.kubeToken),
    );
    const aws = {
      region: "us-east-1",
      endpoint: url,
      accessKey: SEED.awsAccessKey,
      secretKey: SEED.awsSecretKey,
      sessionToken: SEED.awsSessionToken,
    };
    // A loaded machine may take seconds to load a cloud SDK: init must not time out before the test begins.
    const ignore = "  ignoreErrors: true\n  initTimeout: 60s\n";
    const s = await startSidecar({
      args: ["--log-level", "debug", "--enable-api-logging"],
      components: {
        "vault.yaml": componentYaml(
          "vault",
          "secretstores.hashicorp.vault",
          { vaultAddr: url, vaultToken: SEED.vaultToken, vaultKVVersion: "2" },
          ignore,
        ),
        "sm.yaml": componentYaml("sm", "secretstores.aws.secretmanager", aws, ignore),
        "ssm.yaml": componentYaml("ssm", "secretstores.aws.parameterstore", aws, ignore),
        "kube.yaml": componentYaml(
          "kube",
          "secretstores.kubernetes",
          { kubeconfigPath: kubeconfig, defaultNamespace: "default" },
          ignore,
        ),
        "gcp.yaml": componentYaml(
          "gcp",
          "secretstores.gcp.secretmanager",
          {
            type: "service_account",
            project_id: "p",
            private_key_id: "k1",
            private_key: gcpKeyPem,
            client_email: "sa@p.iam.gserviceaccount.com",
            token_uri: `${url}/token`,
            endpoint: "127.0.0.1:1",
          },
          ignore,
        ),
        "azure.yaml": componentYaml(
          "azure",
          "secretstores.azure.keyvault",
          {
            vaultUrl: "https://127.0.0.1:1",
            azureTenantId: "00000000-0000-0000-0000-000000000001",
            azureClientId: "00000000-0000-0000-0000-000000000002",
            azureClientSecret: SEED.azureClientSecret,
            azureCertificatePassword: SEED.azureCertPassword,
            azureAuthorityHost: "https://127.0.0.1:1",
          },
          ignore,
        ),
      },
    });
    const answers: Outcome[] = [];
    try {
      for (const client of [httpSecretsClient(s.httpUrl), grpcSecretsClient(s.grpcAddress)]) {
        for (const store of ["vault", "sm", "ssm", "kube"]) {
          answers.push(await client.get(store, "db", { version_id: "1", namespace: "default" }));
          answers.push(await client.get(store, "db"));
          answers.push(await client.bulk(store));
        }
        // These two never reach the backend (TLS only) and retry for seconds: one read each shows their errors.
        for (const store of ["gcp", "azure"]) answers.push(await client.get(store, "db"));
        client.close();
      }
    } finally {
      await s.stop();
    }
    const output = s.output();
    // The credentials really went out and came back quoted: a store that let one through would fail here.
    const quoted = backend.seen.join("\n");
    for (const seed of [SEED.vaultToken, SEED.awsAccessKey, SEED.awsSessionToken, SEED.kubeToken])
      assert.ok(quoted.includes(seed), `the backend was not sent ${seed}; the sidecar said:\n${output}`);
    assert.ok(
      answers.some((a) => !a.ok && a.message.includes("echo of")),
      "some answer quotes the backend",
    );
    assertClean(output, "the sidecar's output");
    for (const a of answers) assertClean(JSON.stringify(a), "an API answer");
  });
});
