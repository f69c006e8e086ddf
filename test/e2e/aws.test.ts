/**
 * End to end: `bin/keyward serve` with AWS Secrets Manager and Parameter Store components pointing at moto, read
 * with the official Dapr SDK over HTTP and gRPC (and the raw gRPC API for per-request metadata).
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { DaprClient } from "@dapr/dapr";
import { sdkClient } from "../helpers/sdk.js";
import { daprGrpcClient, unary, type DaprGrpcClient } from "../helpers/clients.js";
import {
  MOTO_ACCOUNT,
  MOTO_CREDENTIALS,
  MOTO_REGION,
  createIamRole,
  isolateAwsEnv,
  policy,
  startMoto,
  type Moto,
} from "../helpers/moto.js";
import { componentYaml, startSidecar, type Sidecar } from "../helpers/sidecar.js";

isolateAwsEnv();

const CANARY = `e2e-${process.pid}-${Date.now()}`;
const tmp = mkdtempSync(join(tmpdir(), "keyward-aws-e2e-"));
let moto: Moto;
let sidecar: Sidecar;
let http: DaprClient;
let grpc: DaprClient;
let raw: DaprGrpcClient;

before(async () => {
  moto = await startMoto();
  const sm = new SecretsManagerClient({ region: MOTO_REGION, endpoint: moto.endpoint, credentials: MOTO_CREDENTIALS });
  await sm.send(new CreateSecretCommand({ Name: "db-password", SecretString: `old-${CANARY}` }));
  await sm.send(new PutSecretValueCommand({ SecretId: "db-password", SecretString: `new-${CANARY}` }));
  await sm.send(
    new CreateSecretCommand({
      Name: "db-config",
      SecretString: JSON.stringify({ host: "db.internal", user: "app", password: `pw-${CANARY}` }),
    }),
  );
  sm.destroy();
  const ssm = new SSMClient({ region: MOTO_REGION, endpoint: moto.endpoint, credentials: MOTO_CREDENTIALS });
  await ssm.send(new PutParameterCommand({ Name: "/shop/prod/api-key", Value: `api-${CANARY}`, Type: "SecureString" }));
  await ssm.send(new PutParameterCommand({ Name: "/shop/prod/mode", Value: "live", Type: "String" }));
  await ssm.send(new PutParameterCommand({ Name: "/shop/test/mode", Value: "test", Type: "String" }));
  ssm.destroy();

  // A web identity (EKS IRSA) component: no credential in its YAML, the sidecar's environment has the token file.
  const trust = JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Federated: `arn:aws:iam::${MOTO_ACCOUNT}:oidc-provider/oidc.eks` },
        Action: "sts:AssumeRoleWithWebIdentity",
      },
    ],
  });
  const roleArn = await createIamRole(
    moto,
    "sidecar-role",
    trust,
    policy([{ action: ["secretsmanager:GetSecretValue", "ssm:GetParameter"] }]),
  );
  const tokenFile = join(tmp, "token");
  writeFileSync(tokenFile, `eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.${CANARY}`);

  const keys = {
    region: MOTO_REGION,
    endpoint: moto.endpoint,
    accessKey: MOTO_CREDENTIALS.accessKeyId,
    secretKey: MOTO_CREDENTIALS.secretAccessKey,
  };
  sidecar = await startSidecar({
    components: {
      "sm.yaml": componentYaml("aws-sm", "secretstores.aws.secretmanager", keys),
      "sm-multi.yaml": componentYaml("aws-sm-multi", "secretstores.aws.secretmanager", {
        ...keys,
        multipleKeyValuesPerSecret: "true",
      }),
      "ssm.yaml": componentYaml("aws-ssm", "secretstores.aws.parameterstore", { ...keys, prefix: "/shop/prod/" }),
      "irsa.yaml": componentYaml("aws-irsa", "secretstores.aws.secretmanager", {
        awsRegion: MOTO_REGION,
        endpoint: moto.endpoint,
      }),
    },
    env: { AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_ARN: roleArn, AWS_ENDPOINT_URL_STS: moto.endpoint },
  });
  http = sdkClient(sidecar, "HTTP");
  grpc = sdkClient(sidecar, "GRPC");
  raw = daprGrpcClient(sidecar.grpcAddress);
});

after(async () => {
  raw?.close();
  await http?.stop();
  await grpc?.stop();
  if (sidecar) assert.equal(await sidecar.stop(), 0, sidecar.output());
  await moto?.stop();
});

describe("AWS stores end to end through bin/keyward", () => {
  it("Secrets Manager over HTTP: current value, ?metadata.version_stage= and ?metadata.version_id=", async () => {
    assert.deepEqual(await http.secret.get("aws-sm", "db-password"), { "db-password": `new-${CANARY}` });
    assert.deepEqual(await http.secret.get("aws-sm", "db-password", "metadata.version_stage=AWSPREVIOUS"), {
      "db-password": `old-${CANARY}`,
    });
    assert.deepEqual(await http.secret.get("aws-sm", "db-password", "metadata.version_stage=AWSCURRENT"), {
      "db-password": `new-${CANARY}`,
    });
  });

  it("Secrets Manager over gRPC with the SDK, and version_stage in the gRPC metadata map", async () => {
    assert.deepEqual(await grpc.secret.get("aws-sm", "db-password"), { "db-password": `new-${CANARY}` });
    const r = await unary(raw, "GetSecret", {
      store_name: "aws-sm",
      key: "db-password",
      metadata: { version_stage: "AWSPREVIOUS" },
    });
    assert.equal(r.err, undefined, r.err?.message);
    assert.deepEqual(r.res?.data, { "db-password": `old-${CANARY}` });
  });

  it("multipleKeyValuesPerSecret: the JSON keys over both transports, and the capability in /v1.0/metadata", async () => {
    const want = { host: "db.internal", user: "app", password: `pw-${CANARY}` };
    assert.deepEqual(await http.secret.get("aws-sm-multi", "db-config"), want);
    const r = await unary(raw, "GetSecret", { store_name: "aws-sm-multi", key: "db-config" });
    assert.deepEqual(r.res?.data, want);
    const md = (await (await fetch(`${sidecar.httpUrl}/v1.0/metadata`)).json()) as {
      components?: { name: string; capabilities?: string[] }[];
    };
    const caps = (name: string) => md.components?.find((c) => c.name === name)?.capabilities ?? [];
    assert.deepEqual(caps("aws-sm-multi"), ["MULTIPLE_KEY_VALUES_PER_SECRET"]);
    assert.deepEqual(caps("aws-sm"), []);
  });

  it("bulk over both transports", async () => {
    for (const client of [http, grpc]) {
      const bulk = (await client.secret.getBulk("aws-sm")) as Record<string, Record<string, string>>;
      assert.deepEqual(bulk["db-password"], { "db-password": `new-${CANARY}` });
      assert.ok(bulk["db-config"]?.["db-config"]?.includes("db.internal"));
      assert.deepEqual(await client.secret.getBulk("aws-ssm"), {
        "api-key": { "api-key": `api-${CANARY}` },
        mode: { mode: "live" },
      });
    }
  });

  it("Parameter Store: prefix stripped, SecureString decrypted, over both transports", async () => {
    for (const client of [http, grpc]) {
      assert.deepEqual(await client.secret.get("aws-ssm", "api-key"), { "api-key": `api-${CANARY}` });
      assert.deepEqual(await client.secret.get("aws-ssm", "mode"), { mode: "live" });
    }
  });

  it("a component with no credential in its YAML reads through the web identity token file", async () => {
    assert.deepEqual(await http.secret.get("aws-irsa", "db-password"), { "db-password": `new-${CANARY}` });
    assert.deepEqual(await grpc.secret.get("aws-irsa", "db-password"), { "db-password": `new-${CANARY}` });
  });

  it("a missing secret is ERR_SECRET_GET whose message says not found", async () => {
    const res = await fetch(`${sidecar.httpUrl}/v1.0/secrets/aws-sm/nope`);
    assert.equal(res.status, 500);
    const body = (await res.json()) as { errorCode: string; message: string };
    assert.equal(body.errorCode, "ERR_SECRET_GET");
    assert.match(body.message, /secret nope not found in AWS Secrets Manager/);
    const r = await unary(raw, "GetSecret", { store_name: "aws-ssm", key: "nope" });
    assert.equal(r.err?.code, 13);
    assert.match(r.err?.message ?? "", /secret \/shop\/prod\/nope not found in AWS SSM Parameter Store/);
  });

  it("the sidecar's output holds no secret value, token or key", () => {
    const out = sidecar.output();
    assert.ok(!out.includes(CANARY), out);
    assert.ok(!out.includes("NodeVersionSupportWarning"), "the SDK's Node version warning is silenced");
  });
});
