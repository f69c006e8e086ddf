/**
 * @module An answer of the secrets service with its wire forms made once: the HTTP JSON body and a frozen
 * gRPC reply object (whose protobuf bytes the gRPC serializer keeps). A cached answer is served again and
 * again, so a hit costs neither a store call nor serialisation.
 */
import { goFlatMap, goNestedMap } from "../../api/http/encode.js";
import type { BulkSecretData, SecretData } from "../../stores/types.js";

abstract class Answer<T extends object> {
  private body: Buffer | undefined;
  private reply: object | undefined;

  /** `null`: the store returned no data (HTTP 204, an empty gRPC message). */
  constructor(readonly data: T | null) {}

  /** The HTTP 200 body, or null for 204. */
  http(): Buffer | null {
    if (this.data === null) return null;
    return (this.body ??= Buffer.from(this.json(this.data) + "\n"));
  }

  /** The gRPC response message, frozen so the serializer may keep its bytes. */
  grpc(): object {
    return (this.reply ??= Object.freeze(this.message(this.data)));
  }

  /** Estimated bytes held, for the cache's memory bound. */
  size(): number {
    return (this.http()?.length ?? 0) * 3 + 64;
  }

  protected abstract json(data: T): string;
  protected abstract message(data: T | null): object;
}

export class SecretAnswer extends Answer<SecretData> {
  protected json(data: SecretData): string {
    return goFlatMap(data);
  }
  protected message(data: SecretData | null): object {
    return { data: data ?? {} };
  }
}

export class BulkAnswer extends Answer<BulkSecretData> {
  private scoped: { scope: object; answer: BulkAnswer } | undefined;

  protected json(data: BulkSecretData): string {
    return goNestedMap(data);
  }
  protected message(data: BulkSecretData | null): object {
    const out: Record<string, { secrets: SecretData }> = {};
    for (const [name, secrets] of Object.entries(data ?? {})) out[name] = { secrets };
    return { data: out };
  }

  /** This answer filtered by a secret scope, made once per scope object (a configuration reload makes a new one). */
  filtered(scope: object, filter: (data: BulkSecretData) => BulkSecretData): BulkAnswer {
    if (this.data === null) return this;
    if (this.scoped?.scope !== scope) this.scoped = { scope, answer: new BulkAnswer(filter(this.data)) };
    return this.scoped.answer;
  }
}
