/**
 * @module `node:net` as the bundle hands it to grpc-js (scripts/bundle.mjs): Node's own, except that the IP
 * checks answer a string without ":" without running Node's IPv6 regular expression.
 *
 * Why: grpc-js asks `isIPv6` of every address it binds and registers, IPv4 ones included. Node answers with
 * one large regular expression whose first use costs ~8 ms of the sidecar's start-up and each of the next few
 * ~1.5 ms (docs/performance.md), all to reject a string that has no ":", which an IPv6 address always has.
 * Strings with ":" still go to Node, so every answer is Node's.
 */
import { isIPv4, isIPv6 as nodeIsIPv6 } from "node:net";

export * from "node:net";

export function isIPv6(input: string): boolean {
  const s = `${input}`;
  return s.includes(":") && nodeIsIPv6(s);
}

export function isIP(input: string): 0 | 4 | 6 {
  const s = `${input}`;
  if (isIPv4(s)) return 4;
  return isIPv6(s) ? 6 : 0;
}
