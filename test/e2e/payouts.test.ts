import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/runtime.ts';
import { claimBody, decide, fundRequestBody, quarterNow, startDemoSystem, uploadAll } from '../support/mdf.ts';
import { eventually, tokenFor, type Client } from '../support/system.ts';
import { parseCsv } from '../support/csv.ts';

const CM = 'channel.manager@example.com';
const FINANCE = 'finance@example.com';
const month = new Date().toISOString().slice(0, 7);
const today = new Date().toISOString().slice(0, 10);

describe('incentives and payouts over HTTP', () => {
  let system: LocalSystem;
  let api: Client;
  let partnerId: string;
  let partner: string;
  let admin: string;
  let finance: string;

  beforeAll(async () => {
    ({ system, api, partnerId, partner } = await startDemoSystem());
    admin = await tokenFor(system, ['admin'], 'admin@example.com');
    finance = await tokenFor(system, ['finance'], FINANCE);
  });
  afterAll(() => system?.stop());

  it('programs, sales, an MDF claim, a run approved by link, both CSVs, payments confirmed', async () => {
    const start = `${month}-01`;
    const rebate = await api.post('/programs', { name: 'Core rebate', kind: 'rebate', currency: 'USD', startDate: start, endDate: '2099-12-31', rebate: { rateBps: 250 } }, { token: admin });
    expect(rebate.status).toBe(201);
    const spiff = await api.post('/programs', { name: '=SPIFF', kind: 'spiff', currency: 'USD', startDate: start, endDate: '2099-12-31', spiff: { sku: 'SW-1', amountPerUnit: { amount: 5_000, currency: 'USD' } } }, { token: admin });
    expect(spiff.status).toBe(201);
    expect((await api.post('/programs', { name: 'x', kind: 'rebate', currency: 'USD', startDate: start, endDate: start }, { token: admin })).status).toBe(400);
    expect((await api.post('/programs', { name: 'x', kind: 'rebate', currency: 'USD', startDate: start, endDate: start, rebate: { rateBps: 1 } }, { token: partner })).status).toBe(403);

    const sales = await api.post(`/partners/${partnerId}/sales`, {
      sales: [
        { dealId: 'D-1', closedOn: today, sku: 'SW-1', quantity: 2, revenue: { amount: 100_050, currency: 'USD' } },
        { dealId: 'D-2', closedOn: today, sku: 'HW-9', quantity: 1, revenue: { amount: 40_000, currency: 'USD' } },
        { dealId: 'D-1', closedOn: today, sku: 'SW-1', quantity: 2, revenue: { amount: 100_050, currency: 'USD' } },
        { dealId: 'D-3', closedOn: today, sku: 'HW-9', quantity: 1, revenue: { amount: 9_000, currency: 'EUR' } },
      ],
    }, { token: partner });
    expect(sales.status).toBe(202);
    expect(sales.body).toMatchObject({ accepted: 3, duplicates: 1 });
    expect(sales.body.notAccrued.map((n: { dealId: string }) => n.dealId)).toContain('D-3');

    // An approved MDF claim of this month.
    const period = quarterNow();
    await api.put(`/partners/${partnerId}/budgets/${period}`, { allocated: { amount: 1_000_000, currency: 'USD' } }, { token: admin });
    const frq = await api.post(`/partners/${partnerId}/fund-requests`, fundRequestBody(200_000), { token: partner });
    await decide(system, api, CM, frq.body.fundRequestId, { decision: 'approve' });
    await eventually(async () => (await api.get(`/partners/${partnerId}/fund-requests/${frq.body.fundRequestId}`, partner)).body.status === 'APPROVED');
    const claim = await api.post(`/partners/${partnerId}/claims`, claimBody(frq.body.fundRequestId, 30_000, 'PAY-1'), { token: partner });
    await uploadAll(claim.body.uploads);
    await eventually(async () => (await api.get(`/partners/${partnerId}/claims/${claim.body.claimId}`, partner)).body.status === 'APPROVED');

    // No payee yet: the run holds the partner.
    const heldRun = await api.post('/payout-runs', { period: month }, { token: finance });
    expect(heldRun.status).toBe(202);
    expect((await api.post('/payout-runs', { period: month }, { token: finance })).status).toBe(409);
    await eventually(async () => (await api.get(`/payout-runs/${heldRun.body.runId}`, finance)).body.status === 'AWAITING_APPROVAL');
    const held = (await api.get(`/payout-runs/${heldRun.body.runId}`, finance)).body;
    expect(held.totals).toEqual([]);
    // 30,000 claim + 2.5% of 100,050 (2,501.25 → 2,501) + 2.5% of 40,000 (1,000) + SPIFF 2 × 5,000
    expect(held.held).toEqual([{ partnerId, currency: 'USD', amount: 30_000 + 2_501 + 1_000 + 10_000, reason: 'no payee reference' }]);
    expect((await api.get(`/payout-runs/${heldRun.body.runId}/export.csv`, finance)).status).toBe(409);
    await decide(system, api, FINANCE, heldRun.body.runId, { decision: 'reject', comment: 'Payee missing' });
    await eventually(async () => (await api.get(`/payout-runs/${heldRun.body.runId}`, finance)).body.status === 'REJECTED');

    // With a payee: a new run for the same period takes everything again.
    expect((await api.put(`/partners/${partnerId}/payee`, { payeeReference: '+IBAN DE00 1234' }, { token: partner })).status).toBe(200);
    const run = await api.post('/payout-runs', { period: month }, { token: finance });
    expect(run.status).toBe(202);
    const { runId } = run.body;
    await eventually(async () => (await api.get(`/payout-runs/${runId}`, finance)).body.status === 'AWAITING_APPROVAL');
    await decide(system, api, FINANCE, runId, { decision: 'approve' });
    const approved = await eventually(async () => {
      const r = await api.get(`/payout-runs/${runId}`, finance);
      return r.body.status === 'APPROVED' ? r.body : undefined;
    });
    expect(approved.totals).toEqual([{ currency: 'USD', amount: 43_501, payments: 1 }]);

    expect((await api.get(`/payout-runs/${runId}/export.csv`, partner)).status).toBe(403);
    expect((await api.get(`/payout-runs/${runId}/export.csv`, await tokenFor(system, ['channel_manager'], CM))).status).toBe(403);
    const exportCsv = await api.get(`/payout-runs/${runId}/export.csv`, finance);
    expect(exportCsv.status).toBe(200);
    expect(exportCsv.headers.get('content-type')).toContain('text/csv');
    const rows = parseCsv(exportCsv.text);
    expect(rows[0]).toEqual(['payment_id', 'run_id', 'period', 'partner_id', 'partner_legal_name', 'payee_reference', 'currency', 'amount', 'amount_minor', 'line_count']);
    expect(rows).toHaveLength(2);
    expect(rows[1]!.slice(1)).toEqual([runId, month, partnerId, 'Demo Reseller GmbH', "'+IBAN DE00 1234", 'USD', '435.01', '43501', '4']);
    expect((await api.get(`/payout-runs/${runId}/export.csv`, finance)).text).toBe(exportCsv.text);

    const linesCsv = await api.get(`/payout-runs/${runId}/lines.csv`, finance);
    const lines = parseCsv(linesCsv.text).slice(1);
    expect(lines.map((l) => l[3]).sort()).toEqual(['mdf_claim', 'rebate', 'rebate', 'spiff']);
    expect(lines.reduce((sum, l) => sum + Number(l[8]), 0)).toBe(43_501);
    expect(linesCsv.text).toContain("'=SPIFF: deal D-1");

    const paymentId = rows[1]![0]!;
    const confirm = await api.post(`/payout-runs/${runId}/payments`, { payments: [{ paymentId, paidOn: today, bankReference: 'BANK-1' }, { paymentId, paidOn: today, bankReference: 'BANK-1' }, { paymentId: 'pay_unknown', paidOn: today, bankReference: 'X' }] }, { token: finance });
    expect(confirm.body).toMatchObject({ confirmed: [paymentId], alreadyPaid: [paymentId], unknown: ['pay_unknown'], status: 'PAID' });
    const again = await api.post(`/payout-runs/${runId}/payments`, { payments: [{ paymentId, paidOn: today, bankReference: 'BANK-1' }] }, { token: finance });
    expect(again.body).toMatchObject({ confirmed: [], alreadyPaid: [paymentId] });
    expect((await api.get(`/partners/${partnerId}/claims/${claim.body.claimId}`, partner)).body.status).toBe('PAID');
    expect((await api.get(`/partners/${partnerId}/budgets/${period}`, partner)).body).toMatchObject({ approved: { amount: 30_000 }, paid: { amount: 30_000 } });

    // Reversing a paid sale yields a clawback line in the next run.
    const reversed = await api.raw(`/partners/${partnerId}/sales/D-2`, { method: 'DELETE', headers: { authorization: `Bearer ${partner}` } });
    expect(reversed.status).toBe(200);
    expect(reversed.body.clawback).toEqual([{ sourceId: expect.stringMatching(/^prg_.*:D-2$/), amount: { amount: -1_000, currency: 'USD' } }]);
  });
});
