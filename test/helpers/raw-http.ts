/** Raw HTTP over a socket, for requests fetch refuses to send (bad escapes, odd paths, garbage). */
import { connect } from "node:net";

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  raw: string;
}

export function rawRequest(port: number, request: string | Buffer, timeoutMs = 5000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1");
    let data = "";
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no complete response in ${timeoutMs} ms: ${JSON.stringify(data)}`));
    }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      const [head = "", ...rest] = data.split("\r\n\r\n");
      const lines = head.split("\r\n");
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(":");
        if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({ status: Number(lines[0]?.split(" ")[1] ?? 0), headers, body: rest.join("\r\n\r\n"), raw: data });
    };
    sock.on("data", (d) => {
      data += d.toString();
      const headEnd = data.indexOf("\r\n\r\n");
      if (headEnd < 0) return;
      const m = /content-length:\s*(\d+)/i.exec(data.slice(0, headEnd));
      const status = Number(data.split(" ")[1]);
      const expected = m ? Number(m[1]) : status === 204 || status === 304 ? 0 : undefined;
      if (expected !== undefined && Buffer.byteLength(data.slice(headEnd + 4)) >= expected) {
        finish();
        sock.destroy();
      }
    });
    sock.on("end", finish);
    sock.on("error", (e) => {
      clearTimeout(timer);
      if (data) finish();
      else reject(e);
    });
    sock.write(request);
  });
}

/** A GET with `Connection: close` and optional extra headers/body. */
export function get(port: number, path: string, extra = "", method = "GET"): Promise<RawResponse> {
  return rawRequest(port, `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${extra}\r\n`);
}

/** Writes `request` (any number of pipelined requests) and resolves with everything read until the server closes. */
export function exchange(port: number, request: string | Buffer, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`the server did not close in ${timeoutMs} ms; read ${Buffer.concat(chunks).length} bytes`));
    }, timeoutMs);
    sock.on("data", (d: Buffer) => chunks.push(d));
    sock.on("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString("latin1"));
    });
    sock.on("error", () => undefined);
    sock.write(request);
  });
}
