/** @module `secretstores.aws.secretmanager`: secrets from AWS Secrets Manager through the official SDK v3 client. */
import { SECRETMANAGER_METADATA } from "./metadata-fields.js";
import { readDeclared, validateByParsing } from "../declared-metadata.js";
import type { GetSecretValueCommandOutput, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { metadataValue } from "../metadata.js";
import { nameMatching } from "../names.js";
import {
  MULTIPLE_KEY_VALUES_PER_SECRET,
  SecretStoreError,
  type BulkGetSecretRequest,
  type BulkSecretData,
  type ComponentMetadata,
  type GetSecretRequest,
  type SecretData,
  type SecretStore,
  type SecretStoreDefinition,
  type SecretStoreFeature,
  type StoreContext,
} from "../types.js";
import { digestVersion } from "../shared/digest.js";
import { mapLimit } from "../shared/concurrency.js";
import { stringValues } from "../shared/go-json.js";
import { checkAwsMetadata, createClient, readAwsSettings } from "./settings.js";
import { toStoreError } from "./errors.js";
import { commonJsExports } from "../../commonjs-exports.js";

const SERVICE = "AWS Secrets Manager";
/** ListSecrets' largest page. */
const PAGE_SIZE = 100;
/** GetSecretValue calls in flight during a bulk read. */
const BULK_CONCURRENCY = 8;

type Sdk = typeof import("@aws-sdk/client-secrets-manager");

const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
/** A full or partial ARN (`arn:aws:secretsmanager:region:account:secret:name[-suffix]`). */
const SECRET_ARN = /^arn:[a-z-]+:secretsmanager:[a-z0-9-]*:\d*:secret:[A-Za-z0-9/_+=.@-]{1,512}$/;
const NAME_RULE = "a secret name is 1-512 letters, digits and /_+=.@- characters, or a Secrets Manager ARN";

export class SecretsManagerStore implements SecretStore {
  private sdk: Sdk | undefined;
  private client: SecretsManagerClient | undefined;
  private multiKey = false;
  private secrets: string[] = [];

  async init(metadata: ComponentMetadata, ctx: StoreContext): Promise<void> {
    // daprd documents multipleKeyValuesPerSecret; its decoder also knew the field as multipleKeysPerSecret.
    this.multiKey = readDeclared(metadata, SECRETMANAGER_METADATA).bool("multipleKeyValuesPerSecret");
    const settings = await readAwsSettings(metadata, ctx);
    this.secrets = settings.secrets;
    const sdk = (this.sdk = commonJsExports(await import("@aws-sdk/client-secrets-manager")));
    this.client = await createClient((config) => new sdk.SecretsManagerClient(config), settings);
  }

  /**
   * An ARN names a secret by another spelling, so it is resolved to the secret's name (DescribeSecret, which
   * reads no value) and the scope is checked on that name; plain names are read exactly as given.
   */
  async secretName(name: string, signal?: AbortSignal): Promise<string> {
    if (!name.startsWith("arn:")) return nameMatching(name, SECRET_NAME, NAME_RULE);
    nameMatching(name, SECRET_ARN, NAME_RULE);
    const { client, sdk } = this.ready();
    try {
      const out = await client.send(new sdk.DescribeSecretCommand({ SecretId: name }), { abortSignal: signal });
      if (!out.Name) throw new SecretStoreError("not_found", `secret ${name} has no name in ${SERVICE}`);
      return out.Name;
    } catch (err) {
      throw toStoreError(err, {
        service: SERVICE,
        action: `describe secret ${name}`,
        secretName: name,
        secrets: this.secrets,
      });
    }
  }

  async getSecret(req: GetSecretRequest, signal?: AbortSignal): Promise<SecretData> {
    return this.format(await this.read(req, signal), req.name);
  }

  /** Change notifications poll the secret's current VersionId (one GetSecretValue, as a read). */
  async versionOf(req: GetSecretRequest, signal?: AbortSignal): Promise<string> {
    const out = await this.read(req, signal);
    return out.VersionId ?? digestVersion(this.format(out, req.name));
  }

  private async read(req: GetSecretRequest, signal?: AbortSignal): Promise<GetSecretValueCommandOutput> {
    const { client, sdk } = this.ready();
    nameMatching(req.name, req.name.startsWith("arn:") ? SECRET_ARN : SECRET_NAME, NAME_RULE);
    const versionId = nonEmpty(metadataValue(req.metadata, "version_id"));
    const versionStage = nonEmpty(metadataValue(req.metadata, "version_stage"));
    let out: GetSecretValueCommandOutput;
    try {
      out = await client.send(
        new sdk.GetSecretValueCommand({
          SecretId: req.name,
          ...(versionId ? { VersionId: versionId } : {}),
          ...(versionStage ? { VersionStage: versionStage } : {}),
        }),
        { abortSignal: signal },
      );
    } catch (err) {
      const which = [versionId && `version_id ${versionId}`, versionStage && `version_stage ${versionStage}`]
        .filter(Boolean)
        .join(", ");
      const name = which ? `${req.name} (${which})` : req.name;
      throw toStoreError(err, {
        service: SERVICE,
        action: `get secret ${name}`,
        secretName: name,
        secrets: this.secrets,
      });
    }
    return out;
  }

  async bulkGetSecret(_req: BulkGetSecretRequest, signal?: AbortSignal): Promise<BulkSecretData> {
    const { client, sdk } = this.ready();
    const names: string[] = [];
    let nextToken: string | undefined;
    // Bounded: every page either ends the listing or hands a fresh token; a repeated token means a broken server.
    const seen = new Set<string>();
    for (;;) {
      let page;
      try {
        page = await client.send(
          new sdk.ListSecretsCommand({ MaxResults: PAGE_SIZE, ...(nextToken ? { NextToken: nextToken } : {}) }),
          { abortSignal: signal },
        );
      } catch (err) {
        throw toStoreError(err, { service: SERVICE, action: "list secrets", secrets: this.secrets });
      }
      for (const s of page.SecretList ?? []) if (s.Name) names.push(s.Name);
      nextToken = page.NextToken || undefined;
      if (!nextToken || seen.has(nextToken)) break;
      seen.add(nextToken);
    }

    const values = await mapLimit(names, BULK_CONCURRENCY, async (name) => {
      try {
        return await client.send(new sdk.GetSecretValueCommand({ SecretId: name }), { abortSignal: signal });
      } catch (err) {
        const e = toStoreError(err, {
          service: SERVICE,
          action: `get secret ${name}`,
          secretName: name,
          secrets: this.secrets,
        });
        // Deleted between the listing and the read, scheduled for deletion, or without a current version yet.
        if (e.kind === "not_found") return undefined;
        throw e;
      }
    });
    const result: BulkSecretData = {};
    names.forEach((name, i) => {
      const v = values[i];
      if (v) result[name] = this.format(v, name);
    });
    return result;
  }

  features(): readonly SecretStoreFeature[] {
    return this.multiKey ? [MULTIPLE_KEY_VALUES_PER_SECRET] : [];
  }

  async close(): Promise<void> {
    this.client?.destroy();
    this.client = undefined;
  }

  private ready(): { client: SecretsManagerClient; sdk: Sdk } {
    if (!this.client || !this.sdk)
      throw new SecretStoreError("internal", `${SERVICE} store is not initialised or was closed`);
    return { client: this.client, sdk: this.sdk };
  }

  /**
   * daprd's shape: `{Name: SecretString}`; with multipleKeyValuesPerSecret a JSON object's members become the keys
   * (non-string members as JSON text), anything else stays one value. A binary secret is returned base64-encoded.
   */
  private format(out: GetSecretValueCommandOutput, requested: string): SecretData {
    const name = out.Name ?? requested;
    let text: string;
    if (out.SecretString !== undefined) text = out.SecretString;
    else if (out.SecretBinary !== undefined) text = Buffer.from(out.SecretBinary).toString("base64");
    else return {};
    if (this.multiKey && out.SecretString !== undefined) {
      const parsed = parseObject(text);
      if (parsed) return parsed;
    }
    return { [name]: text };
  }
}

function parseObject(text: string): SecretData | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  return stringValues(v as Record<string, unknown>);
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === "" ? undefined : v;
}

export const definition: SecretStoreDefinition = {
  type: "aws.secretmanager",
  version: "v1",
  metadata: SECRETMANAGER_METADATA,
  validate: validateByParsing(checkAwsMetadata),
  create: () => new SecretsManagerStore(),
};
