/** `secretstores.aws.secretmanager` against moto (Secrets Manager, STS and IAM), one moto process for the file. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { SecretsManagerStore, definition } from "../../src/stores/aws/secretmanager.js";
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
import { REPO_ROOT } from "../helpers/paths.js";
import { recordingLogger, storeContext } from "../helpers/store-context.js";

isolateAwsEnv();

let moto: Moto;
let admin: SecretsManagerClient;
const tmp = mkdtempSync(join(tmpdir(), "keyward-aws-sm-"));
// Values that must never show up in an error message or a log line.
const CANARY = `canary-${process.pid}-${Date.now()}`;
const log = recordingLogger();

before(async () => {
  moto = await startMoto();
  admin = new SecretsManagerClient({ region: MOTO_REGION, endpoint: moto.endpoint, credentials: MOTO_CREDENTIALS });
});
after(async () => {
  admin?.destroy();
  await moto?.stop();
});

async function open(md: ComponentMetadata): Promise<SecretsManagerStore> {
  const s = new SecretsManagerStore();
  await s.init(md, storeContext("aws-sm", 10_000, log));
  return s;
}

async function create(name: string, value: string | Uint8Array): Promise<string> {
  const out = await admin.send(
    new CreateSecretCommand(
      typeof value === "string" ? { Name: name, SecretString: value } : { Name: name, SecretBinary: value },
    ),
  );
  return out.VersionId as string;
}

/** Asserts a rejection is a SecretStoreError of `kind` whose message matches and holds none of `hidden`. */
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
  name: "aws.secretmanager (moto)",
  create: () => new SecretsManagerStore(),
  metadata: () => motoMetadata(moto),
  setup: async () => {
    await create("conftestsecret", "abcd");
    await create("secondsecret", "efgh");
  },
});

describe("aws.secretmanager", () => {
  it("is registered under daprd's type name", () => {
    assert.equal(definition.type, "aws.secretmanager");
    assert.ok(definition.create() instanceof SecretsManagerStore);
  });

  it("versions: version_id and version_stage pick the version; the default is AWSCURRENT", async () => {
    const v1 = await create("rotating", `one-${CANARY}`);
    const v2 = (await admin.send(new PutSecretValueCommand({ SecretId: "rotating", SecretString: "two" })))
      .VersionId as string;
    const v3 = (
      await admin.send(
        new PutSecretValueCommand({ SecretId: "rotating", SecretString: "three", VersionStages: ["STAGING"] }),
      )
    ).VersionId as string;
    assert.notEqual(v1, v2);
    const s = await open(motoMetadata(moto));
    assert.deepEqual(await s.getSecret({ name: "rotating", metadata: {} }), { rotating: "two" });
    assert.deepEqual(await s.getSecret({ name: "rotating", metadata: { version_stage: "AWSCURRENT" } }), {
      rotating: "two",
    });
    assert.deepEqual(await s.getSecret({ name: "rotating", metadata: { version_stage: "AWSPREVIOUS" } }), {
      rotating: `one-${CANARY}`,
    });
    assert.deepEqual(await s.getSecret({ name: "rotating", metadata: { version_stage: "STAGING" } }), {
      rotating: "three",
    });
    assert.deepEqual(await s.getSecret({ name: "rotating", metadata: { version_id: v1 } }), {
      rotating: `one-${CANARY}`,
    });
    assert.deepEqual(await s.getSecret({ name: "rotating", metadata: { version_id: v3, version_stage: "STAGING" } }), {
      rotating: "three",
    });
    // Moving a stage label is seen on the next read: nothing is cached.
    await admin.send(
      new UpdateSecretVersionStageCommand({
        SecretId: "rotating",
        VersionStage: "STAGING",
        MoveToVersionId: v2,
        RemoveFromVersionId: v3,
      }),
    );
    assert.deepEqual(await s.getSecret({ name: "rotating", metadata: { version_stage: "STAGING" } }), {
      rotating: "two",
    });
    await rejectsWith(
      s.getSecret({ name: "rotating", metadata: { version_stage: "NOPE" } }),
      "not_found",
      /secret rotating \(version_stage NOPE\) not found in AWS Secrets Manager/,
    );
    await rejectsWith(
      s.getSecret({ name: "rotating", metadata: { version_id: "00000000-0000-0000-0000-000000000000" } }),
      "not_found",
      /version_id 00000000/,
    );
    // Bulk ignores request metadata and reads the current version.
    const bulk = await s.bulkGetSecret({ metadata: { version_stage: "AWSPREVIOUS" } });
    assert.deepEqual(bulk.rotating, { rotating: "two" });
    await s.close();
  });

  it("multipleKeyValuesPerSecret: JSON objects become keys, other values stay whole; the feature is advertised", async () => {
    await create(
      "db-creds",
      JSON.stringify({ username: "app", password: `pw-${CANARY}`, port: 5432, tls: true, opts: { a: 1 }, none: null }),
    );
    await create("plain-text", "not json {");
    await create("json-array", '["a","b"]');
    await create("json-string", '"quoted"');
    const multi = await open(motoMetadata(moto, { multipleKeyValuesPerSecret: "true" }));
    assert.deepEqual([...multi.features()], ["MULTIPLE_KEY_VALUES_PER_SECRET"]);
    assert.deepEqual(await multi.getSecret({ name: "db-creds", metadata: {} }), {
      username: "app",
      password: `pw-${CANARY}`,
      port: "5432",
      tls: "true",
      opts: '{"a":1}',
      none: "null",
    });
    assert.deepEqual(await multi.getSecret({ name: "plain-text", metadata: {} }), { "plain-text": "not json {" });
    assert.deepEqual(await multi.getSecret({ name: "json-array", metadata: {} }), { "json-array": '["a","b"]' });
    assert.deepEqual(await multi.getSecret({ name: "json-string", metadata: {} }), { "json-string": '"quoted"' });
    const bulk = await multi.bulkGetSecret({ metadata: {} });
    assert.equal(bulk["db-creds"]?.username, "app");
    assert.deepEqual(bulk["plain-text"], { "plain-text": "not json {" });
    assert.deepEqual(bulk.conftestsecret, { conftestsecret: "abcd" });
    await multi.close();

    const single = await open(motoMetadata(moto));
    assert.deepEqual([...single.features()], []);
    const whole = await single.getSecret({ name: "db-creds", metadata: {} });
    assert.deepEqual(Object.keys(whole), ["db-creds"]);
    assert.equal(JSON.parse(whole["db-creds"] as string).password, `pw-${CANARY}`);
    await single.close();

    // daprd's decoder also knew the field as multipleKeysPerSecret; names are case-insensitive.
    const alias = await open(motoMetadata(moto, { MultipleKeysPerSecret: "1" }));
    assert.deepEqual([...alias.features()], ["MULTIPLE_KEY_VALUES_PER_SECRET"]);
    await alias.close();
    await rejectsWith(
      open(motoMetadata(moto, { multipleKeyValuesPerSecret: "perhaps" })),
      "invalid_config",
      /multipleKeyValuesPerSecret.*not a boolean/,
    );
  });

  it("a secret scheduled for deletion reads as not found, and bulk leaves it out", async () => {
    await create("doomed", `doomed-${CANARY}`);
    await admin.send(new DeleteSecretCommand({ SecretId: "doomed", RecoveryWindowInDays: 7 }));
    const s = await open(motoMetadata(moto));
    await rejectsWith(
      s.getSecret({ name: "doomed", metadata: {} }),
      "not_found",
      /^secret doomed not found in AWS Secrets Manager \(InvalidRequestException: .*marked (for )?delet/,
    );
    const bulk = await s.bulkGetSecret({ metadata: {} });
    assert.equal(bulk.doomed, undefined);
    assert.deepEqual(bulk.conftestsecret, { conftestsecret: "abcd" });
    await s.close();
  });

  it("a binary secret comes back base64-encoded under its name", async () => {
    await create("binary-blob", new Uint8Array([0, 1, 2, 250, 255]));
    const s = await open(motoMetadata(moto));
    assert.deepEqual(await s.getSecret({ name: "binary-blob", metadata: {} }), { "binary-blob": "AAEC+v8=" });
    await s.close();
  });

  it("bulk pages through ListSecrets (more than one page of 100)", async () => {
    const names = Array.from({ length: 105 }, (_, i) => `page-${String(i).padStart(3, "0")}`);
    for (let i = 0; i < names.length; i += 15)
      await Promise.all(names.slice(i, i + 15).map((n) => create(n, `value-of-${n}`)));
    // The fixture really spans pages of the size the store asks for.
    const first = await admin.send(new ListSecretsCommand({ MaxResults: 100 }));
    assert.equal(first.SecretList?.length, 100);
    assert.ok(first.NextToken, "moto pages ListSecrets");
    const s = await open(motoMetadata(moto));
    const bulk = await s.bulkGetSecret({ metadata: {} });
    for (const n of names) assert.deepEqual(bulk[n], { [n]: `value-of-${n}` }, n);
    assert.ok(Object.keys(bulk).length > 105);
    await s.close();
  });

  it("static keys and session token from metadata are what signs the request", async () => {
    const fault = await startFaultEndpoint(
      400,
      "ResourceNotFoundException",
      "Secrets Manager can't find the specified secret.",
    );
    try {
      const token = `session-${CANARY}`;
      const s = await withEnv({ AWS_ACCESS_KEY_ID: "AKIAENVIRONMENTKEY01", AWS_SECRET_ACCESS_KEY: "env-secret" }, () =>
        open({
          region: "eu-west-3",
          endpoint: fault.endpoint,
          accessKey: "AKIAMETADATAKEY00001",
          secretKey: `sk-${CANARY}`,
          sessionToken: token,
        }),
      );
      await rejectsWith(s.getSecret({ name: "x", metadata: {} }), "not_found", /secret x not found/, [
        "AKIAMETADATAKEY00001",
        token,
      ]);
      const h = fault.headers()[0] ?? {};
      assert.match(
        String(h.authorization),
        /Credential=AKIAMETADATAKEY00001\/\d{8}\/eu-west-3\/secretsmanager\/aws4_request/,
      );
      assert.equal(h["x-amz-security-token"], token);
      assert.equal(h["x-amz-target"], "secretsmanager.GetSecretValue");
      await s.close();
    } finally {
      await fault.close();
    }
  });

  it("region comes from metadata region, its alias awsRegion, or AWS_REGION; none is a clear init error", async () => {
    const fault = await startFaultEndpoint(400, "ResourceNotFoundException", "not here");
    try {
      const regionOf = async (md: ComponentMetadata): Promise<string> => {
        const s = await open({ endpoint: fault.endpoint, accessKey: "AKIAREGIONTEST000001", secretKey: "x", ...md });
        await assert.rejects(s.getSecret({ name: "r", metadata: {} }));
        await s.close();
        const auth = String(fault.headers().at(-1)?.authorization);
        return /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(auth)?.[1] ?? "";
      };
      assert.equal(await regionOf({ region: "ap-south-1" }), "ap-south-1");
      assert.equal(await regionOf({ awsRegion: "ca-central-1" }), "ca-central-1");
      assert.equal(await withEnv({ AWS_REGION: "sa-east-1" }, () => regionOf({})), "sa-east-1");
    } finally {
      await fault.close();
    }
    await rejectsWith(
      open({ endpoint: moto.endpoint, accessKey: "a", secretKey: "b" }),
      "invalid_config",
      /no AWS region: set metadata region/,
    );
  });

  it("configuration mistakes fail init with a clear message and no credential", async () => {
    await rejectsWith(
      open({ region: MOTO_REGION, accessKey: `ak-${CANARY}` }),
      "invalid_config",
      /accessKey is set without secretKey/,
    );
    await rejectsWith(
      open({ region: MOTO_REGION, secretKey: `sk-${CANARY}` }),
      "invalid_config",
      /secretKey is set without accessKey/,
    );
    await rejectsWith(
      open({ region: MOTO_REGION, sessionToken: `st-${CANARY}` }),
      "invalid_config",
      /sessionToken is set without/,
    );
    await rejectsWith(
      open({ region: MOTO_REGION, endpoint: "localhost:4566" }),
      "invalid_config",
      /endpoint: "localhost:4566" must be an http/,
    );
    await rejectsWith(open({ region: MOTO_REGION, endpoint: "not a url" }), "invalid_config", /is not a URL/);
    await rejectsWith(
      open({ region: MOTO_REGION, trustAnchorArn: "arn:aws:rolesanywhere:x" }),
      "invalid_config",
      /IAM Roles Anywhere/,
    );
  });

  it("web identity (EKS IRSA): token file + role ARN through moto's STS, and those credentials sign the calls", async () => {
    await create("irsa-secret", `irsa-${CANARY}`);
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
    const roleArn = await createIamRole(
      moto,
      "eks-app",
      trust,
      policy([{ action: ["secretsmanager:GetSecretValue"] }]),
    );
    const tokenFile = join(tmp, "token");
    const jwt = `eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVmYXVsdDphcHAifQ.${CANARY}`;
    writeFileSync(tokenFile, jwt);
    const session = `keyward-irsa-${process.pid}`;
    const env = {
      AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
      AWS_ROLE_ARN: roleArn,
      AWS_ROLE_SESSION_NAME: session,
      AWS_ENDPOINT_URL_STS: moto.endpoint,
    };
    await withEnv(env, async () => {
      const s = await open({ region: MOTO_REGION, endpoint: moto.endpoint });
      assert.deepEqual(await s.getSecret({ name: "irsa-secret", metadata: {} }), { "irsa-secret": `irsa-${CANARY}` });
      const assumed = await moto.model("sts", "AssumedRole");
      assert.ok(
        assumed.some((a) => a.session_name === session && a.role_arn === roleArn),
        `moto's STS issued credentials for ${session}: ${JSON.stringify(assumed.map((a) => a.session_name))}`,
      );
      // With IAM authentication on, moto accepts only the STS-issued keys of a role allowed to read secrets.
      await moto.setIamAuth(true);
      try {
        assert.deepEqual(await s.getSecret({ name: "irsa-secret", metadata: {} }), { "irsa-secret": `irsa-${CANARY}` });
        // The role may not list secrets: a permission error, not a credential one.
        await rejectsWith(
          s.bulkGetSecret({ metadata: {} }),
          "permission_denied",
          /list secrets in AWS Secrets Manager failed: permission denied \(AccessDenied/,
          [jwt],
        );
      } finally {
        await moto.setIamAuth(false);
      }
      await s.close();
    });

    // The token file is not there (yet): no credentials, said as such, without the token; once the file is
    // mounted the same store reads, since failures are not cached.
    const lateFile = join(tmp, "late-token");
    await withEnv({ ...env, AWS_WEB_IDENTITY_TOKEN_FILE: lateFile }, async () => {
      const s = await open({ region: MOTO_REGION, endpoint: moto.endpoint });
      await rejectsWith(
        s.getSecret({ name: "irsa-secret", metadata: {} }),
        "bad_credentials",
        /bad credentials: could not obtain AWS credentials from the default credential chain.*ENOENT/,
        [jwt],
      );
      writeFileSync(lateFile, jwt);
      assert.deepEqual(await s.getSecret({ name: "irsa-secret", metadata: {} }), { "irsa-secret": `irsa-${CANARY}` });
      await s.close();
    });
    // STS cannot be reached: unreachable, and still about credentials.
    const port = await closedPort();
    await withEnv({ ...env, AWS_ENDPOINT_URL_STS: `http://127.0.0.1:${port}` }, async () => {
      const s = await open({ region: MOTO_REGION, endpoint: moto.endpoint });
      await rejectsWith(
        s.getSecret({ name: "irsa-secret", metadata: {} }),
        "unavailable",
        /unreachable: could not obtain AWS credentials.*ECONNREFUSED/,
        [jwt],
      );
      await s.close();
    });
  });

  it("default chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and a shared credentials profile", async () => {
    await create("chain-secret", "chained");
    const user = await createIamUser(moto, "chain-user", policy([{ action: "secretsmanager:GetSecretValue" }]));
    const credsFile = join(tmp, "credentials");
    writeFileSync(
      credsFile,
      `[other]\naws_access_key_id = ${user.accessKeyId}\naws_secret_access_key = ${user.secretAccessKey}\n`,
    );
    await moto.setIamAuth(true);
    try {
      await withEnv({ AWS_ACCESS_KEY_ID: user.accessKeyId, AWS_SECRET_ACCESS_KEY: user.secretAccessKey }, async () => {
        const s = await open({ region: MOTO_REGION, endpoint: moto.endpoint });
        assert.deepEqual(await s.getSecret({ name: "chain-secret", metadata: {} }), { "chain-secret": "chained" });
        await s.close();
      });
      await withEnv({ AWS_SHARED_CREDENTIALS_FILE: credsFile, AWS_PROFILE: "other" }, async () => {
        const s = await open({ region: MOTO_REGION, endpoint: moto.endpoint });
        assert.deepEqual(await s.getSecret({ name: "chain-secret", metadata: {} }), { "chain-secret": "chained" });
        await s.close();
      });
    } finally {
      await moto.setIamAuth(false);
    }
    // Nothing anywhere: the chain's own words, as a credential error.
    const s = await open({ region: MOTO_REGION, endpoint: moto.endpoint });
    await rejectsWith(
      s.getSecret({ name: "chain-secret", metadata: {} }),
      "bad_credentials",
      /could not obtain AWS credentials from the default credential chain .*\(CredentialsProviderError: Could not load credentials from any providers\)/,
    );
    await s.close();
  });

  it("assumeRoleArn: the configured keys assume the role through STS, session name defaults to DaprDefaultSession", async () => {
    await create("role-secret", "from-role");
    const user = await createIamUser(moto, "assumer", policy([{ action: "sts:AssumeRole" }]));
    const trust = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { AWS: user.arn }, Action: "sts:AssumeRole" }],
    });
    const roleArn = await createIamRole(moto, "reader", trust, policy([{ action: "secretsmanager:GetSecretValue" }]));
    await moto.setIamAuth(true);
    try {
      await withEnv({ AWS_ENDPOINT_URL_STS: moto.endpoint }, async () => {
        const direct = await open({
          region: MOTO_REGION,
          endpoint: moto.endpoint,
          accessKey: user.accessKeyId,
          secretKey: user.secretAccessKey,
        });
        await rejectsWith(
          direct.getSecret({ name: "role-secret", metadata: {} }),
          "permission_denied",
          /permission denied/,
          [user.secretAccessKey],
        );
        await direct.close();
        const s = await open({
          region: MOTO_REGION,
          endpoint: moto.endpoint,
          accessKey: user.accessKeyId,
          secretKey: user.secretAccessKey,
          assumeRoleArn: roleArn,
        });
        assert.deepEqual(await s.getSecret({ name: "role-secret", metadata: {} }), { "role-secret": "from-role" });
        await s.close();
        const named = await open({
          region: MOTO_REGION,
          endpoint: moto.endpoint,
          accessKey: user.accessKeyId,
          secretKey: user.secretAccessKey,
          assumeRoleArn: roleArn,
          sessionName: "my-app",
        });
        assert.deepEqual(await named.getSecret({ name: "role-secret", metadata: {} }), { "role-secret": "from-role" });
        await named.close();
      });
    } finally {
      await moto.setIamAuth(false);
    }
    const sessions = (await moto.model("sts", "AssumedRole"))
      .filter((a) => a.role_arn === roleArn)
      .map((a) => a.session_name);
    assert.ok(sessions.includes("DaprDefaultSession") && sessions.includes("my-app"), JSON.stringify(sessions));
  });

  it("error kinds: not found, permission denied, bad credentials, throttled, unreachable, service failure", async () => {
    await create("guarded", `guarded-${CANARY}`);
    await create("open-one", "fine");
    // moto checks actions, not resource ARNs: this user may list secrets but read none.
    const user = await createIamUser(moto, "limited", policy([{ action: "secretsmanager:ListSecrets" }]));
    await moto.setIamAuth(true);
    try {
      const s = await open({
        region: MOTO_REGION,
        endpoint: moto.endpoint,
        accessKey: user.accessKeyId,
        secretKey: user.secretAccessKey,
      });
      const denied = await rejectsWith(
        s.getSecret({ name: "guarded", metadata: {} }),
        "permission_denied",
        /^get secret guarded in AWS Secrets Manager failed: permission denied \(AccessDenied/,
        [user.secretAccessKey, user.accessKeyId],
      );
      assert.ok(!denied.message.includes(`guarded-${CANARY}`));
      // Listing is allowed, so the bulk read fails on its first read, with the same kind.
      await rejectsWith(
        s.bulkGetSecret({ metadata: {} }),
        "permission_denied",
        /^get secret \S+ in AWS Secrets Manager failed: permission denied/,
        [user.secretAccessKey],
      );
      await s.close();
      const wrongSecret = await open({
        region: MOTO_REGION,
        endpoint: moto.endpoint,
        accessKey: user.accessKeyId,
        secretKey: `wrong-${CANARY}`,
      });
      await rejectsWith(
        wrongSecret.getSecret({ name: "open-one", metadata: {} }),
        "bad_credentials",
        /bad credentials \(SignatureDoesNotMatch/,
        [user.accessKeyId],
      );
      await wrongSecret.close();
      const unknownKey = await open({
        region: MOTO_REGION,
        endpoint: moto.endpoint,
        accessKey: "AKIAUNKNOWNKEY000001",
        secretKey: `x-${CANARY}`,
      });
      await rejectsWith(
        unknownKey.getSecret({ name: "open-one", metadata: {} }),
        "bad_credentials",
        /bad credentials \(InvalidClientTokenId/,
        ["AKIAUNKNOWNKEY000001"],
      );
      await unknownKey.close();
    } finally {
      await moto.setIamAuth(false);
    }

    const s = await open(motoMetadata(moto));
    await rejectsWith(
      s.getSecret({ name: "no-such-secret", metadata: {} }),
      "not_found",
      /^secret no-such-secret not found in AWS Secrets Manager \(ResourceNotFoundException/,
    );
    await s.close();

    const port = await closedPort();
    const down = await open({ ...motoMetadata(moto), endpoint: `http://127.0.0.1:${port}` });
    await rejectsWith(
      down.getSecret({ name: "open-one", metadata: {} }),
      "unavailable",
      /failed: unreachable \(ECONNREFUSED/,
    );
    await rejectsWith(
      down.bulkGetSecret({ metadata: {} }),
      "unavailable",
      /list secrets in AWS Secrets Manager failed: unreachable/,
    );
    await down.close();

    const throttling = await startFaultEndpoint(400, "ThrottlingException", "Rate exceeded");
    const busy = await startFaultEndpoint(500, "InternalServiceError", "An error occurred on the server side.");
    try {
      const t = await open({ ...motoMetadata(moto), endpoint: throttling.endpoint });
      await rejectsWith(
        t.getSecret({ name: "open-one", metadata: {} }),
        "throttled",
        /failed: throttled \(ThrottlingException: Rate exceeded\)/,
      );
      assert.ok(throttling.requests() > 1, "the SDK retried before giving up");
      await t.close();
      const b = await open({ ...motoMetadata(moto), endpoint: busy.endpoint });
      await rejectsWith(b.getSecret({ name: "open-one", metadata: {} }), "unavailable", /InternalServiceError/);
      await b.close();
    } finally {
      await throttling.close();
      await busy.close();
    }
  });

  it("a request's abort signal ends the call", async () => {
    const s = await open(motoMetadata(moto));
    const ctl = new AbortController();
    ctl.abort();
    await rejectsWith(
      s.getSecret({ name: "conftestsecret", metadata: {} }, ctl.signal),
      "unavailable",
      /cancelled or timed out/,
    );
    await s.close();
  });

  it("close is idempotent and a closed store says so", async () => {
    const s = await open(motoMetadata(moto));
    await s.close();
    await s.close();
    await rejectsWith(
      s.getSecret({ name: "conftestsecret", metadata: {} }),
      "internal",
      /not initialised or was closed/,
    );
  });

  it("nothing logged holds a secret value or credential", () => {
    assert.ok(log.lines.length > 0);
    for (const line of log.lines) assert.ok(!line.includes(CANARY), line);
  });

  it("the AWS SDK is loaded only when the store initialises", () => {
    const mod = fileURLToPath(new URL("../../src/stores/aws/secretmanager.js", import.meta.url));
    // Lists the vendor modules in the CommonJS cache (the SDK is CommonJS) before and after a real SDK import.
    const script = `
      import { createRequire } from "node:module";
      const vendor = () => Object.keys(createRequire(import.meta.url).cache).filter((p) => p.includes("@aws-sdk"));
      const { definition } = await import(${JSON.stringify(mod)});
      definition.create();
      const before = vendor();
      await import("@aws-sdk/client-secrets-manager");
      console.log(JSON.stringify({ before, after: vendor().length }));
    `;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", cwd: REPO_ROOT });
    assert.equal(r.status, 0, r.stderr);
    const seen = JSON.parse(r.stdout.trim()) as { before: string[]; after: number };
    assert.deepEqual(seen.before, []);
    assert.ok(seen.after > 0, "the check sees a loaded SDK");
  });
});
