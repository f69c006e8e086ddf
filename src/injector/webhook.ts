/**
 * @module The mutating admission webhook's HTTP handling: `POST /mutate` takes an AdmissionReview
 * (admission.k8s.io/v1) and answers one, with the sidecar patch (base64 JSONPatch) or none; `GET /healthz`.
 * Input is the API server's, but whatever reaches the port gets a well-formed answer: 400 for a body that is
 * not JSON, 413 above MAX_BODY, a refusal (allowed: false) for a review that is not one.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../log.js";
import { AnnotationError, sidecarPatch, wantsSidecar, type InjectorSettings, type PodLike } from "./sidecar.js";

/** kube-apiserver sends at most 3 MiB objects; anything larger is not a real review. */
export const MAX_BODY = 3 * 1024 * 1024;

interface Review {
  apiVersion?: unknown;
  kind?: unknown;
  request?: {
    uid?: unknown;
    kind?: { kind?: unknown };
    resource?: { resource?: unknown };
    operation?: unknown;
    namespace?: unknown;
    object?: unknown;
  };
}

type Answer = { allowed: true; patch?: string; warning?: string } | { allowed: false; code: number; message: string };

export function webhookHandler(settings: InjectorSettings, log: Logger) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? "").split("?")[0];
    if (req.method === "GET" && path === "/healthz") {
      res.writeHead(200, { "Content-Type": "text/plain" }).end("ok\n");
      return;
    }
    if (path !== "/mutate") return plain(res, 404, "not found");
    if (req.method !== "POST") return plain(res, 405, "use POST");
    const declared = Number(req.headers["content-length"] ?? 0);
    // The rest of a refused body is read and dropped (the request timeout bounds it), so the client gets the answer.
    if (declared > MAX_BODY) {
      req.resume();
      return plain(res, 413, `body larger than ${MAX_BODY} bytes`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on("data", (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > MAX_BODY) {
        done = true;
        chunks.length = 0;
        plain(res, 413, `body larger than ${MAX_BODY} bytes`);
        return;
      }
      chunks.push(c);
    });
    req.on("error", () => undefined);
    req.on("end", () => {
      if (done) return;
      done = true;
      let review: Review;
      try {
        review = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Review;
      } catch {
        return plain(res, 400, "body is not JSON: expected an admission.k8s.io/v1 AdmissionReview");
      }
      const started = performance.now();
      const uid = typeof review?.request?.uid === "string" ? review.request.uid : "";
      const answer = decide(review, settings);
      const response: Record<string, unknown> = { uid, allowed: answer.allowed };
      if (answer.allowed && answer.patch) {
        response.patchType = "JSONPatch";
        response.patch = answer.patch;
      }
      if (!answer.allowed) response.status = { code: answer.code, message: answer.message };
      log.info(
        {
          uid,
          namespace: typeof review?.request?.namespace === "string" ? review.request.namespace : "",
          allowed: answer.allowed,
          patched: answer.allowed && !!answer.patch,
          reason: answer.allowed ? (answer.warning ?? "") : answer.message,
          ms: Math.round((performance.now() - started) * 100) / 100,
        },
        "admission review",
      );
      const body = JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response });
      res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) }).end(body);
    });
  };
}

function decide(review: Review, settings: InjectorSettings): Answer {
  if (typeof review !== "object" || review === null || Array.isArray(review))
    return refuse("expected an AdmissionReview object");
  if (review.apiVersion !== "admission.k8s.io/v1" || review.kind !== "AdmissionReview")
    return refuse("expected apiVersion admission.k8s.io/v1, kind AdmissionReview");
  const r = review.request;
  if (typeof r !== "object" || r === null || typeof r.uid !== "string" || r.uid === "")
    return refuse("the review has no request or no request.uid");
  if (r.kind?.kind !== "Pod" || (r.resource?.resource !== undefined && r.resource.resource !== "pods"))
    return refuse("this webhook mutates pods only: check the MutatingWebhookConfiguration's rules");
  if (r.operation !== undefined && r.operation !== "CREATE") return { allowed: true, warning: "not a CREATE" };
  const pod = r.object as PodLike | undefined;
  if (typeof pod !== "object" || pod === null || Array.isArray(pod)) return refuse("the review has no pod object");
  if (
    (pod.spec !== undefined && (typeof pod.spec !== "object" || !Array.isArray(pod.spec.containers ?? []))) ||
    (pod.metadata?.annotations !== undefined && typeof pod.metadata.annotations !== "object")
  )
    return refuse("the pod object is malformed");
  const wanted = wantsSidecar(pod, settings);
  if (!wanted.inject) return { allowed: true, warning: wanted.reason };
  try {
    return { allowed: true, patch: Buffer.from(JSON.stringify(sidecarPatch(pod, settings))).toString("base64") };
  } catch (err) {
    if (err instanceof AnnotationError) return { allowed: false, code: 400, message: err.message };
    return refuse(`cannot build the patch: ${(err as Error).message}`);
  }
}

function refuse(message: string): Answer {
  return { allowed: false, code: 400, message: `keyward injector: ${message}` };
}

function plain(res: ServerResponse, code: number, message: string): void {
  if (res.headersSent) return;
  res.writeHead(code, { "Content-Type": "text/plain" }).end(`${message}\n`);
}
