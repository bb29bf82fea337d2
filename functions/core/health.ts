// http-base.ts, not http.ts: no idempotent route here, so no DynamoDB client in this bundle.
import { httpRoutes, json } from './http-base.ts';

export const handler = httpRoutes({
  'GET /health': { auth: 'public', handle: async () => json(200, { status: 'ok' }) },
});
