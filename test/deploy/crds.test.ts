/**
 * deploy/crds: the dapr.io CRDs render with `kubectl kustomize` (client side, no cluster) and match Dapr's
 * resources (group, names, version, scope), with structural schemas that keep a Component's metadata values of
 * any type, as Dapr's do. (`kubectl apply/create --dry-run=client` needs an API server's discovery for CRDs.)
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { REPO_ROOT } from "../helpers/paths.js";
import { DAPR_PLURALS } from "../servers/kubernetes/dapr-objects.js";

const pexec = promisify(execFile);

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  required?: string[];
  "x-kubernetes-preserve-unknown-fields"?: boolean;
}

interface Crd {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; singular: string; listKind: string };
    versions: { name: string; served: boolean; storage: boolean; schema: { openAPIV3Schema: Schema } }[];
  };
}

async function rendered(): Promise<Crd[]> {
  const r = await pexec("kubectl", ["kustomize", join(REPO_ROOT, "deploy", "crds")], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp" },
  });
  return parseAllDocuments(r.stdout).map((d) => {
    assert.equal(d.errors.length, 0, String(d.errors[0]));
    return d.toJSON() as Crd;
  });
}

/** A structural schema: every node has a type unless it keeps unknown fields; `path` names the node. */
function checkStructural(s: Schema, path: string): void {
  const preserve = s["x-kubernetes-preserve-unknown-fields"] === true;
  assert.ok(s.type !== undefined || preserve, `${path} has a type`);
  for (const r of s.required ?? []) assert.ok(s.properties?.[r], `${path}: required ${r} is a property`);
  for (const [k, v] of Object.entries(s.properties ?? {})) checkStructural(v, `${path}.${k}`);
  if (s.type === "array") {
    assert.ok(s.items, `${path} has items`);
    checkStructural(s.items, `${path}[]`);
  }
}

void describe("deploy/crds", () => {
  void it("renders the three dapr.io CRDs with Dapr's group, names and version", async () => {
    const crds = await rendered();
    assert.deepEqual(crds.map((c) => c.metadata.name).sort(), [
      "components.dapr.io",
      "configurations.dapr.io",
      "resiliencies.dapr.io",
    ]);
    for (const c of crds) {
      assert.equal(c.apiVersion, "apiextensions.k8s.io/v1");
      assert.equal(c.kind, "CustomResourceDefinition");
      assert.equal(c.spec.group, "dapr.io");
      assert.equal(c.spec.scope, "Namespaced");
      assert.equal(`${c.spec.names.plural}.dapr.io`, c.metadata.name);
      assert.equal(c.spec.names.kind, DAPR_PLURALS[c.spec.names.plural], "the kind the test API server serves");
      assert.equal(c.spec.names.listKind, `${c.spec.names.kind}List`);
      assert.equal(c.spec.names.singular, c.spec.names.kind.toLowerCase());
      assert.deepEqual(
        c.spec.versions.map((v) => [v.name, v.served, v.storage]),
        [["v1alpha1", true, true]],
      );
      checkStructural(c.spec.versions[0]!.schema.openAPIV3Schema, c.metadata.name);
    }
  });

  void it("keeps what Keyward reads: component metadata values of any type, scopes, secret scopes", async () => {
    const byName = new Map((await rendered()).map((c) => [c.metadata.name, c.spec.versions[0]!.schema.openAPIV3Schema]));
    const component = byName.get("components.dapr.io")!;
    const item = component.properties!.spec!.properties!.metadata!.items!;
    assert.equal(item.properties!.value!["x-kubernetes-preserve-unknown-fields"], true);
    assert.deepEqual(Object.keys(item.properties!.secretKeyRef!.properties!).sort(), ["key", "name"]);
    assert.equal(component.properties!.scopes!.items!.type, "string");
    assert.equal(component.properties!.auth!.properties!.secretStore!.type, "string");
    const config = byName.get("configurations.dapr.io")!.properties!.spec!;
    assert.equal(config["x-kubernetes-preserve-unknown-fields"], true, "daprd's other sections survive");
    const scope = config.properties!.secrets!.properties!.scopes!.items!.properties!;
    assert.deepEqual(Object.keys(scope).sort(), ["allowedSecrets", "defaultAccess", "deniedSecrets", "storeName"]);
    assert.ok(config.properties!.api!.properties!.denied);
    const resiliency = byName.get("resiliencies.dapr.io")!.properties!.spec!;
    assert.equal(resiliency.properties!.targets!["x-kubernetes-preserve-unknown-fields"], true);
  });
});
