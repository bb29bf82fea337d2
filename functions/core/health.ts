import { httpApi, json } from './http.ts';

export const handler = httpApi({
  'GET /health': { auth: 'public', handle: async () => json(200, { status: 'ok' }) },
});
