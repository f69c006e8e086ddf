/** @module `secretstores.aws.parameterstore`: parameters from AWS SSM Parameter Store through the official SDK v3 client. */
import { PARAMETERSTORE_METADATA } from "./metadata-fields.js";
import { readDeclared, validateByParsing } from "../declared-metadata.js";
import type { GetParameterCommandOutput, SSMClient } from "@aws-sdk/client-ssm";
import { metadataValue } from "../metadata.js";
import { invalidName } from "../names.js";
import {
  SecretStoreError,
  type BulkGetSecretRequest,
  type BulkSecretData,
  type ComponentMetadata,
  type GetSecretRequest,
  type SecretData,
  type SecretStore,
  type SecretStoreDefinition,
  type StoreContext,
} from "../types.js";
import { digestVersion } from "../shared/digest.js";
import { mapLimit } from "../shared/concurrency.js";
import { checkAwsMetadata, createClient, readAwsSettings } from "./settings.js";
import { toStoreError } from "./errors.js";
import { commonJsExports } from "../../commonjs-exports.js";

const SERVICE = "AWS SSM Parameter Store";
/** DescribeParameters' largest page. */
const PAGE_SIZE = 50;
/** GetParameter calls in flight during a bulk read (the API's default rate is 40 per second). */
const BULK_CONCURRENCY = 8;

type Sdk = typeof import("@aws-sdk/client-ssm");

const PARAMETER_NAME = /^[A-Za-z0-9_.\-/]{1,2048}$/;

export class ParameterStore implements SecretStore {
  private sdk: Sdk | undefined;
  private client: SSMClient | undefined;
  private prefix = "";
  private secrets: string[] = [];

  async init(metadata: ComponentMetadata, ctx: StoreContext): Promise<void> {
    this.prefix = readDeclared(metadata, PARAMETERSTORE_METADATA).text("prefix") ?? "";
    const settings = await readAwsSettings(metadata, ctx);
    this.secrets = settings.secrets;
    const sdk = (this.sdk = commonJsExports(await import("@aws-sdk/client-ssm")));
    this.client = await createClient((config) => new sdk.SSMClient(config), settings);
  }

  /**
   * One spelling per parameter: `name:3` or `name:label` would select a version or label of `name`, and an ARN
   * another spelling of it, so ':' is refused; a single-level name goes without '/', a hierarchy with a
   * leading one and no empty level, so no two accepted spellings can name one parameter.
   */
  secretName(name: string): string {
    const full = this.prefix + name;
    if (name === "" || !PARAMETER_NAME.test(full))
      throw invalidName(name, "a parameter name is letters, digits, '_', '.', '-' and '/' (no ':', no ARN)");
    const levels = full.split("/");
    const odd = (level: string) => level === "" || level === "." || level === "..";
    // "/db" is refused too: whether AWS reads it as "db" is not something a scope should depend on.
    const hierarchical = levels.length > 2 && levels[0] === "" && !levels.slice(1).some(odd);
    if (levels.length > 1 ? !hierarchical : odd(full))
      throw invalidName(
        name,
        "a hierarchical parameter name is '/' and levels, none empty, '.' or '..'; a single-level one has no '/'",
      );
    return name;
  }

  /** Reads `prefix + name`, `prefix + name:version_id` when a version is asked for; SecureStrings come decrypted. */
  async getSecret(req: GetSecretRequest, signal?: AbortSignal): Promise<SecretData> {
    const p = (await this.read(req, signal)).Parameter;
    if (p?.Value === undefined) return {};
    return { [this.strip(p.Name ?? this.prefix + req.name)]: p.Value };
  }

  /** Change notifications poll the parameter's current Version (one GetParameter, as a read). */
  async versionOf(req: GetSecretRequest, signal?: AbortSignal): Promise<string> {
    const out = await this.read(req, signal);
    const version = out.Parameter?.Version;
    return version === undefined ? digestVersion({ v: out.Parameter?.Value ?? "" }) : String(version);
  }

  private async read(req: GetSecretRequest, signal?: AbortSignal): Promise<GetParameterCommandOutput> {
    const { client, sdk } = this.ready();
    const versionId = metadataValue(req.metadata, "version_id");
    this.secretName(req.name);
    if (versionId && !/^[A-Za-z0-9_.-]+$/.test(versionId))
      throw new SecretStoreError(
        "invalid_request",
        `version_id ${JSON.stringify(versionId)} is not a version or label`,
      );
    const selector = versionId ? `${req.name}:${versionId}` : req.name;
    let out: GetParameterCommandOutput;
    try {
      out = await client.send(new sdk.GetParameterCommand({ Name: this.prefix + selector, WithDecryption: true }), {
        abortSignal: signal,
      });
    } catch (err) {
      throw toStoreError(err, {
        service: SERVICE,
        action: `get parameter ${this.prefix + selector}`,
        secretName: this.prefix + selector,
        secrets: this.secrets,
      });
    }
    return out;
  }

  /** Every parameter whose name begins with the prefix, keyed by its name without the prefix. */
  async bulkGetSecret(_req: BulkGetSecretRequest, signal?: AbortSignal): Promise<BulkSecretData> {
    const { client, sdk } = this.ready();
    const filters = this.prefix ? [{ Key: "Name", Option: "BeginsWith", Values: [this.prefix] }] : undefined;
    const names: string[] = [];
    let nextToken: string | undefined;
    const seen = new Set<string>();
    for (;;) {
      let page;
      try {
        page = await client.send(
          new sdk.DescribeParametersCommand({
            MaxResults: PAGE_SIZE,
            ...(filters ? { ParameterFilters: filters } : {}),
            ...(nextToken ? { NextToken: nextToken } : {}),
          }),
          { abortSignal: signal },
        );
      } catch (err) {
        throw toStoreError(err, { service: SERVICE, action: "list parameters", secrets: this.secrets });
      }
      for (const p of page.Parameters ?? []) if (p.Name && p.Name.startsWith(this.prefix)) names.push(p.Name);
      nextToken = page.NextToken || undefined;
      if (!nextToken || seen.has(nextToken)) break;
      seen.add(nextToken);
    }

    const values = await mapLimit(names, BULK_CONCURRENCY, async (name) => {
      try {
        const out = await client.send(new sdk.GetParameterCommand({ Name: name, WithDecryption: true }), {
          abortSignal: signal,
        });
        return out.Parameter?.Value;
      } catch (err) {
        const e = toStoreError(err, {
          service: SERVICE,
          action: `get parameter ${name}`,
          secretName: name,
          secrets: this.secrets,
        });
        // Deleted between the listing and the read.
        if (e.kind === "not_found") return undefined;
        throw e;
      }
    });
    const result: BulkSecretData = {};
    names.forEach((name, i) => {
      const v = values[i];
      if (v === undefined) return;
      const short = this.strip(name);
      result[short] = { [short]: v };
    });
    return result;
  }

  features(): readonly [] {
    return [];
  }

  async close(): Promise<void> {
    this.client?.destroy();
    this.client = undefined;
  }

  private strip(name: string): string {
    return this.prefix && name.startsWith(this.prefix) ? name.slice(this.prefix.length) : name;
  }

  private ready(): { client: SSMClient; sdk: Sdk } {
    if (!this.client || !this.sdk)
      throw new SecretStoreError("internal", `${SERVICE} store is not initialised or was closed`);
    return { client: this.client, sdk: this.sdk };
  }
}

export const definition: SecretStoreDefinition = {
  type: "aws.parameterstore",
  version: "v1",
  metadata: PARAMETERSTORE_METADATA,
  validate: validateByParsing(checkAwsMetadata),
  create: () => new ParameterStore(),
};
