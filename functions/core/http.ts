/**
 * The HTTP stack of every API function (see http-base.ts), with what needs the table wired in:
 * Idempotency-Key support (idempotency.ts) and the disabled-user check (revocations.ts).
 */
import { httpRoutes, type RouteTable } from './http-base.ts';
import { fingerprint, once } from './idempotency.ts';
import { isRevoked } from './revocations.ts';

export * from './http-base.ts';

export function httpApi(routes: RouteTable) {
  return httpRoutes(routes, { once, fingerprint, isRevoked });
}
