/**
 * @module Checks a JSON request body the way protojson (DiscardUnknown) would decode it into
 * GetSecretRequest / GetBulkSecretRequest. The URL wins over the body, so only validity matters.
 * Messages never quote the body.
 */
const FIELDS = {
  get: { storeName: "string", store_name: "string", key: "string", metadata: "map" },
  bulk: { storeName: "string", store_name: "string", metadata: "map" },
} as const;

export function validateRequestBody(text: string, kind: "get" | "bulk"): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const m = /position (\d+)/.exec(String(err));
    return `proto: syntax error${m ? ` (at offset ${m[1]})` : ""}: invalid JSON`;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return "proto: syntax error: the body must be a JSON object";
  const fields: Record<string, string> = FIELDS[kind];
  for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
    const want = fields[name];
    if (want === undefined || v === null) continue;
    if (want === "string" && typeof v !== "string") return `proto: invalid value for string field ${name}`;
    if (want === "map") {
      if (typeof v !== "object" || Array.isArray(v)) return `proto: invalid value for map field ${name}`;
      for (const [k, mv] of Object.entries(v as Record<string, unknown>)) {
        if (typeof mv !== "string") return `proto: invalid value for string map value of ${name}[${JSON.stringify(k)}]`;
      }
    }
  }
  return undefined;
}
