import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { ROUTES, routeKey, type RouteSpec } from '../../functions/catalog.ts';
import { config } from '../../functions/core/config.ts';
import { ddb, tableName } from '../../functions/core/ddb.ts';
import type { LocalSystem } from '../../local/runtime.ts';
import { REQUEST_BODIES } from '../../scripts/openapi.ts';
import { claimBody, decide, fundRequestBody, quarterNow, seedDemo } from '../support/mdf.ts';
import { approvalLinkFor, client, eventually, startTestSystem, type Client } from '../support/system.ts';

/**
 * Property: whatever JSON a caller sends in whatever field of whatever route, the answer is never
 * a 5xx, and a refused request (4xx) stores nothing. Each route starts from a valid request (real
 * ids from a seeded system) and one field, found by walking the route's zod schema, gets an
 * arbitrary value; path parameters and query strings are fuzzed the same way.
 */
const SEED = 20261204;
const RUNS_PER_ROUTE = 12;

let system: LocalSystem;
let api: Client;
const tokens: Record<string, string> = {};
const ids: Record<string, string> = {};
const requests = { total: 0, byStatus: new Map<number, number>() };

/** Every field path of a JSON schema (objects by property, arrays by their first item, unions merged). */
function fieldPaths(schema: Record<string, any>, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [];
  for (const variant of [...(schema.anyOf ?? []), ...(schema.oneOf ?? []), ...(schema.allOf ?? [])]) out.push(...fieldPaths(variant, prefix));
  if (schema.properties) {
    for (const [key, sub] of Object.entries(schema.properties)) out.push([...prefix, key], ...fieldPaths(sub as Record<string, any>, [...prefix, key]));
  }
  if (schema.items && typeof schema.items === 'object') out.push([...prefix, 0], ...fieldPaths(schema.items, [...prefix, 0]));
  return out;
}

function withField(body: unknown, path: (string | number)[], value: unknown, remove: boolean): unknown {
  const copy = structuredClone(body) as Record<string | number, any>;
  let at: any = copy;
  for (const key of path.slice(0, -1)) {
    if (at[key] === null || typeof at[key] !== 'object') at[key] = typeof key === 'number' ? [] : {};
    at = at[key];
  }
  const last = path[path.length - 1]!;
  if (remove) delete at[last];
  else at[last] = value;
  return copy;
}

/** Values that broke things before, mixed with arbitrary JSON. */
const nasty = fc.constantFrom<unknown>(
  '', ' ', '2026-13-01', '2026-2-3', '2026-02-30', '2026-02-03T10:00:00Z', '0000-00-00', 'INV\u0000', 'a\u202Eb', '\uD800', 'x'.repeat(6000),
  2 ** 53, Number.MAX_SAFE_INTEGER, 1e308, -1, 0, 1.5, -0.0001, 10 ** 13, '100', '__proto__', 'constructor', {}, [], null, true, [null], { amount: 2 ** 60, currency: 'USD' }, { amount: 1, currency: 'XXX' },
);
const anyValue = fc.oneof(nasty, fc.jsonValue({ maxDepth: 3 }), fc.string({ unit: 'binary', maxLength: 40 }));
const anyPathSegment = fc.oneof(
  fc.constantFrom('%E0%A4%A', '%ZZ', '%', '..', '%2F..%2F', '%00', 'a%2Fb', ' ', 'frq_0000000000000000000000000', 'x'.repeat(600)),
  fc.string({ unit: 'binary', maxLength: 30 }).map(encodeURIComponent),
);
const anyQuery = fc.dictionary(fc.constantFrom('status', 't', 'limit', 'cursor', 'period', 'x'), fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('PENDING', 'APPROVED', '%E0%A4%A', '\u0000')), { maxKeys: 3 });

async function tableDigest(): Promise<string> {
  const hash = createHash('sha256');
  const items: string[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await ddb().send(new ScanCommand({ TableName: tableName(), ExclusiveStartKey: startKey }));
    for (const item of page.Items ?? []) items.push(JSON.stringify(item, Object.keys(item).sort()));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  for (const i of items.sort()) hash.update(i);
  return hash.digest('hex');
}

/** After an accepted request, the workflows it started settle (into an approver's wait) before the next check. */
async function settled(): Promise<string> {
  let last = await tableDigest();
  let stable = 0;
  for (let i = 0; i < 60 && stable < 3; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const now = await tableDigest();
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
  return last;
}

/** Who may call a route, and a valid request for it. */
function validRequest(route: RouteSpec): { token?: string; params: Record<string, string>; body?: unknown; query?: Record<string, string> } {
  const key = routeKey(route);
  const partner = tokens.partner!;
  const base = { userId: 'usr_01JZ0000000000000000000000', invitationId: 'inv_01JZ0000000000000000000000', partnerId: ids.partnerId!, fundRequestId: ids.fundRequestId!, claimId: ids.claimId!, approvalId: ids.approvalId!, applicationId: ids.applicationId!, runId: ids.runId!, period: quarterNow(), dealId: 'FUZZ-1' };
  const lastMonth = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() - 1, 1)).toISOString().slice(0, 7);
  const requests: Record<string, { token?: string; params?: Record<string, string>; body?: unknown; query?: Record<string, string> }> = {
    'GET /health': {},
    'POST /applications': {
      body: {
        company: { legalName: 'Fuzz Ltd', website: 'https://fuzz.example', country: 'GB', taxId: 'GB123456789' },
        contact: { name: 'Fay Fuzz', email: 'fay@fuzz.example' },
        partnerType: 'reseller',
        businessPlan: { targetSegments: ['smb'], projectedAnnualRevenue: { amount: 100_000_00, currency: 'USD' }, marketingPlan: 'Events' },
      },
    },
    'GET /applications/{applicationId}': { token: tokens.admin },
    'GET /partners/{partnerId}': { token: partner },
    'PUT /partners/{partnerId}/payee': { token: partner, body: { payeeReference: 'DE00 1234 5678' } },
    'GET /approvals': { token: tokens.admin, query: { status: 'PENDING' } },
    'GET /me': { token: partner },
    'POST /partners/{partnerId}/users': { token: partner, body: { email: 'fuzz.user@fuzz.example', role: 'partner_sales' } },
    'GET /partners/{partnerId}/users': { token: partner, query: { limit: '10' } },
    // A made-up user: 404 for the valid request, the fuzzed variants 4xx before that.
    'PATCH /partners/{partnerId}/users/{userId}': { token: partner, body: { role: 'partner_finance' } },
    'DELETE /partners/{partnerId}/users/{userId}': { token: partner },
    'PUT /partners/{partnerId}/channel-manager': { token: tokens.admin, body: { email: 'dana.cm@example.com' } },
    'GET /invitations/{invitationId}': { query: { s: 'x' } },
    'POST /invitations/{invitationId}/accept': { body: { s: 'not-the-secret' } },
    'GET /approvals/{approvalId}': { query: { t: ids.approvalToken! } },
    'POST /approvals/{approvalId}/decision': { body: { t: ids.approvalToken!, decision: 'reject', comment: 'fuzz' } },
    'PUT /partners/{partnerId}/budgets/{period}': { token: tokens.admin, body: { allocated: { amount: 6_000_000, currency: 'USD' } } },
    'GET /partners/{partnerId}/budgets/{period}': { token: partner },
    'POST /partners/{partnerId}/fund-requests': { token: partner, body: fundRequestBody(1_000) },
    'GET /partners/{partnerId}/fund-requests': { token: partner, query: { status: 'APPROVED' } },
    'GET /partners/{partnerId}/fund-requests/{fundRequestId}': { token: partner },
    // The approved fund request: a resubmission is refused (409), the fuzzed variants 4xx before that.
    'PUT /partners/{partnerId}/fund-requests/{fundRequestId}': { token: partner, body: { ...fundRequestBody(1_000), comment: 'changed' } },
    'POST /partners/{partnerId}/fund-requests/{fundRequestId}/close': { token: partner, params: { fundRequestId: ids.closableFundRequestId! } },
    'POST /partners/{partnerId}/claims': { token: partner, body: claimBody(ids.fundRequestId!, 100, 'FUZZ-INV-1') },
    'GET /partners/{partnerId}/claims': { token: partner, query: { status: 'SUBMITTED' } },
    'GET /partners/{partnerId}/claims/{claimId}': { token: partner },
    'PUT /partners/{partnerId}/claims/{claimId}': { token: partner, body: { amount: { amount: 100, currency: 'USD' }, comment: 'fixed' } },
    'POST /programs': { token: tokens.admin, body: { name: 'Fuzz rebate', kind: 'rebate', currency: 'USD', startDate: '2026-01-01', endDate: '2026-12-31', rebate: { rateBps: 100 } } },
    'GET /programs': { token: partner },
    'POST /partners/{partnerId}/sales': { token: tokens.admin, body: { sales: [{ dealId: 'FUZZ-1', closedOn: '2026-11-02', sku: 'HW-1', quantity: 2, revenue: { amount: 10_000, currency: 'USD' } }] } },
    'DELETE /partners/{partnerId}/sales/{dealId}': { token: tokens.admin, params: { dealId: 'NO-SUCH-DEAL' } },
    'POST /payout-runs': { token: tokens.finance, body: { period: lastMonth } },
    'GET /payout-runs/{runId}': { token: tokens.finance },
    'GET /payout-runs/{runId}/export.csv': { token: tokens.finance },
    'GET /payout-runs/{runId}/lines.csv': { token: tokens.finance },
    'POST /payout-runs/{runId}/payments': { token: tokens.finance, body: { payments: [{ paymentId: 'pay_0000000000000000000000000', paidOn: '2026-11-30', bankReference: 'BANK-1' }] } },
  };
  const request = requests[key];
  if (!request) throw new Error(`No valid request for ${key}: add one`);
  return { ...request, params: { ...base, ...(request.params ?? {}) } };
}

function url(route: RouteSpec, params: Record<string, string>, query: Record<string, string> = {}, rawParam?: { name: string; segment: string }) {
  const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => (rawParam?.name === name ? rawParam.segment : encodeURIComponent(params[name]!)));
  const qs = Object.entries(query).map(([k, v]) => `${encodeURIComponent(k)}=${/%/.test(v) ? v : encodeURIComponent(v)}`).join('&');
  return qs ? `${path}?${qs}` : path;
}

async function send(route: RouteSpec, token: string | undefined, path: string, body: unknown) {
  const init: RequestInit = { method: route.method, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) } };
  if (body !== undefined && route.method !== 'GET') init.body = JSON.stringify(body);
  const res = await api.raw(path, init);
  requests.total++;
  requests.byStatus.set(res.status, (requests.byStatus.get(res.status) ?? 0) + 1);
  return res;
}

beforeAll(async () => {
  system = await startTestSystem({ config: { claims: { uploadPollSeconds: 1 } } as never });
  api = client(system);
  const demo = await seedDemo(system);
  Object.assign(tokens, { partner: demo.tokens.partner, admin: demo.tokens.admin, finance: demo.tokens.finance });
  ids.partnerId = demo.partnerId;
  const approvedFrq = await api.post(`/partners/${demo.partnerId}/fund-requests`, fundRequestBody(50_000), { token: demo.tokens.partner });
  await decide(system, api, config().approvers.channelManager, approvedFrq.body.fundRequestId, { decision: 'approve' });
  await eventually(async () => (await api.get(`/partners/${demo.partnerId}/fund-requests/${approvedFrq.body.fundRequestId}`, demo.tokens.partner)).body.status === 'APPROVED');
  ids.fundRequestId = approvedFrq.body.fundRequestId;
  const pendingFrq = await api.post(`/partners/${demo.partnerId}/fund-requests`, fundRequestBody(2_000), { token: demo.tokens.partner });
  ids.closableFundRequestId = pendingFrq.body.fundRequestId;
  const link = await eventually(async () => approvalLinkFor(system, config().approvers.channelManager, pendingFrq.body.fundRequestId));
  Object.assign(ids, { approvalId: link.approvalId, approvalToken: link.token });
  const claim = await api.post(`/partners/${demo.partnerId}/claims`, claimBody(ids.fundRequestId!, 500, 'FUZZ-BASE'), { token: demo.tokens.partner });
  ids.claimId = claim.body.claimId;
  const application = await api.post('/applications', validRequest(ROUTES.find((r) => r.path === '/applications')!).body);
  ids.applicationId = application.body.applicationId;
  ids.runId = 'payoutRun_0000000000000000000000000';
  for (const id of ['fundRequestId', 'claimId', 'applicationId', 'approvalId']) expect(ids[id], id).toBeTruthy();
  await settled();
}, 60_000);

afterAll(async () => {
  console.log(`no-5xx property: ${requests.total} requests, by status ${JSON.stringify(Object.fromEntries([...requests.byStatus].sort((a, b) => a[0] - b[0])))}`);
  await system?.stop();
});

describe('no input gets a 5xx, and a refused request stores nothing', () => {
  it('every route with a body has its schema in the OpenAPI generator (so it is fuzzed below)', () => {
    const bodyless = new Set(['POST /partners/{partnerId}/fund-requests/{fundRequestId}/close', 'DELETE /partners/{partnerId}/sales/{dealId}', 'DELETE /partners/{partnerId}/users/{userId}']);
    for (const route of ROUTES.filter((r) => r.method !== 'GET' && !bodyless.has(routeKey(r)))) expect(REQUEST_BODIES[routeKey(route)], routeKey(route)).toBeInstanceOf(z.ZodType);
  });

  it.each(ROUTES.map((r) => [routeKey(r), r] as const))('%s', async (_key, route) => {
    const valid = validRequest(route);
    const schema = REQUEST_BODIES[routeKey(route)];
    if (schema && valid.body !== undefined) expect(schema.safeParse(valid.body).success, 'the valid request is valid').toBe(true);
    const fields = schema ? fieldPaths(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, any>) : [];
    const params = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);

    const mutation = fc.oneof(
      ...(fields.length ? [fc.record({ kind: fc.constant('field' as const), path: fc.constantFrom(...fields), value: anyValue, remove: fc.boolean() })] : []),
      ...(params.length ? [fc.record({ kind: fc.constant('param' as const), name: fc.constantFrom(...params), segment: anyPathSegment })] : []),
      fc.record({ kind: fc.constant('query' as const), query: anyQuery }),
      ...(route.method !== 'GET' ? [fc.record({ kind: fc.constant('body' as const), value: anyValue })] : []),
    );

    let before = await tableDigest();
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const body = m.kind === 'field' ? withField(valid.body ?? {}, m.path, m.value, m.remove) : m.kind === 'body' ? m.value : valid.body;
        const path = url(route, valid.params, m.kind === 'query' ? { ...(valid.query ?? {}), ...m.query } : valid.query, m.kind === 'param' ? m.segment === '' ? undefined : m : undefined);
        const res = await send(route, valid.token, path, body);
        expect(res.status, `${route.method} ${path} ${JSON.stringify(body)?.slice(0, 300)} → ${res.text.slice(0, 300)}`).toBeLessThan(500);
        if (res.status >= 400) {
          expect(res.body?.error?.code ?? res.text, 'a refusal says why').toBeTruthy();
          expect(await tableDigest(), `${route.method} ${path} answered ${res.status} but changed the table`).toBe(before);
        } else if (route.method !== 'GET') {
          before = await settled();
        }
      }),
      { seed: SEED, numRuns: RUNS_PER_ROUTE, endOnFailure: true },
    );
  }, 120_000);
});
