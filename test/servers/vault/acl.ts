/** ACL policies of the Vault test server: Vault's path rules (exact, `*` prefix glob, `+` segment) and HCL/JSON policy text. */
import type { Namespace, PolicyRule, Token, VaultState } from "./state.js";

export type Capability = "read" | "list" | "create" | "update" | "delete" | "patch" | "sudo";

/** Parses policy text in HCL (`path "x" { capabilities = ["read"] }`) or its JSON form. */
export function parsePolicy(text: string): PolicyRule[] {
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) {
    const doc = JSON.parse(trimmed) as { path?: Record<string, { capabilities?: string[] }> };
    return Object.entries(doc.path ?? {}).map(([path, r]) => ({ path, capabilities: r.capabilities ?? [] }));
  }
  const rules: PolicyRule[] = [];
  for (const m of trimmed.matchAll(/path\s+"([^"]+)"\s*\{([^}]*)\}/g)) {
    const caps = /capabilities\s*=\s*\[([^\]]*)\]/.exec(m[2] ?? "");
    const list = caps ? [...(caps[1] ?? "").matchAll(/"([^"]+)"/g)].map((c) => c[1] as string) : [];
    rules.push({ path: m[1] as string, capabilities: list });
  }
  if (rules.length === 0 && trimmed !== "") throw new Error("failed to parse policy: no path rules");
  return rules;
}

export function formatPolicy(rules: PolicyRule[]): string {
  return rules
    .map((r) => `path "${r.path}" {\n  capabilities = [${r.capabilities.map((c) => `"${c}"`).join(", ")}]\n}`)
    .join("\n\n");
}

function ruleMatches(pattern: string, path: string): boolean {
  const glob = pattern.endsWith("*");
  const body = glob ? pattern.slice(0, -1) : pattern;
  const re = new RegExp(`^${body.split("+").map(escapeRe).join("[^/]+")}${glob ? "" : "$"}`);
  return re.test(path);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Vault picks the most specific rule: exact beats glob, then the longer literal prefix. */
function specificity(pattern: string): number {
  const wild = pattern.search(/[+*]/);
  return (wild === -1 ? 1_000_000 : wild * 1000) + pattern.length;
}

/** Capabilities the token holds on `path` within request namespace `ns`. */
export function capabilities(state: VaultState, token: Token, ns: Namespace, path: string): Set<string> {
  if (!ns.path.startsWith(token.namespace)) return new Set();
  const relative = ns.path.slice(token.namespace.length) + path;
  const home = state.namespace(token.namespace);
  if (!home) return new Set();
  if (token.policies.includes("root"))
    return new Set(["root", "read", "list", "create", "update", "delete", "patch", "sudo"]);
  let best: PolicyRule | undefined;
  let bestScore = -1;
  for (const name of token.policies) {
    for (const rule of home.policies.get(name) ?? []) {
      if (!ruleMatches(rule.path, relative)) continue;
      const score = specificity(rule.path);
      if (score > bestScore || (score === bestScore && rule.capabilities.includes("deny"))) {
        best = rule;
        bestScore = score;
      } else if (score === bestScore && best) {
        best = { path: best.path, capabilities: [...best.capabilities, ...rule.capabilities] };
      }
    }
  }
  if (!best || best.capabilities.includes("deny")) return new Set();
  return new Set(best.capabilities);
}

export function allowed(
  state: VaultState,
  token: Token,
  ns: Namespace,
  path: string,
  cap: Capability | "write",
): boolean {
  const caps = capabilities(state, token, ns, path);
  if (caps.has("root")) return true;
  if (cap === "write") return caps.has("create") || caps.has("update");
  return caps.has(cap);
}

/** True if the token holds any capability at or below `prefix` (what `sys/internal/ui/mounts` checks). */
export function anyAccessBelow(state: VaultState, token: Token, ns: Namespace, prefix: string): boolean {
  if (token.policies.includes("root") && ns.path.startsWith(token.namespace)) return true;
  const home = state.namespace(token.namespace);
  if (!home || !ns.path.startsWith(token.namespace)) return false;
  const rel = ns.path.slice(token.namespace.length) + prefix;
  for (const name of token.policies) {
    for (const rule of home.policies.get(name) ?? []) {
      if (rule.capabilities.length === 0 || rule.capabilities.includes("deny")) continue;
      const literal = rule.path.replace(/[+*].*$/, "");
      if (literal.startsWith(rel) || rel.startsWith(literal)) return true;
    }
  }
  return false;
}
