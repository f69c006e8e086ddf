/**
 * @module The HTTP baseline: a bare node:http server that answers every request with the exact status,
 * headers and body Keyward sent for the benchmarked request. What Keyward adds on top is its overhead.
 * Input: one JSON argument {status, contentType, body (base64) or bodyFile}. Prints `ready port=N`.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

interface Spec {
  status: number;
  contentType: string;
  body?: string;
  /** For bodies too large for a command line. */
  bodyFile?: string;
}

const spec = JSON.parse(process.argv[2] ?? '{"status":200,"contentType":"application/json","body":""}') as Spec;
const body = spec.bodyFile !== undefined ? readFileSync(spec.bodyFile) : Buffer.from(spec.body ?? "", "base64");
const server = createServer((_req, res) => {
  res.writeHead(spec.status, { "Content-Type": spec.contentType, "Content-Length": body.length });
  res.end(body);
});
server.listen(0, "127.0.0.1", () => process.stdout.write(`ready port=${(server.address() as AddressInfo).port}\n`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
