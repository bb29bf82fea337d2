import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/runtime.ts';
import { claimBody, decide, fundRequestBody, quarterNow, startDemoSystem, uploadAll } from '../support/mdf.ts';
import { apiClient, bearer, type ApiClient } from '../support/api-client.ts';
import { eventually, tokenFor, type Client } from '../support/system.ts';
import { parseCsv } from '../support/csv.ts';

const CM = 'channel.manager@example.com';
const FINANCE = 'finance@example.com';
const month = new Date().toISOString().slice(0, 7);
const today = new Date().toISOString().slice(0, 10);

describe('incentives and payouts over HTTP', () => {
  let system: LocalSystem;
  /** The untyped client of test/support/mdf.ts, which its `decide` helper takes. */
  let untyped: Client;
  let api: ApiClient;
  let partnerId: string;
  let partner: string;
  let admin: string;
  let finance: string;

  beforeAll(async () => {
    ({ system, api: untyped, partnerId, partner } = await startDemoSystem());
    api = apiClient(system);
    admin = await tokenFor(system, ['admin'], 'admin@example.com');
    finance = await tokenFor(system, ['finance'], FINANCE);
  });
  afterAll(() => system?.stop());

  const run = (runId: string) => api.GET('/payout-runs/{runId}', { params: { path: { runId } }, headers: bearer(finance) });
  const runStatus = async (runId: string) => (await run(runId)).data?.status;
  const csv = (kind: 'export' | 'lines', runId: string, token: string) =>
    kind === 'export'
      ? api.GET('/payout-runs/{runId}/export.csv', { params: { path: { runId } }, headers: bearer(token), parseAs: 'text' })
      : api.GET('/payout-runs/{runId}/lines.csv', { params: { path: { runId } }, headers: bearer(token), parseAs: 'text' });
  const claimOf = (claimId: string) => api.GET('/partners/{partnerId}/claims/{claimId}', { params: { path: { partnerId, claimId } }, headers: bearer(partner) });

  it('programs, sales, an MDF claim, a run approved by link, both CSVs, payments confirmed', async () => {
    const start = `${month}-01`;
    const rebate = await api.POST('/programs', { body: { name: 'Core rebate', kind: 'rebate', currency: 'USD', startDate: start, endDate: '2099-12-31', rebate: { rateBps: 250 } }, headers: bearer(admin) });
    expect(rebate.response.status).toBe(201);
    const spiff = await api.POST('/programs', { body: { name: '=SPIFF', kind: 'spiff', currency: 'USD', startDate: start, endDate: '2099-12-31', spiff: { sku: 'SW-1', amountPerUnit: { amount: 5_000, currency: 'USD' } } }, headers: bearer(admin) });
    expect(spiff.response.status).toBe(201);
    expect((await api.POST('/programs', { body: { name: 'x', kind: 'rebate', currency: 'USD', startDate: start, endDate: start }, headers: bearer(admin) })).response.status).toBe(400);
    expect((await api.POST('/programs', { body: { name: 'x', kind: 'rebate', currency: 'USD', startDate: start, endDate: start, rebate: { rateBps: 1 } }, headers: bearer(partner) })).response.status).toBe(403);
    const programs = await api.GET('/programs', { headers: bearer(partner) });
    expect(programs.data!.programs.map((p) => p.name).sort()).toEqual(['=SPIFF', 'Core rebate']);

    const sales = await api.POST('/partners/{partnerId}/sales', {
      params: { path: { partnerId } },
      body: {
        sales: [
          { dealId: 'D-1', closedOn: today, sku: 'SW-1', quantity: 2, revenue: { amount: 100_050, currency: 'USD' } },
          { dealId: 'D-2', closedOn: today, sku: 'HW-9', quantity: 1, revenue: { amount: 40_000, currency: 'USD' } },
          { dealId: 'D-1', closedOn: today, sku: 'SW-1', quantity: 2, revenue: { amount: 100_050, currency: 'USD' } },
          { dealId: 'D-3', closedOn: today, sku: 'HW-9', quantity: 1, revenue: { amount: 9_000, currency: 'EUR' } },
        ],
      },
      headers: bearer(partner),
    });
    expect(sales.response.status).toBe(202);
    expect(sales.data).toMatchObject({ accepted: 3, duplicates: 1 });
    expect(sales.data!.notAccrued.map((n) => n.dealId)).toContain('D-3');

    // An approved MDF claim of this month.
    const period = quarterNow();
    const budget = await api.PUT('/partners/{partnerId}/budgets/{period}', { params: { path: { partnerId, period } }, body: { allocated: { amount: 1_000_000, currency: 'USD' } }, headers: bearer(admin) });
    expect(budget.response.status).toBe(200);
    const frq = await api.POST('/partners/{partnerId}/fund-requests', { params: { path: { partnerId } }, body: fundRequestBody(200_000), headers: bearer(partner) });
    const fundRequestId = frq.data!.fundRequestId;
    await decide(system, untyped, CM, fundRequestId, { decision: 'approve' });
    await eventually(async () => (await api.GET('/partners/{partnerId}/fund-requests/{fundRequestId}', { params: { path: { partnerId, fundRequestId } }, headers: bearer(partner) })).data?.status === 'APPROVED');
    const claim = await api.POST('/partners/{partnerId}/claims', { params: { path: { partnerId } }, body: claimBody(fundRequestId, 30_000, 'PAY-1'), headers: bearer(partner) });
    const claimId = claim.data!.claimId;
    await uploadAll(claim.data!.uploads);
    await eventually(async () => (await claimOf(claimId)).data?.status === 'APPROVED');

    // No payee yet: the run holds the partner.
    const heldRun = await api.POST('/payout-runs', { body: { period: month }, headers: bearer(finance) });
    expect(heldRun.response.status).toBe(202);
    const heldRunId = heldRun.data!.runId;
    expect((await api.POST('/payout-runs', { body: { period: month }, headers: bearer(finance) })).response.status).toBe(409);
    await eventually(async () => (await runStatus(heldRunId)) === 'AWAITING_APPROVAL');
    const held = (await run(heldRunId)).data!;
    expect(held.totals).toEqual([]);
    // 30,000 claim + 2.5% of 100,050 (2,501.25 → 2,501) + 2.5% of 40,000 (1,000) + SPIFF 2 × 5,000
    expect(held.held).toEqual([{ partnerId, currency: 'USD', amount: 30_000 + 2_501 + 1_000 + 10_000, reason: 'no payee reference' }]);
    expect((await csv('export', heldRunId, finance)).response.status).toBe(409);
    await decide(system, untyped, FINANCE, heldRunId, { decision: 'reject', comment: 'Payee missing' });
    await eventually(async () => (await runStatus(heldRunId)) === 'REJECTED');

    // With a payee: a new run for the same period takes everything again.
    expect((await api.PUT('/partners/{partnerId}/payee', { params: { path: { partnerId } }, body: { payeeReference: '+IBAN DE00 1234' }, headers: bearer(partner) })).response.status).toBe(200);
    const started = await api.POST('/payout-runs', { body: { period: month }, headers: bearer(finance) });
    expect(started.response.status).toBe(202);
    const { runId } = started.data!;
    await eventually(async () => (await runStatus(runId)) === 'AWAITING_APPROVAL');
    await decide(system, untyped, FINANCE, runId, { decision: 'approve' });
    const approved = await eventually(async () => {
      const r = await run(runId);
      return r.data?.status === 'APPROVED' ? r.data : undefined;
    });
    expect(approved.totals).toEqual([{ currency: 'USD', amount: 43_501, payments: 1 }]);

    expect((await csv('export', runId, partner)).response.status).toBe(403);
    expect((await csv('export', runId, await tokenFor(system, ['channel_manager'], CM))).response.status).toBe(403);
    const exportCsv = await csv('export', runId, finance);
    expect(exportCsv.response.status).toBe(200);
    expect(exportCsv.response.redirected).toBe(true);
    expect(exportCsv.response.headers.get('content-type')).toContain('text/csv');
    const rows = parseCsv(exportCsv.data!);
    expect(rows[0]).toEqual(['payment_id', 'run_id', 'period', 'partner_id', 'partner_legal_name', 'payee_reference', 'currency', 'amount', 'amount_minor', 'line_count']);
    expect(rows).toHaveLength(2);
    expect(rows[1]!.slice(1)).toEqual([runId, month, partnerId, 'Demo Reseller GmbH', "'+IBAN DE00 1234", 'USD', '435.01', '43501', '4']);
    expect((await csv('export', runId, finance)).data).toBe(exportCsv.data);

    const linesCsv = await csv('lines', runId, finance);
    const lines = parseCsv(linesCsv.data!).slice(1);
    expect(lines.map((l) => l[3]).sort()).toEqual(['mdf_claim', 'rebate', 'rebate', 'spiff']);
    expect(lines.reduce((sum, l) => sum + Number(l[8]), 0)).toBe(43_501);
    expect(linesCsv.data).toContain("'=SPIFF: deal D-1");

    const paymentId = rows[1]![0]!;
    const confirm = await api.POST('/payout-runs/{runId}/payments', {
      params: { path: { runId } },
      body: { payments: [{ paymentId, paidOn: today, bankReference: 'BANK-1' }, { paymentId, paidOn: today, bankReference: 'BANK-1' }, { paymentId: 'pay_unknown', paidOn: today, bankReference: 'X' }] },
      headers: bearer(finance),
    });
    expect(confirm.data).toMatchObject({ confirmed: [paymentId], alreadyPaid: [paymentId], unknown: ['pay_unknown'], status: 'PAID' });
    const again = await api.POST('/payout-runs/{runId}/payments', { params: { path: { runId } }, body: { payments: [{ paymentId, paidOn: today, bankReference: 'BANK-1' }] }, headers: bearer(finance) });
    expect(again.data).toMatchObject({ confirmed: [], alreadyPaid: [paymentId] });
    expect((await claimOf(claimId)).data!.status).toBe('PAID');
    expect((await api.GET('/partners/{partnerId}/budgets/{period}', { params: { path: { partnerId, period } }, headers: bearer(partner) })).data).toMatchObject({ approved: { amount: 30_000 }, paid: { amount: 30_000 } });

    // Reversing a paid sale yields a clawback line in the next run.
    const reversed = await api.DELETE('/partners/{partnerId}/sales/{dealId}', { params: { path: { partnerId, dealId: 'D-2' } }, headers: bearer(partner) });
    expect(reversed.response.status).toBe(200);
    expect(reversed.data!.clawback).toEqual([{ sourceId: expect.stringMatching(/^prg_.*:D-2$/), amount: { amount: -1_000, currency: 'USD' } }]);
  });
});
