/**
 * @module Change notifications: one topic per (component, secret, request metadata), however many
 * subscribers it has. A topic learns of changes from the store's push (`watchChanges`) or by asking the
 * store for the secret's version every `pollInterval` (`versionOf`), re-reads the secret only when that
 * says it changed, and hands the new state to every subscriber, which keeps only the latest one.
 */
import { createHash } from "node:crypto";
import { ApiError, Errors } from "../../errors/catalogue.js";
import type { Logger } from "../../log.js";
import type { SidecarMetrics } from "../../metrics.js";
import { SecretStoreError } from "../../stores/types.js";
import type { SecretAnswer } from "../cache/answer.js";
import { DEFAULT_POLL_INTERVAL_MS } from "../cache/options.js";
import type { LoadedStore } from "../secrets-service.js";
import { SUBSCRIPTION_LIMITS, type SecretEvent, type Subscriber } from "./events.js";

type Metadata = Readonly<Record<string, string>>;

export interface HubDeps {
  /** A fresh read of the secret (never from the cache), which also drops the component's cached answers for it. */
  read(entry: LoadedStore, name: string, metadata: Metadata, signal: AbortSignal): Promise<SecretAnswer>;
  /** Whether the scopes still let callers read the secret; checked before every delivery. */
  allowed(entry: LoadedStore, name: string): boolean;
  log: Logger;
  metrics?: SidecarMetrics;
  limits?: { total: number; perConnection: number };
}

export interface SubscribeRequest {
  entry: LoadedStore;
  /** The name as the store reads it (the scope was checked on it). */
  name: string;
  metadata: Metadata;
  /** Who holds the subscription, for the per-connection bound; undefined for the runtime's own. */
  connection?: string;
  /** The runtime's own subscriptions (rotation) are not bound by scopes nor counted as clients. */
  internal?: boolean;
}

interface Member {
  sub: Subscriber;
  req: SubscribeRequest;
}

class Topic {
  readonly members = new Set<Member>();
  entry: LoadedStore;
  /** Digest of the last state handed out, so a poll or a push that changed nothing sends nothing. */
  digest: string | undefined;
  last: SecretEvent | undefined;
  version: string | undefined;
  ready: Promise<void> | undefined;
  stopSource: (() => void) | undefined;
  busy: Promise<void> | undefined;
  again = false;
  readonly abort = new AbortController();

  constructor(
    readonly key: string,
    readonly name: string,
    readonly metadata: Metadata,
    entry: LoadedStore,
  ) {
    this.entry = entry;
  }
}

/** Whether a component's store can notify changes at all, and how. */
export function notifySource(entry: LoadedStore): "push" | "poll" | undefined {
  if (entry.store.watchChanges) return "push";
  return entry.store.versionOf ? "poll" : undefined;
}

export class NotificationHub {
  private readonly topics = new Map<string, Topic>();
  private readonly perConnection = new Map<string, number>();
  private clients = 0;
  private closed = false;
  private readonly limits: { total: number; perConnection: number };

  constructor(private readonly deps: HubDeps) {
    this.limits = deps.limits ?? SUBSCRIPTION_LIMITS;
  }

  /** Subscriptions held by clients now. */
  get active(): number {
    return this.clients;
  }

  /**
   * Adds a subscriber; resolves once it has been handed the secret's current state, or rejects (and adds
   * nothing) with the error a GET would answer. Returns the function that ends the subscription.
   */
  async subscribe(req: SubscribeRequest, sub: Subscriber): Promise<() => void> {
    if (this.closed) throw new ApiError(Errors.SUBSCRIBE_UNAVAILABLE, [req.entry.name, "the sidecar is shutting down"]);
    if (!notifySource(req.entry))
      throw new ApiError(Errors.SUBSCRIBE_UNSUPPORTED, [
        req.entry.name,
        req.entry.type,
        "its store cannot watch or poll its secrets",
      ]);
    if (!req.internal) this.admit(req.connection);
    const key = topicKey(req.entry.name, req.name, req.metadata);
    let topic = this.topics.get(key);
    if (!topic) {
      topic = new Topic(key, req.name, req.metadata, req.entry);
      this.topics.set(key, topic);
      const t = topic;
      topic.ready = this.refresh(t, true).then(() => this.startSource(t));
    }
    const member: Member = { sub, req };
    topic.members.add(member);
    if (!req.internal) this.deps.metrics?.subscriptionsActive(req.entry.name, 1);
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      this.leave(topic, member);
    };
    try {
      await topic.ready;
    } catch (err) {
      end();
      throw err;
    }
    if (ended) return end;
    if (topic.last) this.deliver(topic, member, topic.last);
    return end;
  }

  private admit(connection: string | undefined): void {
    if (this.clients >= this.limits.total)
      throw new ApiError(Errors.SUBSCRIPTIONS_EXCEEDED, [`the sidecar holds its maximum of ${this.limits.total}`]);
    if (connection !== undefined) {
      const n = this.perConnection.get(connection) ?? 0;
      if (n >= this.limits.perConnection)
        throw new ApiError(Errors.SUBSCRIPTIONS_EXCEEDED, [
          `this connection holds its maximum of ${this.limits.perConnection}`,
        ]);
      this.perConnection.set(connection, n + 1);
    }
    this.clients++;
  }

  private leave(topic: Topic, member: Member): void {
    if (!topic.members.delete(member)) return;
    const { req } = member;
    if (!req.internal) {
      this.clients--;
      this.deps.metrics?.subscriptionsActive(req.entry.name, -1);
      if (req.connection !== undefined) {
        const n = (this.perConnection.get(req.connection) ?? 1) - 1;
        if (n <= 0) this.perConnection.delete(req.connection);
        else this.perConnection.set(req.connection, n);
      }
    }
    if (topic.members.size === 0) this.drop(topic);
  }

  private drop(topic: Topic): void {
    if (this.topics.get(topic.key) === topic) this.topics.delete(topic.key);
    topic.stopSource?.();
    topic.stopSource = undefined;
    topic.abort.abort();
  }

  private startSource(topic: Topic): void {
    if (topic.abort.signal.aborted) return;
    const store = topic.entry.store;
    const stop = store.watchChanges?.((name) => {
      if (name === undefined || name === topic.name) this.changed(topic);
    });
    if (stop) {
      topic.stopSource = stop;
      return;
    }
    if (!store.versionOf) return;
    const timer = setInterval(() => this.changed(topic, true), topic.entry.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS);
    timer.unref();
    topic.stopSource = () => clearInterval(timer);
  }

  /** A change may have happened: re-check, one at a time per topic (a change during a check checks again). */
  private changed(topic: Topic, poll = false): void {
    if (topic.busy) {
      // A poll tick while a check runs is simply skipped; a push must not be lost.
      if (!poll) topic.again = true;
      return;
    }
    topic.busy = (poll ? this.poll(topic) : this.refresh(topic, false))
      .catch((err: unknown) => this.failed(topic, err))
      .finally(() => {
        topic.busy = undefined;
        if (topic.again && !topic.abort.signal.aborted) {
          topic.again = false;
          this.changed(topic);
        }
      });
  }

  private async poll(topic: Topic): Promise<void> {
    const store = topic.entry.store;
    if (!store.versionOf) return;
    this.deps.metrics?.notificationPoll(topic.entry.name);
    let version: string;
    try {
      version = await store.versionOf({ name: topic.name, metadata: topic.metadata }, topic.abort.signal);
    } catch (err) {
      if (isNotFound(err)) return this.publish(topic, { kind: "delete" });
      throw err;
    }
    if (version === topic.version) return;
    await this.refresh(topic, false, version);
  }

  /** Reads the secret now and publishes it if it differs from the last state. The first read's failure is thrown. */
  private async refresh(topic: Topic, first: boolean, version?: string): Promise<void> {
    const store = topic.entry.store;
    if (first && !topic.entry.store.watchChanges && store.versionOf) {
      // A polled topic starts from the version it read, so the first poll does not read the value again. If
      // that fails, the read below fails too and answers the subscriber as a GET would.
      version = await store
        .versionOf({ name: topic.name, metadata: topic.metadata }, topic.abort.signal)
        .catch(() => undefined);
    }
    let answer: SecretAnswer;
    try {
      answer = await this.deps.read(topic.entry, topic.name, topic.metadata, topic.abort.signal);
    } catch (err) {
      if (!first && isNotFound(err)) return this.publish(topic, { kind: "delete" });
      throw err;
    }
    topic.version = version ?? topic.version;
    this.publish(topic, {
      kind: "update",
      answer,
      ...(topic.version === undefined ? {} : { version: topic.version }),
    });
  }

  private publish(topic: Topic, event: SecretEvent): void {
    const digest = event.kind === "delete" ? "deleted" : digestOf(event.answer!);
    if (digest === topic.digest) return;
    const previous = topic.digest;
    topic.digest = digest;
    topic.last = event;
    if (event.kind === "delete") topic.version = undefined;
    // The first state reaches each subscriber as it joins; later ones go to all at once.
    if (previous === undefined) return;
    for (const member of [...topic.members]) this.deliver(topic, member, event);
  }

  private deliver(topic: Topic, member: Member, event: SecretEvent): void {
    if (!member.req.internal && !this.deps.allowed(topic.entry, topic.name)) {
      member.sub.close("access to the secret was revoked by the secret scopes");
      this.leave(topic, member);
      return;
    }
    member.sub.push(event);
    if (!member.req.internal) this.deps.metrics?.notificationSent(topic.entry.name);
  }

  private failed(topic: Topic, err: unknown): void {
    if (topic.abort.signal.aborted) return;
    const reason = err instanceof Error ? err.message : String(err);
    this.deps.log.warn(
      { store: topic.entry.name },
      `change notifications: checking a subscribed secret failed (the subscription stays): ${reason}`,
    );
  }

  /**
   * A component was replaced (hot reload, rotation) or removed: its topics move to the new instance and
   * check for a change at once, or their subscriptions end.
   */
  componentChanged(name: string, entry: LoadedStore | undefined): void {
    for (const topic of [...this.topics.values()]) {
      if (topic.entry.name !== name || topic.entry === entry) continue;
      if (!entry || !notifySource(entry)) {
        const why = entry ? "the component's new configuration cannot notify changes" : "the component was removed";
        for (const member of [...topic.members]) {
          member.sub.close(why);
          this.leave(topic, member);
        }
        continue;
      }
      topic.stopSource?.();
      topic.stopSource = undefined;
      topic.entry = entry;
      this.startSource(topic);
      this.changed(topic);
    }
  }

  /** Shutdown: every subscription ends. */
  close(): void {
    this.closed = true;
    for (const topic of [...this.topics.values()])
      for (const member of [...topic.members]) {
        member.sub.close("the sidecar is shutting down");
        this.leave(topic, member);
      }
  }
}

function topicKey(store: string, name: string, metadata: Metadata): string {
  const md = Object.entries(metadata).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([store, name, md]);
}

function digestOf(answer: SecretAnswer): string {
  return createHash("sha256")
    .update(answer.http() ?? "")
    .digest("base64");
}

function isNotFound(err: unknown): boolean {
  const cause = err instanceof ApiError ? err.cause : err;
  return cause instanceof SecretStoreError && cause.kind === "not_found";
}
