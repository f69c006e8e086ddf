/**
 * Cancellation end to end: a client that gives up (HTTP disconnect, gRPC cancel or deadline) and shutdown stop
 * the store call, its retries and its backoff. The backend is a Vault address that answers 500 to everything
 * and counts the calls; the store's policy retries for ever, so only cancellation can stop it.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { daprGrpcClient, type DaprGrpcClient } from "../helpers/clients.js";
import { rawRequest } from "../helpers/raw-http.js";
import { componentYaml, startSidecar, type Sidecar } from "../helpers/sidecar.js";

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TOKEN = `cancel-test-token-${process.pid}-${Date.now()}`;

interface Backend {
  address: string;
  calls(): number;
  close(): Promise<void>;
}

async function failingVault(): Promise<Backend> {
  let calls = 0;
  const server: Server = createServer((req, res) => {
    calls++;
    req.resume();
    res.writeHead(500, { "Content-Type": "application/json" }).end('{"errors":["backend is failing"]}');
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls: () => calls,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const RETRY_FOREVER = `apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: forever
spec:
  policies:
    timeouts:
      attempt: 5s
    retries:
      forever:
        policy: constant
        duration: 20ms
        maxRetries: -1
  targets:
    components:
      vault:
        outbound:
          timeout: attempt
          retry: forever
`;

function startVaultSidecar(backend: Backend, args: string[] = []): Promise<Sidecar> {
  return startSidecar({
    components: {
      "vault.yaml": componentYaml("vault", "secretstores.hashicorp.vault", {
        vaultAddr: backend.address,
        vaultToken: TOKEN,
        vaultKVVersion: "2",
      }),
      "resiliency.yaml": RETRY_FOREVER,
    },
    args,
  });
}

/** Lets the call retry a few times, gives up through `abort`, and checks the backend sees no call after that. */
async function expectCallsStop(backend: Backend, abort: () => void | Promise<void>): Promise<void> {
  const start = backend.calls();
  const until = Date.now() + 10_000;
  while (backend.calls() < start + 3 && Date.now() < until) await wait(20);
  assert.ok(backend.calls() >= start + 3, "the policy should be retrying the failing backend");
  await abort();
  await wait(500); // a request already on the wire when the client gave up may still arrive
  const settled = backend.calls();
  await wait(1000);
  assert.equal(backend.calls(), settled, `calls went on after the client gave up (${settled} → ${backend.calls()})`);
}

function grpcCall(
  client: DaprGrpcClient,
  method: string,
  req: unknown,
  deadline?: number,
): { done: Promise<ServiceError | null>; cancel(): void } {
  let cancel = () => undefined as void;
  const done = new Promise<ServiceError | null>((resolve) => {
    const call = (client as unknown as Record<string, (...a: unknown[]) => { cancel(): void }>)[method]!(
      req,
      new Metadata(),
      deadline === undefined ? {} : { deadline },
      (err: ServiceError | null) => resolve(err),
    );
    cancel = () => call.cancel();
  });
  return { done, cancel };
}

describe("a client that gives up stops the store call and its retries", () => {
  let backend: Backend;
  let sidecar: Sidecar;
  let client: DaprGrpcClient;

  before(async () => {
    backend = await failingVault();
    sidecar = await startVaultSidecar(backend);
    client = daprGrpcClient(sidecar.grpcAddress);
  });

  after(async () => {
    client.close();
    await sidecar.stop();
    await backend.close();
    assert.ok(!sidecar.output().includes(TOKEN), "the Vault token reached the log");
  });

  for (const path of ["/v1.0/secrets/vault/db", "/v1.0/secrets/vault/bulk"]) {
    it(`HTTP: the client disconnects from GET ${path}`, async () => {
      const ctl = new AbortController();
      const res = fetch(`${sidecar.httpUrl}${path}`, { signal: ctl.signal }).catch((err: Error) => err);
      await expectCallsStop(backend, () => ctl.abort());
      assert.equal(((await res) as Error).name, "AbortError");
    });
  }

  for (const [method, req] of [
    ["GetSecret", { store_name: "vault", key: "db" }],
    ["GetBulkSecret", { store_name: "vault" }],
  ] as const) {
    it(`gRPC: the client cancels ${method}`, async () => {
      const call = grpcCall(client, method, req);
      await expectCallsStop(backend, () => call.cancel());
      assert.equal((await call.done)?.code, status.CANCELLED);
    });

    it(`gRPC: the deadline of ${method} passes`, async () => {
      const call = grpcCall(client, method, req, Date.now() + 1500);
      await expectCallsStop(backend, async () => {
        assert.equal((await call.done)?.code, status.DEADLINE_EXCEEDED);
      });
    });
  }

  it("the sidecar still answers after the cancelled calls", async () => {
    const res = await rawRequest(sidecar.httpPort, "GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.equal(res.status, 204);
  });
});

describe("shutdown cancels the store calls still running when the grace period ends", () => {
  it("SIGTERM mid-call: the client gets context canceled, the backend no further call, the process exits 0", async () => {
    const backend = await failingVault();
    const sidecar = await startVaultSidecar(backend, ["--dapr-graceful-shutdown-seconds", "1"]);
    try {
      const answer = rawRequest(
        sidecar.httpPort,
        "GET /v1.0/secrets/vault/db HTTP/1.1\r\nHost: x\r\n\r\n",
        10_000,
      ).catch((err: Error) => err);
      let started = 0;
      await expectCallsStop(backend, async () => {
        started = Date.now();
        sidecar.process.kill("SIGTERM");
        const res = await answer;
        assert.ok(!(res instanceof Error), `the client got no answer: ${String(res)}`);
        assert.equal(res.status, 500);
        assert.match(res.body, /"errorCode":"ERR_SECRET_GET"/);
        assert.match(res.body, /from secret store vault: context canceled"/);
      });
      assert.equal(await sidecar.exited, 0);
      assert.ok(Date.now() - started < 5000, `exited ${Date.now() - started} ms after SIGTERM (grace 1 s)`);
      assert.match(sidecar.output(), /grace period over: cancelling 1 store call/);
    } finally {
      await sidecar.stop();
      await backend.close();
    }
  });
});
