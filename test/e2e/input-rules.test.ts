import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/runtime.ts';
import { claimBody, daysAgo, decide, fundRequestBody, startDemoSystem, uploadAll } from '../support/mdf.ts';
import { apiClient, bearer, type ApiClient } from '../support/api-client.ts';
import { eventually, tokenFor, type Client } from '../support/system.ts';

const CM = 'channel.manager@example.com';

/** The input rules (core/text.ts, core/fields.ts, the bounds) over HTTP: refused with 400 and a code, nothing stored. */
describe('input rules over HTTP', () => {
  let system: LocalSystem;
  /** The untyped client of test/support/mdf.ts, which its `decide` helper takes. */
  let untyped: Client;
  let api: ApiClient;
  let partnerId: string;
  let partner: string;
  let admin: string;
  let fundRequestId: string;

  beforeAll(async () => {
    ({ system, api: untyped, partnerId, partner } = await startDemoSystem());
    api = apiClient(system);
    admin = await tokenFor(system, ['admin'], 'admin@example.com');
    const frq = await api.POST('/partners/{partnerId}/fund-requests', { params: { path: { partnerId } }, body: fundRequestBody(900_000), headers: bearer(partner) });
    fundRequestId = frq.data!.fundRequestId;
    await decide(system, untyped, CM, fundRequestId, { decision: 'approve' });
    await eventually(async () => (await api.GET('/partners/{partnerId}/fund-requests/{fundRequestId}', { params: { path: { partnerId, fundRequestId } }, headers: bearer(partner) })).data?.status === 'APPROVED');
  });
  afterAll(() => system?.stop());

  const claims = async () => (await api.GET('/partners/{partnerId}/claims', { params: { path: { partnerId } }, headers: bearer(partner) })).data!.claims;
  const submitClaim = (body: ReturnType<typeof claimBody>) => api.POST('/partners/{partnerId}/claims', { params: { path: { partnerId } }, body, headers: bearer(partner) });
  const claimOf = async (claimId: string) => (await api.GET('/partners/{partnerId}/claims/{claimId}', { params: { path: { partnerId, claimId } }, headers: bearer(partner) })).data!;

  it('a look-alike of an invoice already claimed (fullwidth, Unicode dash, zero-width space, case) is a duplicate', async () => {
    const first = await submitClaim(claimBody(fundRequestId, 1_000, 'INV-7001'));
    expect(first.response.status).toBe(202);
    for (const lookAlike of ['ＩＮＶ－７００１', 'inv\u20107001', 'INV-70\u200B01', 'INV\u2013 7001']) {
      const copy = await submitClaim(claimBody(fundRequestId, 1_000, lookAlike));
      expect(copy.response.status, lookAlike).toBe(409);
      expect(copy.error!.error.code).toBe('duplicate_invoice');
    }
    expect((await claims()).filter((c) => c.invoiceNumber !== 'INV-7001').length).toBe(0);
  });

  it('control characters, bidi overrides and lone surrogates in free text are refused with invalid_text', async () => {
    const before = (await claims()).length;
    for (const invoiceNumber of ['INV\u0000-1', 'INV-\u202E1', 'INV-\uD800']) {
      const res = await submitClaim(claimBody(fundRequestId, 1_000, invoiceNumber));
      expect(res.response.status).toBe(400);
      expect(res.error!.error).toMatchObject({ code: 'invalid_text', details: [{ path: 'invoiceNumber' }] });
    }
    expect((await claims()).length).toBe(before);
  });

  it('sales: invalid calendar dates and numbers beyond the bounds are 400, and no sale is stored', async () => {
    const sale = { dealId: 'B-1', closedOn: daysAgo(3), sku: 'HW-1', quantity: 1, revenue: { amount: 1_000, currency: 'USD' } };
    const bad = [{ closedOn: '2026-13-01' }, { closedOn: '2026-2-3' }, { closedOn: '' }, { closedOn: '2026-02-03T00:00:00Z' }, { quantity: 10_000_001 }, { revenue: { amount: 10 ** 12 + 1, currency: 'USD' } }];
    for (const change of bad) {
      const res = await api.POST('/partners/{partnerId}/sales', { params: { path: { partnerId } }, body: { sales: [{ ...sale, ...change }] }, headers: bearer(admin) });
      expect(res.response.status, JSON.stringify(change)).toBe(400);
      expect(res.error!.error.code).toBe('validation_failed');
    }
    expect((await api.DELETE('/partners/{partnerId}/sales/{dealId}', { params: { path: { partnerId, dealId: 'B-1' } }, headers: bearer(admin) })).response.status).toBe(404);
  });

  it('a resubmission is held to the rules of a submission: a future completion date is refused and the claim still waits for changes', async () => {
    const claim = await submitClaim(claimBody(fundRequestId, 60_000, 'INV-7002'));
    const claimId = claim.data!.claimId;
    await uploadAll(claim.data!.uploads);
    await decide(system, untyped, CM, claimId, { decision: 'request_changes', comment: 'Fix the date' });
    await eventually(async () => (await claimOf(claimId)).status === 'CHANGES_REQUESTED');
    const future = new Date(Date.now() + 5 * 86_400_000).toISOString().slice(0, 10);
    for (const [change, code] of [[{ activityCompletedOn: future }, 'activity_not_completed'], [{ activityCompletedOn: '2000-01-01' }, 'activity_before_start'], [{ amount: { amount: 60_000, currency: 'EUR' } }, 'currency_mismatch']] as const) {
      const res = await api.PUT('/partners/{partnerId}/claims/{claimId}', { params: { path: { partnerId, claimId } }, body: change, headers: bearer(partner) });
      expect(res.response.status, code).toBe(400);
      expect(res.error!.error.code).toBe(code);
    }
    const after = await claimOf(claimId);
    expect(after.status).toBe('CHANGES_REQUESTED');
    expect(after.activityCompletedOn).toBe(claimBody(fundRequestId, 1, 'x').activityCompletedOn);
  });
});
