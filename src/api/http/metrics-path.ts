/**
 * @module The `path` label of daprd's HTTP server metrics, as daprd's legacy (default) cardinality cuts it:
 * a secrets path stops at the store name, so no secret name ever becomes a label. Anything a client can
 * invent without bound (an unknown store, an unknown route, a metadata key) is folded into one value.
 */
import type { IncomingMessage } from "node:http";
import { plainSecretPath, SECRETS_PREFIX } from "./decode.js";

const VERBS = new Set(["GET", "PUT", "POST", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE"]);

export function metricsMethod(req: IncomingMessage): string {
  const m = req.method ?? "";
  return VERBS.has(m) ? m : "UNKNOWN";
}

/**
 * Secret paths' labels by the store segment as sent, with the store name it decodes to: each call reuses the
 * label string (hot path). Spellings of a name (percent-encoded letters) are many; only the first few are kept.
 */
const secretLabels = new Map<string, { store: string; label: string }>();
const MAX_KEPT_LABELS = 64;

/** The loaded stores, as a Set or Map of their names. */
type Stores = { has(name: string): boolean };

export function metricsPath(url: string | undefined, stores: Stores): string {
  const raw = url ?? "/";
  const q = raw.indexOf("?");
  const end = q < 0 ? raw.length : q;
  // The common shape, /v1.0/secrets/{store}/{key}, without splitting the URL (hot path).
  const slash = plainSecretPath(raw, end);
  if (slash > 0) return secretsLabel(raw.slice(SECRETS_PREFIX.length, slash), stores);
  const seg = raw
    .slice(0, end)
    .split("/")
    .filter((s) => s !== "");
  // A subscription's label, like a GET's, stops at the store name.
  if (seg[0] === "v1.0-alpha1" && seg[1] === "secrets" && seg.length === 5 && seg[4] === "subscribe")
    return `/v1.0-alpha1/secrets/${knownStore(seg[2]!, stores)}/subscribe`;
  if (seg[0] !== "v1.0") return "unmatched";
  switch (seg[1] ?? "") {
    case "secrets":
      return seg.length === 4 ? secretsLabel(seg[2]!, stores) : "unmatched";
    case "healthz":
      if (seg.length === 2) return "/v1.0/healthz";
      return seg.length === 3 && seg[2] === "outbound" ? "/v1.0/healthz/outbound" : "unmatched";
    case "metadata":
      if (seg.length === 2) return "/v1.0/metadata";
      return seg.length === 3 ? "/v1.0/metadata/{key}" : "unmatched";
    case "shutdown":
      return seg.length === 2 ? "/v1.0/shutdown" : "unmatched";
    default:
      return "unmatched";
  }
}

/**
 * `/v1.0/secrets/{store}` for a loaded store, `/v1.0/secrets/{unknown}` for anything else; `segment` is the
 * store's path segment as sent.
 */
export function secretsLabel(segment: string, stores: Stores): string {
  const kept = secretLabels.get(segment);
  // A store that a reload removed is unknown again.
  if (kept !== undefined) return stores.has(kept.store) ? kept.label : "/v1.0/secrets/{unknown}";
  const store = knownStore(segment, stores);
  const label = `/v1.0/secrets/${store}`;
  if (store !== "{unknown}" && secretLabels.size < MAX_KEPT_LABELS) secretLabels.set(segment, { store, label });
  return label;
}

/** The store name of a path segment when it is a loaded store, else `{unknown}` (clients invent names). */
function knownStore(segment: string, stores: Stores): string {
  try {
    const store = decodeURIComponent(segment);
    return stores.has(store) ? store : "{unknown}";
  } catch {
    return "{unknown}";
  }
}
