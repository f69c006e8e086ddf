/** @module The component metadata both AWS stores read (daprd's names), and each store's own fields. */
import type { MetadataField } from "../types.js";

const SHARED: readonly MetadataField[] = [
  {
    name: "region",
    aliases: ["awsRegion"],
    type: "string",
    description:
      "Default: from `AWS_REGION` / `AWS_DEFAULT_REGION` or the profile's `region`. AWS region. If none can be found, init fails with `no AWS region: set metadata region (or awsRegion), ...`.",
  },
  {
    name: "endpoint",
    type: "string",
    description:
      "Default: AWS's endpoint for the region (or `AWS_ENDPOINT_URL_SECRETS_MANAGER` / `AWS_ENDPOINT_URL_SSM` / `AWS_ENDPOINT_URL` from the environment). Full `http://` or `https://` URL of the service, e.g. a VPC endpoint, LocalStack (`http://localhost:4566`) or moto. Anything else fails init.",
  },
  {
    name: "accessKey",
    aliases: ["awsAccessKey"],
    type: "string",
    sensitive: true,
    description: "Static access key id. Give it with `secretKey`, or give neither.",
  },
  {
    name: "secretKey",
    aliases: ["awsSecretKey"],
    type: "string",
    sensitive: true,
    description: "Static secret access key.",
  },
  {
    name: "sessionToken",
    aliases: ["awsSessionToken"],
    type: "string",
    sensitive: true,
    description: "Session token for temporary static credentials; needs `accessKey` and `secretKey`.",
  },
  {
    name: "assumeRoleArn",
    type: "string",
    description:
      "Role to assume with STS `AssumeRole`, using the credentials above (static keys, or the default chain).",
  },
  {
    name: "sessionName",
    type: "string",
    default: "DaprDefaultSession",
    description: "Role session name for `assumeRoleArn`.",
  },
  {
    name: "trustAnchorArn",
    type: "string",
    description: "IAM Roles Anywhere (daprd): not supported; setting it fails init.",
  },
  {
    name: "trustProfileArn",
    type: "string",
    description: "IAM Roles Anywhere (daprd): not supported; setting it fails init.",
  },
];

export const SECRETMANAGER_METADATA: readonly MetadataField[] = [
  ...SHARED,
  {
    name: "multipleKeyValuesPerSecret",
    aliases: ["multipleKeysPerSecret"],
    type: "bool",
    default: "false",
    description:
      'When true, a secret whose value is a JSON object is returned as that object\'s members (`{"user":"app","password":"..."}` → keys `user`, `password`); non-string members come back as JSON text (`5432` → `"5432"`, `{"a":1}` → `"{\\"a\\":1}"`). A value that is not a JSON object stays `{<name>: <value>}`. Also advertises `MULTIPLE_KEY_VALUES_PER_SECRET` in `/v1.0/metadata`. Values other than a boolean (`true`, `false`, `1`, `0`, `yes`, `no`, ...) fail init.',
  },
];

export const PARAMETERSTORE_METADATA: readonly MetadataField[] = [
  ...SHARED,
  {
    name: "prefix",
    type: "string",
    description:
      "Prepended to every requested name; stripped from the returned names. With a prefix, bulk lists only parameters whose names begin with it.",
  },
];
