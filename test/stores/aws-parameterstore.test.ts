/** `secretstores.aws.parameterstore` against moto (SSM, STS and IAM), one moto process for the file. */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  DescribeParametersCommand,
  GetParameterCommand,
  LabelParameterVersionCommand,
  PutParameterCommand,
  SSMClient,
} from "@aws-sdk/client-ssm";
import { ParameterStore, definition } from "../../src/stores/aws/parameterstore.js";
import { SecretStoreError, type ComponentMetadata, type SecretStoreErrorKind } from "../../src/stores/types.js";
import { describeSecretStoreConformance } from "../conformance/secret-store.case.js";
import {
  MOTO_ACCOUNT,
  MOTO_CREDENTIALS,
  MOTO_REGION,
  closedPort,
  createIamRole,
  createIamUser,
  isolateAwsEnv,
  motoMetadata,
  policy,
  startFaultEndpoint,
  startMoto,
  withEnv,
  type Moto,
} from "../helpers/moto.js";
import { recordingLogger, storeContext } from "../helpers/store-context.js";

isolateAwsEnv();

let moto: Moto;
let admin: SSMClient;
const tmp = mkdtempSync(join(tmpdir(), "keyward-aws-ssm-"));
const CANARY = `canary-${process.pid}-${Date.now()}`;
const log = recordingLogger();

before(async () => {
  moto = await startMoto();
  admin = new SSMClient({ region: MOTO_REGION, endpoint: moto.endpoint, credentials: MOTO_CREDENTIALS });
});
after(async () => {
  admin?.destroy();
  await moto?.stop();
});

async function open(md: ComponentMetadata): Promise<ParameterStore> {
  const s = new ParameterStore();
  await s.init(md, storeContext("aws-ssm", 10_000, log));
  return s;
}

async function put(
  name: string,
  value: string,
  type: "String" | "SecureString" | "StringList" = "String",
): Promise<number> {
  const out = await admin.send(new PutParameterCommand({ Name: name, Value: value, Type: type, Overwrite: true }));
  return out.Version as number;
}

async function rejectsWith(
  p: Promise<unknown>,
  kind: SecretStoreErrorKind,
  pattern: RegExp,
  hidden: string[] = [],
): Promise<SecretStoreError> {
  let caught: unknown;
  await assert.rejects(p, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof SecretStoreError, `expected SecretStoreError, got ${String(caught)}`);
  assert.equal(caught.kind, kind, caught.message);
  assert.match(caught.message, pattern);
  for (const h of [CANARY, ...hidden]) assert.ok(!caught.message.includes(h), `message leaks ${h}: ${caught.message}`);
  return caught;
}

describeSecretStoreConformance({
  name: "aws.parameterstore (moto)",
  create: () => new ParameterStore(),
  metadata: () => motoMetadata(moto),
  setup: async () => {
    await put("conftestsecret", "abcd");
    await put("secondsecret", "efgh", "SecureString");
  },
});

describe("aws.parameterstore", () => {
  it("is registered under daprd's type name", () => {
    assert.equal(definition.type, "aws.parameterstore");
    assert.ok(definition.create() instanceof ParameterStore);
  });

  it("SecureString parameters come back decrypted; StringList as stored", async () => {
    await put("/secure/db-password", `pw-${CANARY}`, "SecureString");
    await put("/secure/hosts", "a.example,b.example", "StringList");
    // Without decryption the API answers the ciphertext: the fixture really is encrypted.
    const raw = await admin.send(new GetParameterCommand({ Name: "/secure/db-password" }));
    assert.notEqual(raw.Parameter?.Value, `pw-${CANARY}`);
    const s = await open(motoMetadata(moto));
    assert.deepEqual(await s.getSecret({ name: "/secure/db-password", metadata: {} }), {
      "/secure/db-password": `pw-${CANARY}`,
    });
    assert.deepEqual(await s.getSecret({ name: "/secure/hosts", metadata: {} }), {
      "/secure/hosts": "a.example,b.example",
    });
    const bulk = await s.bulkGetSecret({ metadata: {} });
    assert.deepEqual(bulk["/secure/db-password"], { "/secure/db-password": `pw-${CANARY}` });
    await s.close();
  });

  it("prefix: names are prefixed on the way in and stripped on the way out; bulk holds only the prefix's parameters", async () => {
    await put("/app/prod/db", "prod-db");
    await put("/app/prod/api-key", `api-${CANARY}`, "SecureString");
    await put("/app/staging/db", "staging-db");
    await put("/app/production-like", "not under the prefix folder");
    const s = await open(motoMetadata(moto, { prefix: "/app/prod/" }));
    assert.deepEqual(await s.getSecret({ name: "db", metadata: {} }), { db: "prod-db" });
    assert.deepEqual(await s.getSecret({ name: "api-key", metadata: {} }), { "api-key": `api-${CANARY}` });
    assert.deepEqual(await s.bulkGetSecret({ metadata: {} }), {
      db: { db: "prod-db" },
      "api-key": { "api-key": `api-${CANARY}` },
    });
    await rejectsWith(
      s.getSecret({ name: "staging/db", metadata: {} }),
      "not_found",
      /secret \/app\/prod\/staging\/db not found in AWS SSM Parameter Store \(ParameterNotFound/,
    );
    await s.close();
    // A plain string prefix, as daprd allows, also strips.
    const plain = await open(motoMetadata(moto, { Prefix: "/app/prod" }));
    assert.deepEqual(await plain.getSecret({ name: "/db", metadata: {} }), { "/db": "prod-db" });
    const bulk = await plain.bulkGetSecret({ metadata: {} });
    assert.deepEqual(Object.keys(bulk).sort(), ["/api-key", "/db", "uction-like"]);
    await plain.close();
  });

  it("version_id selects a version number or a label", async () => {
    const v1 = await put("/versioned/token", `first-${CANARY}`);
    const v2 = await put("/versioned/token", "second");
    assert.equal(v2, v1 + 1);
    await admin.send(
      new LabelParameterVersionCommand({ Name: "/versioned/token", ParameterVersion: v1, Labels: ["stable"] }),
    );
    const s = await open(motoMetadata(moto, { prefix: "/versioned/" }));
    assert.deepEqual(await s.getSecret({ name: "token", metadata: {} }), { token: "second" });
    assert.deepEqual(await s.getSecret({ name: "token", metadata: { version_id: String(v1) } }), {
      token: `first-${CANARY}`,
    });
    assert.deepEqual(await s.getSecret({ name: "token", metadata: { version_id: String(v2) } }), { token: "second" });
    assert.deepEqual(await s.getSecret({ name: "token", metadata: { version_id: "stable" } }), {
      token: `first-${CANARY}`,
    });
    await rejectsWith(
      s.getSecret({ name: "token", metadata: { version_id: "99" } }),
      "not_found",
      /secret \/versioned\/token:99 not found in AWS SSM Parameter Store \(ParameterVersionNotFound/,
    );
    await s.close();
  });

  it("bulk pages through DescribeParameters (more than one page)", async () => {
    const names = Array.from({ length: 60 }, (_, i) => `/paged/p${String(i).padStart(2, "0")}`);
    for (let i = 0; i < names.length; i += 15)
      await Promise.all(names.slice(i, i + 15).map((n) => put(n, `value-of-${n}`)));
    const first = await admin.send(
      new DescribeParametersCommand({
        MaxResults: 50,
        ParameterFilters: [{ Key: "Name", Option: "BeginsWith", Values: ["/paged/"] }],
      }),
    );
    assert.ok(first.NextToken && (first.Parameters?.length ?? 0) < 60, "the fixture spans pages");
    const s = await open(motoMetadata(moto, { prefix: "/paged/" }));
    const bulk = await s.bulkGetSecret({ metadata: {} });
    assert.equal(Object.keys(bulk).length, 60);
    for (const n of names) {
      const short = n.slice("/paged/".length);
      assert.deepEqual(bulk[short], { [short]: `value-of-${n}` });
    }
    await s.close();
    // Without a prefix every parameter is listed, over many pages too.
    const all = await open(motoMetadata(moto));
    const everything = await all.bulkGetSecret({ metadata: {} });
    for (const n of names) assert.equal(everything[n]?.[n], `value-of-${n}`);
    assert.deepEqual(everything.conftestsecret, { conftestsecret: "abcd" });
    await all.close();
  });

  it("web identity (EKS IRSA) through moto's STS", async () => {
    await put("/irsa/param", `irsa-${CANARY}`, "SecureString");
    const trust = JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: {
            Federated: `arn:aws:iam::${MOTO_ACCOUNT}:oidc-provider/oidc.eks.${MOTO_REGION}.amazonaws.com/id/TEST`,
          },
          Action: "sts:AssumeRoleWithWebIdentity",
        },
      ],
    });
    const roleArn = await createIamRole(moto, "ssm-reader", trust, policy([{ action: ["ssm:GetParameter"] }]));
    const tokenFile = join(tmp, "token");
    const jwt = `eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhcHAifQ.${CANARY}`;
    writeFileSync(tokenFile, jwt);
    const session = `keyward-ssm-${process.pid}`;
    await withEnv(
      {
        AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
        AWS_ROLE_ARN: roleArn,
        AWS_ROLE_SESSION_NAME: session,
        AWS_ENDPOINT_URL_STS: moto.endpoint,
        AWS_REGION: MOTO_REGION,
      },
      async () => {
        const s = await open({ endpoint: moto.endpoint, prefix: "/irsa/" });
        assert.deepEqual(await s.getSecret({ name: "param", metadata: {} }), { param: `irsa-${CANARY}` });
        assert.ok(
          (await moto.model("sts", "AssumedRole")).some((a) => a.session_name === session && a.role_arn === roleArn),
        );
        await moto.setIamAuth(true);
        try {
          assert.deepEqual(await s.getSecret({ name: "param", metadata: {} }), { param: `irsa-${CANARY}` });
          await rejectsWith(
            s.bulkGetSecret({ metadata: {} }),
            "permission_denied",
            /list parameters in AWS SSM Parameter Store failed: permission denied \(AccessDenied/,
            [jwt],
          );
        } finally {
          await moto.setIamAuth(false);
        }
        await s.close();
      },
    );
  });

  it("error kinds: not found, permission denied, bad credentials, throttled, unreachable", async () => {
    await put("/errors/guarded", `guarded-${CANARY}`, "SecureString");
    const user = await createIamUser(moto, "describer", policy([{ action: "ssm:DescribeParameters" }]));
    await moto.setIamAuth(true);
    try {
      const s = await open({
        region: MOTO_REGION,
        endpoint: moto.endpoint,
        accessKey: user.accessKeyId,
        secretKey: user.secretAccessKey,
        prefix: "/errors/",
      });
      await rejectsWith(
        s.getSecret({ name: "guarded", metadata: {} }),
        "permission_denied",
        /^get parameter \/errors\/guarded in AWS SSM Parameter Store failed: permission denied \(AccessDenied/,
        [user.secretAccessKey, user.accessKeyId],
      );
      await rejectsWith(
        s.bulkGetSecret({ metadata: {} }),
        "permission_denied",
        /^get parameter \/errors\/guarded .* permission denied/,
      );
      await s.close();
      const wrong = await open({
        region: MOTO_REGION,
        endpoint: moto.endpoint,
        accessKey: user.accessKeyId,
        secretKey: `wrong-${CANARY}`,
      });
      await rejectsWith(
        wrong.getSecret({ name: "/errors/guarded", metadata: {} }),
        "bad_credentials",
        /bad credentials \(SignatureDoesNotMatch/,
        [user.accessKeyId],
      );
      await wrong.close();
      const unknown = await open({
        region: MOTO_REGION,
        endpoint: moto.endpoint,
        accessKey: "AKIANOBODYKNOWS00001",
        secretKey: `x-${CANARY}`,
      });
      await rejectsWith(
        unknown.getSecret({ name: "/errors/guarded", metadata: {} }),
        "bad_credentials",
        /bad credentials \(InvalidClientTokenId/,
      );
      await unknown.close();
    } finally {
      await moto.setIamAuth(false);
    }
    const s = await open(motoMetadata(moto));
    await rejectsWith(
      s.getSecret({ name: "/errors/none", metadata: {} }),
      "not_found",
      /^secret \/errors\/none not found in AWS SSM Parameter Store \(ParameterNotFound/,
    );
    await s.close();

    const down = await open({ ...motoMetadata(moto), endpoint: `http://127.0.0.1:${await closedPort()}` });
    await rejectsWith(down.getSecret({ name: "x", metadata: {} }), "unavailable", /unreachable \(ECONNREFUSED/);
    await rejectsWith(
      down.bulkGetSecret({ metadata: {} }),
      "unavailable",
      /list parameters in AWS SSM Parameter Store failed: unreachable/,
    );
    await down.close();

    const throttling = await startFaultEndpoint(400, "ThrottlingException", "Rate exceeded");
    try {
      const t = await open({ ...motoMetadata(moto), endpoint: throttling.endpoint });
      await rejectsWith(
        t.getSecret({ name: "x", metadata: {} }),
        "throttled",
        /throttled \(ThrottlingException: Rate exceeded\)/,
      );
      assert.equal(throttling.headers()[0]?.["x-amz-target"], "AmazonSSM.GetParameter");
      await t.close();
    } finally {
      await throttling.close();
    }
    const none = await open({ region: MOTO_REGION, endpoint: moto.endpoint });
    await rejectsWith(
      none.getSecret({ name: "x", metadata: {} }),
      "bad_credentials",
      /could not obtain AWS credentials from the default credential chain/,
    );
    await none.close();
    await rejectsWith(open({ endpoint: moto.endpoint }), "invalid_config", /no AWS region/);
  });

  it("nothing logged holds a secret value or credential", () => {
    assert.ok(log.lines.length > 0);
    for (const line of log.lines) assert.ok(!line.includes(CANARY), line);
  });
});
