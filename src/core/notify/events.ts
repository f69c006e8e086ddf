/** @module What a change-notification subscriber receives, and the bounds on how many may subscribe. */
import type { SecretAnswer } from "../cache/answer.js";

/** One state of a subscribed secret: its current answer, or that it is gone. */
export interface SecretEvent {
  kind: "update" | "delete";
  /** The answer a GET would give now (undefined for a delete). */
  answer?: SecretAnswer;
  /** The store's version of the secret, when it has one. */
  version?: string;
}

/**
 * Receives a topic's states. `push` must not block and must not queue: a subscriber that cannot write now
 * keeps only the latest state and writes it when its reader catches up (latest-state delivery).
 */
export interface Subscriber {
  push(event: SecretEvent): void;
  /** The subscription ends: component removed, access revoked or shutdown; `why` is safe to show. */
  close(why: string): void;
}

/** Documented bounds: subscriptions over all clients, and per client connection (under gRPC's 100 streams, so the 65th is refused, not queued). */
export const SUBSCRIPTION_LIMITS = { total: 1000, perConnection: 64 } as const;

/** How often an idle event stream gets a comment line, so proxies keep it open. */
export const KEEPALIVE_MS = 15_000;
