/** @module Ping that tells "not implemented" apart, as daprd's conformance suite expects. */
import { PING_NOT_IMPLEMENTED, type SecretStore } from "./types.js";

export async function pingStore(store: SecretStore, signal?: AbortSignal): Promise<void> {
  if (!store.ping) throw new Error(PING_NOT_IMPLEMENTED);
  await store.ping(signal);
}
