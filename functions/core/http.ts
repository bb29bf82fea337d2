/**
 * The HTTP stack of every API function (see http-base.ts), with Idempotency-Key support
 * (idempotency.ts, records in DynamoDB) wired in.
 */
import { httpRoutes, type RouteTable } from './http-base.ts';
import { fingerprint, once } from './idempotency.ts';

export * from './http-base.ts';

export function httpApi(routes: RouteTable) {
  return httpRoutes(routes, { once, fingerprint });
}
