import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/runtime.ts';
import { claimBody, decide, fundRequestBody, proofFile, quarterNow, startDemoSystem, uploadAll } from '../support/mdf.ts';
import { eventually, tokenFor, type Client } from '../support/system.ts';

const CM = 'channel.manager@example.com';
const MD = 'marketing.director@example.com';

describe("a partner's MDF journey over HTTP", () => {
  let system: LocalSystem;
  let api: Client;
  let partnerId: string;
  let partner: string;
  let cm: string;
  const period = quarterNow();

  beforeAll(async () => {
    ({ system, api, partnerId, partner } = await startDemoSystem());
    cm = await tokenFor(system, ['channel_manager'], CM);
  });
  afterAll(() => system?.stop());

  const budget = async () => (await api.get(`/partners/${partnerId}/budgets/${period}`, partner)).body;
  const claimStatus = (claimId: string, wanted: string) =>
    eventually(async () => {
      const r = await api.get(`/partners/${partnerId}/claims/${claimId}`, partner);
      return r.body.status === wanted ? r.body : undefined;
    });

  it('allocates, requests, approves by link, claims with upload, partially approves by two links, and the budget moves', async () => {
    const allocated = await api.put(`/partners/${partnerId}/budgets/${period}`, { allocated: { amount: 5_000_000, currency: 'USD' } }, { token: cm });
    expect(allocated.status).toBe(200);
    expect(allocated.body.available).toEqual({ amount: 5_000_000, currency: 'USD' });

    const tooMuch = await api.post(`/partners/${partnerId}/fund-requests`, fundRequestBody(6_000_000), { token: partner });
    expect(tooMuch.status).toBe(409);
    expect(tooMuch.body.error.code).toBe('insufficient_budget');

    const frq = await api.post(`/partners/${partnerId}/fund-requests`, fundRequestBody(3_000_000), { token: partner });
    expect(frq.status).toBe(202);
    const { fundRequestId } = frq.body;
    await decide(system, api, CM, fundRequestId, { decision: 'approve', approvedAmount: { amount: 2_500_000, currency: 'USD' } });
    const approvedFrq = await eventually(async () => {
      const r = await api.get(`/partners/${partnerId}/fund-requests/${fundRequestId}`, partner);
      return r.body.status === 'APPROVED' ? r.body : undefined;
    });
    expect(approvedFrq.approvedAmount).toEqual({ amount: 2_500_000, currency: 'USD' });
    expect(await budget()).toMatchObject({ reserved: { amount: 2_500_000 }, approved: { amount: 0 }, available: { amount: 2_500_000 } });

    const above = await api.post(`/partners/${partnerId}/claims`, claimBody(fundRequestId, 2_500_001, 'INV-0'), { token: partner });
    expect(above.status).toBe(409);
    expect(above.body.error.code).toBe('amount_exceeds_remaining');

    const claim = await api.post(`/partners/${partnerId}/claims`, claimBody(fundRequestId, 2_000_000, 'INV-1'), { token: partner });
    expect(claim.status).toBe(202);
    expect(claim.body.uploads).toHaveLength(1);
    const dupInvoice = await api.post(`/partners/${partnerId}/claims`, claimBody(fundRequestId, 1_000, 'inv-1'), { token: partner });
    expect(dupInvoice.body.error.code).toBe('duplicate_invoice');
    await uploadAll(claim.body.uploads);

    const { claimId } = claim.body;
    await decide(system, api, CM, claimId, { decision: 'approve', approvedAmount: { amount: 1_800_000, currency: 'USD' } });
    await decide(system, api, MD, claimId, { decision: 'approve', approvedAmount: '15000.00', comment: 'Partial: one webinar was cancelled' });
    const approved = await claimStatus(claimId, 'APPROVED');
    expect(approved.approvedAmount).toEqual({ amount: 1_500_000, currency: 'USD' });
    expect(approved.history.map((h: { toStatus: string }) => h.toStatus)).toEqual(['SUBMITTED', 'IN_REVIEW', 'APPROVED']);

    expect(await budget()).toMatchObject({
      allocated: { amount: 5_000_000 },
      reserved: { amount: 1_000_000 },
      approved: { amount: 1_500_000 },
      paid: { amount: 0 },
      available: { amount: 2_500_000 },
    });
    const frqAfter = (await api.get(`/partners/${partnerId}/fund-requests/${fundRequestId}`, partner)).body;
    expect(frqAfter).toMatchObject({ claimed: { amount: 1_500_000 }, remaining: { amount: 1_000_000 } });

    const below = await api.put(`/partners/${partnerId}/budgets/${period}`, { allocated: { amount: 2_000_000, currency: 'USD' } }, { token: cm });
    expect(below.status).toBe(409);
    expect(below.body.error.code).toBe('budget_below_committed');

    // Closing the fund request gives its unclaimed 1,000,000 back to the budget; no claim is taken after.
    const closed = await api.post(`/partners/${partnerId}/fund-requests/${fundRequestId}/close`, {}, { token: partner });
    expect(closed.body).toMatchObject({ status: 'CLOSED', remaining: { amount: 0 }, claimed: { amount: 1_500_000 } });
    expect(await budget()).toMatchObject({ reserved: { amount: 0 }, approved: { amount: 1_500_000 }, available: { amount: 3_500_000 } });
    const late = await api.post(`/partners/${partnerId}/claims`, claimBody(fundRequestId, 1_000, 'INV-LATE'), { token: partner });
    expect(late.body.error.code).toBe('fund_request_not_approved');
    expect((await api.post(`/partners/${partnerId}/fund-requests/${fundRequestId}/close`, {}, { token: partner })).status).toBe(409);

    const emails = system.outbox.all().filter((m) => m.to.includes('dana@demo-reseller.example'));
    expect(emails.some((m) => m.subject.includes(claimId) && m.subject.includes('approved'))).toBe(true);
  });

  it('loops through request-changes and resubmission; another partner gets 404 for it', async () => {
    const frq = await api.post(`/partners/${partnerId}/fund-requests`, fundRequestBody(500_000), { token: partner });
    await decide(system, api, CM, frq.body.fundRequestId, { decision: 'approve' });
    await eventually(async () => (await api.get(`/partners/${partnerId}/fund-requests/${frq.body.fundRequestId}`, partner)).body.status === 'APPROVED');

    const claim = await api.post(`/partners/${partnerId}/claims`, claimBody(frq.body.fundRequestId, 400_000, 'INV-2'), { token: partner });
    await uploadAll(claim.body.uploads);
    const { claimId } = claim.body;
    const first = await decide(system, api, CM, claimId, { decision: 'request_changes', comment: 'Attach the attendee list' });
    await claimStatus(claimId, 'CHANGES_REQUESTED');

    const other = await tokenFor(system, ['partner'], 'eve@other.example', 'ptr_01ARZ3NDEKTSV4RRFFQ69G5FAV');
    expect((await api.get(`/partners/${partnerId}/claims/${claimId}`, other)).status).toBe(404);
    expect((await api.put(`/partners/${partnerId}/claims/${claimId}`, { comment: 'hijack' }, { token: other })).status).toBe(404);
    expect((await api.get(`/partners/${partnerId}/claims`, other)).status).toBe(404);

    const resubmitted = await api.put(`/partners/${partnerId}/claims/${claimId}`, { amount: { amount: 350_000, currency: 'USD' }, proofOfPerformance: [proofFile('hello', 'attendees.pdf')] }, { token: partner });
    expect(resubmitted.status).toBe(202);
    await uploadAll(resubmitted.body.uploads, 'hello');
    await decide(system, api, CM, claimId, { decision: 'approve' }, first.approvalId);
    const approved = await claimStatus(claimId, 'APPROVED');
    expect(approved.approvedAmount).toEqual({ amount: 350_000, currency: 'USD' });
    expect(approved.history.map((h: { toStatus: string }) => h.toStatus)).toEqual(['SUBMITTED', 'IN_REVIEW', 'CHANGES_REQUESTED', 'IN_REVIEW', 'APPROVED']);
  });

  it('a fund request sent back for changes is resubmitted by PUT; every refusal (other partner, staff, wrong status, invalid body, the POST rules) changes nothing', async () => {
    const frq = await api.post(`/partners/${partnerId}/fund-requests`, fundRequestBody(200_000), { token: partner });
    const { fundRequestId } = frq.body;
    const path = `/partners/${partnerId}/fund-requests/${fundRequestId}`;
    const first = await decide(system, api, CM, fundRequestId, { decision: 'request_changes', comment: 'Name the venue' });
    const waiting = await eventually(async () => {
      const r = await api.get(path, partner);
      return r.body.status === 'CHANGES_REQUESTED' ? r.body : undefined;
    });

    const other = await tokenFor(system, ['partner'], 'eve@other.example', 'ptr_01ARZ3NDEKTSV4RRFFQ69G5FAV');
    const valid = { ...fundRequestBody(150_000), comment: 'Venue named' };
    const refusals: [string, { status: number; body: any }, number, string][] = [
      ['another partner', await api.put(path, valid, { token: other }), 404, 'not_found'],
      ['a channel manager', await api.put(path, valid, { token: cm }), 403, 'forbidden'],
      ['no period', await api.put(path, { ...valid, period: undefined }, { token: partner }), 400, 'validation_failed'],
      ['end before start', await api.put(path, { ...valid, activity: { ...valid.activity, startDate: valid.activity.endDate, endDate: valid.activity.startDate } }, { token: partner }), 400, 'validation_failed'],
      ['more than available', await api.put(path, { ...valid, requested: { amount: 9_000_000, currency: 'USD' } }, { token: partner }), 409, 'insufficient_budget'],
      ['another currency', await api.put(path, { ...valid, requested: { amount: 1_000, currency: 'EUR' } }, { token: partner }), 400, 'currency_mismatch'],
      ['a quarter without budget', await api.put(path, { ...valid, period: '2099-Q1' }, { token: partner }), 409, 'insufficient_budget'],
    ];
    for (const [what, res, status, code] of refusals) {
      expect(res.status, what).toBe(status);
      expect(res.body.error.code, what).toBe(code);
    }
    expect((await api.get(path, partner)).body).toEqual(waiting);

    const resubmitted = await api.put(path, valid, { token: partner });
    expect(resubmitted.status, resubmitted.text).toBe(202);
    await decide(system, api, CM, fundRequestId, { decision: 'approve' }, first.approvalId);
    const approved = await eventually(async () => {
      const r = await api.get(path, partner);
      return r.body.status === 'APPROVED' ? r.body : undefined;
    });
    expect(approved).toMatchObject({ requested: { amount: 150_000 }, approvedAmount: { amount: 150_000 } });

    const again = await api.put(path, valid, { token: partner });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('fund_request_not_awaiting_changes');
    expect((await api.get(path, partner)).body).toEqual(approved);
  });
});
