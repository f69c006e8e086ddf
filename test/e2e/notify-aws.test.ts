/** End to end: change notifications of AWS Secrets Manager and Parameter Store components against moto, polled through their versions. */
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { DeleteParameterCommand, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { describeNotifyCases } from "../helpers/notify-cases.js";
import { isolateAwsEnv, MOTO_CREDENTIALS, MOTO_REGION, motoMetadata, startMoto, type Moto } from "../helpers/moto.js";

isolateAwsEnv();

let started: Promise<Moto> | undefined;
let users = 0;
/** One moto for both components' cases; stopped when the last of them closes. */
async function moto(): Promise<Moto> {
  users++;
  return (started ??= startMoto());
}
async function release(): Promise<void> {
  if (--users === 0) await (await started!).stop();
}
const client = async <T>(make: (cfg: object) => T): Promise<T> =>
  make({ region: MOTO_REGION, endpoint: (await started!).endpoint, credentials: MOTO_CREDENTIALS });

const created = new Set<string>();
describeNotifyCases("AWS Secrets Manager", {
  async start() {
    return { type: "secretstores.aws.secretmanager", metadata: motoMetadata(await moto()) };
  },
  async put(name, value) {
    const sm = await client((c) => new SecretsManagerClient(c));
    if (created.has(name)) await sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: value }));
    else await sm.send(new CreateSecretCommand({ Name: name, SecretString: value }));
    created.add(name);
    sm.destroy();
  },
  async remove(name) {
    const sm = await client((c) => new SecretsManagerClient(c));
    await sm.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }));
    created.delete(name);
    sm.destroy();
  },
  field: (name) => name,
  delayMs: 1500,
  close: release,
});

describeNotifyCases("AWS Parameter Store", {
  async start() {
    return { type: "secretstores.aws.parameterstore", metadata: motoMetadata(await moto()) };
  },
  async put(name, value) {
    const ssm = await client((c) => new SSMClient(c));
    await ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: "SecureString", Overwrite: true }));
    ssm.destroy();
  },
  async remove(name) {
    const ssm = await client((c) => new SSMClient(c));
    await ssm.send(new DeleteParameterCommand({ Name: name }));
    ssm.destroy();
  },
  field: (name) => name,
  delayMs: 1500,
  close: release,
});
