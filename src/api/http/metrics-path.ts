/**
 * @module The `path` label of daprd's HTTP server metrics, as daprd's legacy (default) cardinality cuts it:
 * a secrets path stops at the store name, so no secret name ever becomes a label. Anything a client can
 * invent without bound (an unknown store, an unknown route, a metadata key) is folded into one value.
 */
import type { IncomingMessage } from "node:http";

const VERBS = new Set(["GET", "PUT", "POST", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE"]);

export function metricsMethod(req: IncomingMessage): string {
  const m = req.method ?? "";
  return VERBS.has(m) ? m : "UNKNOWN";
}

export function metricsPath(url: string | undefined, isStore: (name: string) => boolean): string {
  const raw = url ?? "/";
  const q = raw.indexOf("?");
  const seg = (q < 0 ? raw : raw.slice(0, q)).split("/").filter((s) => s !== "");
  // A subscription's label, like a GET's, stops at the store name.
  if (seg[0] === "v1.0-alpha1" && seg[1] === "secrets" && seg.length === 5 && seg[4] === "subscribe")
    return `/v1.0-alpha1/secrets/${knownStore(seg[2]!, isStore)}/subscribe`;
  if (seg[0] !== "v1.0") return "unmatched";
  switch (seg[1] ?? "") {
    case "secrets":
      return seg.length === 4 ? `/v1.0/secrets/${knownStore(seg[2]!, isStore)}` : "unmatched";
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

/** The store name of a path segment when it is a loaded store, else `{unknown}` (clients invent names). */
function knownStore(segment: string, isStore: (name: string) => boolean): string {
  try {
    const store = decodeURIComponent(segment);
    return isStore(store) ? store : "{unknown}";
  } catch {
    return "{unknown}";
  }
}
