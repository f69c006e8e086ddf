/**
 * Discovery documents (legacy, unaggregated form) and server-side printing (`Table`) as kube-apiserver
 * serves them for the core group. kubectl asks for aggregated discovery first and falls back to these
 * when the Content-Type says plain JSON, as it does against older servers.
 */
import type { NamespaceObject, SecretObject } from "./state.js";

export const SERVER_VERSION = {
  major: "1",
  minor: "32",
  gitVersion: "v1.32.0-keyward-test",
  gitCommit: "0000000000000000000000000000000000000000",
  gitTreeState: "clean",
  buildDate: "2026-01-01T00:00:00Z",
  goVersion: "go1.23.4",
  compiler: "gc",
  platform: "linux/amd64",
};

export function apiVersions(serverAddress: string): object {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

const DAPR_GROUP_VERSION = { groupVersion: "dapr.io/v1alpha1", version: "v1alpha1" };

/** The dapr.io group, served as kube-apiserver serves a CRD's group. */
export const DAPR_API_GROUP = {
  kind: "APIGroup",
  apiVersion: "v1",
  name: "dapr.io",
  versions: [DAPR_GROUP_VERSION],
  preferredVersion: DAPR_GROUP_VERSION,
};

export const API_GROUP_LIST = {
  kind: "APIGroupList",
  apiVersion: "v1",
  groups: [{ name: DAPR_API_GROUP.name, versions: DAPR_API_GROUP.versions, preferredVersion: DAPR_GROUP_VERSION }],
};

const CR_VERBS = ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"];

export const DAPR_V1ALPHA1_RESOURCES = {
  kind: "APIResourceList",
  apiVersion: "v1",
  groupVersion: "dapr.io/v1alpha1",
  resources: [
    {
      name: "components",
      singularName: "component",
      namespaced: true,
      kind: "Component",
      verbs: CR_VERBS,
      categories: ["all", "dapr"],
    },
    { name: "configurations", singularName: "configuration", namespaced: true, kind: "Configuration", verbs: CR_VERBS },
    { name: "resiliencies", singularName: "resiliency", namespaced: true, kind: "Resiliency", verbs: CR_VERBS },
  ],
};

export const CORE_V1_RESOURCES = {
  kind: "APIResourceList",
  groupVersion: "v1",
  resources: [
    {
      name: "namespaces",
      singularName: "namespace",
      namespaced: false,
      kind: "Namespace",
      verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
      shortNames: ["ns"],
      storageVersionHash: "Q3oi5N2YM8M=",
    },
    {
      name: "secrets",
      singularName: "secret",
      namespaced: true,
      kind: "Secret",
      verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
      storageVersionHash: "S6u1pOWzb84=",
    },
  ],
};

/** Whether the Accept header asks for server-side printing. */
export function wantsTable(accept: string | undefined): boolean {
  return !!accept && accept.split(",").some((part) => /;\s*as=Table/.test(part) && /g=meta\.k8s\.io/.test(part));
}

function age(created: string): string {
  const seconds = Math.max(0, Math.floor((Date.now() - Date.parse(created)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes}m`;
  return `${Math.floor(minutes / 60)}h`;
}

const NAME_COLUMN = {
  name: "Name",
  type: "string",
  format: "name",
  description: "Name must be unique within a namespace.",
  priority: 0,
};
const AGE_COLUMN = {
  name: "Age",
  type: "string",
  format: "",
  description: "CreationTimestamp is a timestamp representing the server time when this object was created.",
  priority: 0,
};

function partial(o: SecretObject | NamespaceObject): object {
  return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata };
}

export function secretTable(items: SecretObject[], resourceVersion: string, cont?: string): object {
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: cont ? { resourceVersion, continue: cont } : { resourceVersion },
    columnDefinitions: [
      NAME_COLUMN,
      {
        name: "Type",
        type: "string",
        format: "",
        description: "Used to facilitate programmatic handling of secret data.",
        priority: 0,
      },
      { name: "Data", type: "string", format: "", description: "Data contains the secret data.", priority: 0 },
      AGE_COLUMN,
    ],
    rows: items.map((s) => ({
      cells: [s.metadata.name, s.type, Object.keys(s.data ?? {}).length, age(s.metadata.creationTimestamp)],
      object: partial(s),
    })),
  };
}

export function namespaceTable(items: NamespaceObject[], resourceVersion: string): object {
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: { resourceVersion },
    columnDefinitions: [
      NAME_COLUMN,
      { name: "Status", type: "string", format: "", description: "The status of the namespace", priority: 0 },
      AGE_COLUMN,
    ],
    rows: items.map((n) => ({
      cells: [n.metadata.name, n.status.phase, age(n.metadata.creationTimestamp)],
      object: partial(n),
    })),
  };
}
