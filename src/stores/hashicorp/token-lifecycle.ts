/**
 * @module The Vault token's life: looked up at init, renewed before it expires, replaced by a new login
 * (AppRole/Kubernetes) or a re-read token file when renewal fails or Vault answers 403 — once per request,
 * then reported. Timers are unref'd and cancelled on close. Token values never reach a log or a message.
 */
import { stat } from "node:fs/promises";
import { redact } from "../shared/redact.js";
import { SecretStoreError, type StoreLogger } from "../types.js";
import { canLogin, describeAuth, login, readCredentialFile, type IssuedToken } from "./auth.js";
import type { AuthSettings } from "./config.js";
import { vaultErrors, type VaultHttp, type VaultHttpResponse, type VaultRequestOptions } from "./http.js";

type Recovery = "replaced" | "policy" | "invalid";

interface TokenFacts {
  ttl: number;
  renewable: boolean;
  /** The TTL a renewal should give back; a shorter answer means the max TTL is near. */
  fullTtl: number;
}

const MIN_DELAY_MS = 50;
const MAX_RETRY_MS = 30_000;
const REMEMBERED_TOKENS = 16;
/** setTimeout fires at once for delays past 2^31-1 ms (~24.8 days); long-lived tokens are renewed that early instead. */
const MAX_TIMER_MS = 2_147_483_647;

export class TokenLifecycle {
  private token: string | undefined;
  private fromLogin = false;
  private generation = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private loginFlight: Promise<string> | undefined;
  private validityFlight: Map<string, Promise<boolean>> = new Map();
  private fileStamp = "";
  private lastFileCheck = 0;
  private needsInspect = false;
  private expiresAt = 0;
  private retryMs = 1000;
  /** Every token this store has held, so messages can be scrubbed of them. */
  private readonly seen: string[] = [];

  constructor(
    private readonly http: VaultHttp,
    private readonly auth: AuthSettings,
    private readonly log: StoreLogger,
    private readonly fileCheckMs: number,
    /** Where the token lives, when that is not the store's namespace (see `authNamespace`). */
    private readonly authNamespace?: string | null,
  ) {}

  async init(signal: AbortSignal): Promise<void> {
    if (this.auth.method === "token") {
      if (this.auth.token) this.setToken(this.auth.token, false);
      else await this.checkTokenFile(true, true);
      await this.inspect(signal);
      return;
    }
    try {
      await this.loginOnce(signal);
    } catch (err) {
      if (!(err instanceof SecretStoreError) || err.kind !== "unavailable") throw err;
      // Like daprd with an unreachable Vault, start anyway: the login is retried on the first request.
      this.log.warn("vault login deferred: Vault is not reachable yet", {
        auth: describeAuth(this.auth),
        reason: this.redact(err.message),
      });
    }
  }

  /** False while a login is deferred because Vault was unreachable. */
  hasToken(): boolean {
    return this.token !== undefined;
  }

  /** The token to send now: logs in if no login has succeeded yet, and notices a changed token file. */
  async current(_signal?: AbortSignal): Promise<string> {
    if (this.closed) throw new SecretStoreError("unavailable", "the Vault secret store is closed");
    if (this.auth.method === "token" && this.auth.tokenFile) await this.checkTokenFile(false, false);
    if (this.token === undefined) return await this.loginOnce(undefined);
    return this.token;
  }

  /** Sends an authenticated request; on 403 tries once to get a working token, then reports which failure it was. */
  async send(method: string, path: string, opts: VaultRequestOptions): Promise<VaultHttpResponse> {
    let token = await this.current(opts.signal);
    let res = await this.http.request(method, path, { ...opts, token });
    if (res.status !== 403) {
      this.afterSuccess();
      return res;
    }
    const outcome = await this.recover(token, opts);
    if (outcome === "replaced") {
      token = await this.current(opts.signal);
      res = await this.http.request(method, path, { ...opts, token });
      if (res.status !== 403) return res;
    }
    const detail = vaultErrors(res.body);
    if (outcome === "invalid") {
      const hint =
        this.auth.method === "token"
          ? this.auth.tokenFile
            ? `; the token file ${this.auth.tokenFile} holds no valid token`
            : "; set a valid vaultToken"
          : "";
      throw new SecretStoreError(
        "bad_credentials",
        `Vault rejected the token ${opts.what}: it is invalid, expired or revoked (403${detail ? `: ${detail}` : ""})${hint}`,
      );
    }
    throw new SecretStoreError(
      "permission_denied",
      `permission denied by Vault policy ${opts.what} (403${detail ? `: ${detail}` : ""})`,
    );
  }

  /** Replaces every token this store has held, and anything shaped like a credential, with `[redacted]`. */
  redact(text: string): string {
    return redact(text, this.seen);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private setToken(token: string, fromLogin: boolean): void {
    this.token = token;
    this.fromLogin = fromLogin;
    this.generation += 1;
    if (!this.seen.includes(token)) {
      this.seen.push(token);
      if (this.seen.length > REMEMBERED_TOKENS) this.seen.shift();
    }
  }

  private afterSuccess(): void {
    if (this.needsInspect && this.token !== undefined) {
      this.needsInspect = false;
      void this.inspect(undefined);
    }
  }

  private async recover(failed: string, opts: VaultRequestOptions): Promise<Recovery> {
    if (this.token !== undefined && this.token !== failed) return "replaced";
    if (await this.isValid(failed, opts.signal)) return "policy";
    if (this.token !== failed) return "replaced";
    if (this.auth.method === "token") {
      if (this.auth.tokenFile && (await this.checkTokenFile(true, false)) && this.token !== failed) {
        this.log.info("vault token file changed; using the new token", { file: this.auth.tokenFile });
        return "replaced";
      }
      return "invalid";
    }
    try {
      this.log.info("vault rejected the token; logging in again", { auth: describeAuth(this.auth) });
      await this.loginOnce(undefined);
      return "replaced";
    } catch (err) {
      const e = err instanceof SecretStoreError ? err : new SecretStoreError("internal", String(err));
      throw new SecretStoreError(
        e.kind,
        `Vault rejected the token ${opts.what} (invalid, expired or revoked), and logging in again failed: ${this.redact(e.message)}`,
      );
    }
  }

  /** lookup-self tells a token Vault no longer accepts from a policy that denies one path. */
  private isValid(token: string, signal?: AbortSignal): Promise<boolean> {
    let flight = this.validityFlight.get(token);
    if (!flight) {
      flight = this.http
        .request("GET", "auth/token/lookup-self", {
          token,
          signal,
          what: "checking the token",
          namespace: this.authNamespace,
        })
        .then((r) => r.status === 200)
        .finally(() => this.validityFlight.delete(token));
      this.validityFlight.set(token, flight);
    }
    return flight;
  }

  private loginOnce(signal: AbortSignal | undefined): Promise<string> {
    if (!canLogin(this.auth)) return Promise.reject(new SecretStoreError("bad_credentials", "no Vault token"));
    this.loginFlight ??= this.doLogin(signal).finally(() => {
      this.loginFlight = undefined;
    });
    return this.loginFlight;
  }

  private async doLogin(signal: AbortSignal | undefined): Promise<string> {
    const issued: IssuedToken = await login(this.http, this.auth, signal, this.authNamespace);
    if (this.closed) return issued.token;
    this.setToken(issued.token, true);
    this.retryMs = 1000;
    this.log.info("logged in to Vault", {
      auth: describeAuth(this.auth),
      ttlSeconds: issued.ttl,
      renewable: issued.renewable,
    });
    this.schedule({ ttl: issued.ttl, renewable: issued.renewable, fullTtl: issued.ttl });
    return issued.token;
  }

  /** Re-reads the token file when it changed (or when forced); true if the token changed. */
  private async checkTokenFile(force: boolean, atInit: boolean): Promise<boolean> {
    const file = (this.auth as { tokenFile?: string }).tokenFile as string;
    const now = Date.now();
    if (!force && now - this.lastFileCheck < this.fileCheckMs) return false;
    this.lastFileCheck = now;
    let stamp: string;
    try {
      const s = await stat(file);
      stamp = `${s.mtimeMs}:${s.size}:${s.ino}`;
    } catch (err) {
      if (atInit)
        throw new SecretStoreError(
          "invalid_config",
          `couldn't read vault token from mount path ${file}: ${(err as NodeJS.ErrnoException).code ?? "error"}`,
        );
      return false;
    }
    if (!force && stamp === this.fileStamp) return false;
    let token: string;
    try {
      token = await readCredentialFile(file, "vault token");
    } catch (err) {
      if (atInit)
        throw new SecretStoreError(
          "invalid_config",
          `couldn't read vault token from mount path ${file}: ${(err as Error).message}`,
        );
      return false;
    }
    this.fileStamp = stamp;
    if (token === this.token) return false;
    const first = this.token === undefined;
    this.setToken(token, false);
    if (!first) {
      this.log.info("vault token file changed; using the new token", { file });
      void this.inspect(undefined);
    }
    return true;
  }

  /** Looks the token up (TTL, renewable) and schedules its renewal; failures only disable renewal. */
  private async inspect(signal: AbortSignal | undefined): Promise<void> {
    const token = this.token;
    if (token === undefined || this.closed) return;
    const gen = this.generation;
    const probe = signal ? AbortSignal.any([signal, AbortSignal.timeout(3000)]) : undefined;
    let res: VaultHttpResponse;
    try {
      res = await this.http.request("GET", "auth/token/lookup-self", {
        token,
        signal: probe,
        what: "looking up the token",
        namespace: this.authNamespace,
      });
    } catch (err) {
      this.needsInspect = true;
      this.log.warn("vault token lookup failed; will look again after the next successful request", {
        reason: this.redact((err as Error).message),
      });
      return;
    }
    if (gen !== this.generation || this.closed) return;
    if (res.status !== 200) {
      if (res.status === 503 || res.status === 429) this.needsInspect = true;
      this.log.warn("vault token lookup-self was refused; the token will not be renewed", {
        status: res.status,
        reason: this.redact(vaultErrors(res.body)),
      });
      return;
    }
    const d =
      (res.body as { data?: { ttl?: unknown; renewable?: unknown; creation_ttl?: unknown; period?: unknown } }).data ??
      {};
    const ttl = Number(d.ttl ?? 0) || 0;
    const fullTtl = Number(d.period ?? 0) || Number(d.creation_ttl ?? 0) || ttl;
    this.log.debug("vault token looked up", { ttlSeconds: ttl, renewable: d.renewable === true });
    if (ttl > 0 && d.renewable !== true && this.auth.method === "token" && !this.auth.tokenFile) {
      this.log.warn("vault token is not renewable and will expire", { ttlSeconds: ttl });
    }
    this.schedule({ ttl, renewable: d.renewable === true, fullTtl });
  }

  private schedule(facts: TokenFacts): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.closed || facts.ttl <= 0) return;
    this.expiresAt = Date.now() + facts.ttl * 1000;
    const gen = this.generation;
    this.arm(Math.max(MIN_DELAY_MS, (facts.ttl * 1000 * 2) / 3), () => this.tick(gen, facts));
  }

  private arm(delay: number, fn: () => Promise<void>): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        fn().catch((err: unknown) =>
          this.log.warn("vault token maintenance failed", { reason: this.redact(String(err)) }),
        );
      },
      Math.min(delay, MAX_TIMER_MS),
    );
    this.timer.unref();
  }

  private async tick(gen: number, facts: TokenFacts): Promise<void> {
    if (this.closed || gen !== this.generation || this.token === undefined) return;
    if (facts.renewable) {
      let res: VaultHttpResponse | undefined;
      try {
        res = await this.http.request("POST", "auth/token/renew-self", {
          token: this.token,
          body: {},
          what: "renewing the token",
          namespace: this.authNamespace,
        });
      } catch (err) {
        this.log.warn("vault token renewal failed; retrying", { reason: this.redact((err as Error).message) });
        return this.retryLater(gen, facts);
      }
      if (this.closed || gen !== this.generation) return;
      if (res.status === 200) {
        const a = (res.body as { auth?: { lease_duration?: unknown; renewable?: unknown } }).auth ?? {};
        const ttl = Number(a.lease_duration ?? 0) || 0;
        const capped = ttl < facts.fullTtl;
        this.log.debug("vault token renewed", { ttlSeconds: ttl, capped });
        this.retryMs = 1000;
        if (capped && this.fromLogin) return this.relogin(gen, "the token reached its max TTL");
        this.schedule({ ttl, renewable: a.renewable !== false, fullTtl: facts.fullTtl });
        return;
      }
      if (res.status >= 500 || res.status === 429) {
        this.log.warn("vault token renewal failed; retrying", {
          status: res.status,
          reason: this.redact(vaultErrors(res.body)),
        });
        return this.retryLater(gen, facts);
      }
      this.log.warn("vault refused to renew the token", {
        status: res.status,
        reason: this.redact(vaultErrors(res.body)),
      });
    }
    if (this.fromLogin)
      return this.relogin(gen, facts.renewable ? "renewal was refused" : "the token is not renewable");
    if (this.auth.method === "token" && this.auth.tokenFile) {
      await this.checkTokenFile(true, false);
      if (gen === this.generation) this.retryLater(gen, facts);
      return;
    }
    this.log.error("vault token can no longer be renewed and will expire; requests will fail once it does", {});
  }

  private async relogin(gen: number, why: string): Promise<void> {
    this.log.info("logging in to Vault again", { reason: why, auth: describeAuth(this.auth) });
    try {
      await this.loginOnce(undefined);
    } catch (err) {
      this.log.warn("vault login failed; retrying", { reason: this.redact((err as Error).message) });
      if (gen === this.generation) this.arm(this.backoff(), () => this.relogin(gen, why));
    }
  }

  private retryLater(gen: number, facts: TokenFacts): void {
    const left = this.expiresAt - Date.now();
    const delay = left > 0 ? Math.min(this.backoff(), Math.max(MIN_DELAY_MS, left / 3)) : this.backoff();
    this.arm(delay, () => this.tick(gen, facts));
  }

  private backoff(): number {
    const d = this.retryMs;
    this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
    return d;
  }
}
