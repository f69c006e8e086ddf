/**
 * `Status` objects exactly as kube-apiserver writes them (k8s.io/apimachinery/pkg/api/errors): the body of
 * every error answer and of ERROR watch events.
 */

export interface Status {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never> | { resourceVersion?: string };
  status: "Failure" | "Success";
  message?: string;
  reason?: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: { reason: string; message: string; field: string }[];
    retryAfterSeconds?: number;
  };
  code: number;
}

function failure(code: number, reason: string, message: string, details?: Status["details"]): Status {
  const s: Status = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code };
  if (details) s.details = details;
  return s;
}

/** `resource` is the plural resource name ("secrets"); `name` empty for collections. */
export function notFound(resource: string, name: string): Status {
  return failure(404, "NotFound", `${resource} "${name}" not found`, { name, kind: resource });
}

export function alreadyExists(resource: string, name: string): Status {
  return failure(409, "AlreadyExists", `${resource} "${name}" already exists`, { name, kind: resource });
}

export function conflict(resource: string, name: string): Status {
  return failure(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    {
      name,
      kind: resource,
    },
  );
}

/** The authorizer's message: names the user, verb, resource and namespace, as RBAC denials do. */
export function forbidden(
  user: string,
  verb: string,
  resource: string,
  name: string,
  namespace: string | undefined,
  group = "",
): Status {
  const qualified = group ? `${resource}.${group}` : resource;
  const subject = name ? `${qualified} "${name}"` : qualified;
  const where = namespace ? ` in the namespace "${namespace}"` : " at the cluster scope";
  const message = `${subject} is forbidden: User "${user}" cannot ${verb} resource "${resource}" in API group "${group}"${where}`;
  const details: Status["details"] = { kind: resource };
  if (group) details.group = group;
  if (name) details.name = name;
  return failure(403, "Forbidden", message, details);
}

export function unauthorized(): Status {
  return failure(401, "Unauthorized", "Unauthorized");
}

export function tooManyRequests(retryAfterSeconds: number): Status {
  return failure(429, "TooManyRequests", "Too many requests, please try again later.", { retryAfterSeconds });
}

export function badRequest(message: string): Status {
  return failure(400, "BadRequest", message);
}

export function methodNotAllowed(): Status {
  return failure(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
}

export function unsupportedMediaType(contentType: string): Status {
  return failure(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got ${JSON.stringify(contentType)})`,
  );
}

export function invalid(kind: string, name: string, field: string, message: string): Status {
  return failure(422, "Invalid", `${kind} "${name}" is invalid: ${field}: ${message}`, {
    name,
    kind: kind.toLowerCase() + "s",
    causes: [{ reason: "FieldValueInvalid", message, field }],
  });
}

/** A watch or list from a resourceVersion the server no longer keeps history for. */
export function expired(message: string): Status {
  return failure(410, "Expired", message);
}

export function pathNotFound(): Status {
  return failure(404, "NotFound", "the server could not find the requested resource", {});
}

export function success(resource: string, name: string, uid: string): Status {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Success",
    details: { name, kind: resource, uid },
    code: 200,
  };
}
