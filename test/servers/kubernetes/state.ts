/**
 * The test API server's storage, shaped like etcd behind kube-apiserver: one global revision counter
 * (`resourceVersion`), objects keyed by namespace/name, an event history for watches that a test can
 * compact (older resourceVersions then answer 410 Expired), and live watchers.
 */
import { randomUUID } from "node:crypto";

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface SecretObject {
  kind: "Secret";
  apiVersion: "v1";
  metadata: ObjectMeta;
  data?: Record<string, string>;
  type: string;
  immutable?: boolean;
}

export interface NamespaceObject {
  kind: "Namespace";
  apiVersion: "v1";
  metadata: ObjectMeta;
  spec: { finalizers: string[] };
  status: { phase: "Active" };
}

export type EventType = "ADDED" | "MODIFIED" | "DELETED";

export interface WatchEvent {
  type: EventType;
  object: SecretObject;
  rv: number;
}

export interface Watcher {
  /** Namespace filter; undefined watches every namespace. */
  namespace: string | undefined;
  send(event: WatchEvent): void;
}

export class ClusterState {
  private revision = 1;
  /** Oldest resourceVersion a watch may start from; anything older is 410 Expired. */
  compactedRevision = 0;
  readonly namespaces = new Map<string, NamespaceObject>();
  /** "ns/name" → secret */
  private readonly secrets = new Map<string, SecretObject>();
  private history: WatchEvent[] = [];
  readonly watchers = new Set<Watcher>();

  constructor(namespaces: string[]) {
    for (const ns of namespaces) this.addNamespace(ns);
  }

  get resourceVersion(): number {
    return this.revision;
  }

  /** The next revision, for objects stored beside the secrets (one counter, as etcd has). */
  nextRevision(): number {
    return ++this.revision;
  }

  addNamespace(name: string): NamespaceObject {
    const existing = this.namespaces.get(name);
    if (existing) return existing;
    const ns: NamespaceObject = {
      kind: "Namespace",
      apiVersion: "v1",
      metadata: {
        name,
        uid: randomUUID(),
        resourceVersion: String(++this.revision),
        creationTimestamp: now(),
        labels: { "kubernetes.io/metadata.name": name },
      },
      spec: { finalizers: ["kubernetes"] },
      status: { phase: "Active" },
    };
    this.namespaces.set(name, ns);
    return ns;
  }

  getSecret(namespace: string, name: string): SecretObject | undefined {
    return this.secrets.get(`${namespace}/${name}`);
  }

  /** Secrets of one namespace (or all), in etcd key order: namespace, then name. */
  listSecrets(namespace: string | undefined): SecretObject[] {
    return [...this.secrets.values()]
      .filter((s) => namespace === undefined || s.metadata.namespace === namespace)
      .sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  }

  /** Creates or replaces a secret; returns the stored object. */
  putSecret(
    secret: Omit<SecretObject, "metadata"> & { metadata: Partial<ObjectMeta> & { name: string; namespace: string } },
  ): SecretObject {
    const k = `${secret.metadata.namespace}/${secret.metadata.name}`;
    const old = this.secrets.get(k);
    const rv = ++this.revision;
    const stored: SecretObject = {
      kind: "Secret",
      apiVersion: "v1",
      metadata: {
        ...secret.metadata,
        uid: old?.metadata.uid ?? randomUUID(),
        resourceVersion: String(rv),
        creationTimestamp: old?.metadata.creationTimestamp ?? now(),
      },
      type: secret.type || "Opaque",
    };
    // Go encodes maps with sorted keys, so the API server's JSON lists data keys in order.
    if (secret.data && Object.keys(secret.data).length > 0)
      stored.data = Object.fromEntries(Object.entries(secret.data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    if (secret.immutable !== undefined) stored.immutable = secret.immutable;
    this.secrets.set(k, stored);
    this.emit({ type: old ? "MODIFIED" : "ADDED", object: stored, rv });
    return stored;
  }

  deleteSecret(namespace: string, name: string): SecretObject | undefined {
    const k = `${namespace}/${name}`;
    const old = this.secrets.get(k);
    if (!old) return undefined;
    this.secrets.delete(k);
    const rv = ++this.revision;
    // A DELETED event carries the last state with the deletion's resourceVersion, as kube-apiserver does.
    const gone: SecretObject = { ...old, metadata: { ...old.metadata, resourceVersion: String(rv) } };
    this.emit({ type: "DELETED", object: gone, rv });
    return gone;
  }

  /** Events after `rv` for a namespace (or all), or undefined when that history was compacted away. */
  eventsSince(rv: number, namespace: string | undefined): WatchEvent[] | undefined {
    if (rv < this.compactedRevision) return undefined;
    return this.history.filter(
      (e) => e.rv > rv && (namespace === undefined || e.object.metadata.namespace === namespace),
    );
  }

  /** Forgets all history: watches from any earlier resourceVersion now get 410 Expired. */
  compact(): void {
    this.history = [];
    this.compactedRevision = this.revision;
  }

  private emit(event: WatchEvent): void {
    this.history.push(event);
    for (const w of this.watchers)
      if (w.namespace === undefined || w.namespace === event.object.metadata.namespace) w.send(event);
  }
}

function key(s: SecretObject): string {
  return `${s.metadata.namespace ?? ""}/${s.metadata.name}`;
}

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}
