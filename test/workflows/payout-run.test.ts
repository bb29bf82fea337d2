import { provisionPartnerDirectly } from '../../local/demo.ts';
import { PutCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { setPayeeReference } from '../../functions/applications/store.ts';
import { config, type Tier } from '../../functions/core/config.ts';
import { ddb, tableName } from '../../functions/core/ddb.ts';
import { newId } from '../../functions/core/ids.ts';
import type { Money } from '../../functions/core/money.ts';
import { budgetKey, claimDueItem, claimDueKey, claimKey, getBudget, getClaim } from '../../functions/mdf/store.ts';
import { accrualLines, derivedId, netByCurrency, paymentStatusFor, type Line, type Program, type Sale } from '../../functions/incentives/model.ts';
import { balanceDueKey, confirmChunk, confirmationChunks, createProgram, createRun, getPayment, getRun, getSale, partnerPartition, putSales, runPayments, transitionRun, type PaymentRecord } from '../../functions/incentives/store.ts';
import { handler as incentivesTasks } from '../../functions/incentives/tasks.ts';
import type { LocalSystem } from '../../local/runtime.ts';
import { parseCsv } from '../support/csv.ts';
import { claimBody, decide, fundRequestBody, quarterNow, seedDemo, uploadAll } from '../support/mdf.ts';
import { client, eventually, startTestSystem, tokenFor, type Client } from '../support/system.ts';
import { useFreshTable } from '../support/table.ts';

/**
 * The real workflows/payout-run.asl.json on the local system, one route a test. Every test has a
 * system (and table) of its own: a run takes every partner of the table, and claims, clawbacks and
 * carried balances join whichever run comes next, so routes sharing a table would see each other.
 *
 * Periods are counted back from the current month (C): runs may not be for a future month.
 */
const FINANCE = 'finance@example.com';
const CM = 'channel.manager@example.com';
const usd = (amount: number): Money => ({ amount, currency: 'USD' });
const eur = (amount: number): Money => ({ amount, currency: 'EUR' });

/** YYYY-MM, `offset` months from the current one. */
function month(offset: number): string {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1)).toISOString().slice(0, 7);
}
const C = month(0);

let system: LocalSystem | undefined;
let api: Client;
let finance: string;
let admin: string;
const transitions: { route: string; partners: number; pages: number; transitions: number; states: string }[] = [];

async function boot(cfg: Record<string, unknown> = {}) {
  system = await startTestSystem({ config: cfg as never });
  api = client(system);
  finance = await tokenFor(system, ['finance'], FINANCE);
  admin = await tokenFor(system, ['admin'], 'admin@example.com');
  return system;
}

afterEach(async () => {
  await system?.stop();
  system = undefined;
});
afterAll(() => {
  const lines = transitions.map((t) => `  ${t.route.padEnd(34)} partners ${String(t.partners).padStart(4)}  pages ${String(t.pages).padStart(2)}  transitions ${String(t.transitions).padStart(3)}  ${t.states}`);
  console.log(`payout-run state transitions per route:\n${lines.join('\n')}`);
});

// ---------- fixtures ----------

/** An ACTIVE partner through the same store code the application workflow uses (with the gsi1 PARTNERS entry). */
async function newPartner(opts: { tier?: Tier; payee?: string; legalName?: string } = {}): Promise<string> {
  const { partnerId } = await provisionPartnerDirectly({ slug: `pay-${ulid().toLowerCase()}`, tier: opts.tier ?? 'gold', ...(opts.legalName ? { legalName: opts.legalName } : {}), actor: 'test' });
  if (opts.payee) await setPayeeReference(partnerId, opts.payee, 'test');
  return partnerId;
}

async function manyPartners(n: number, opts: (i: number) => { tier?: Tier; payee?: string } = () => ({ payee: 'IBAN X' })): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 25) {
    ids.push(...(await Promise.all(Array.from({ length: Math.min(25, n - i) }, (_, j) => newPartner(opts(i + j))))));
  }
  return ids;
}

async function program(body: Record<string, unknown>): Promise<Program> {
  const res = await api.post('/programs', body, { token: admin });
  expect(res.status).toBe(201);
  return { programId: res.body.programId, ...body } as Program;
}

const sale = (dealId: string, closedOn: string, revenue: Money, sku = 'HW-9', quantity = 1): Sale => ({ dealId, closedOn, sku, quantity, revenue });

async function postSales(partnerId: string, sales: Sale[]) {
  const res = await api.post(`/partners/${partnerId}/sales`, { sales }, { token: admin });
  expect(res.status).toBe(202);
  expect(res.body.accepted).toBe(sales.length);
}

/**
 * An MDF claim approved at `approvedAt`, written as the claims workflow leaves it (settleClaim: the
 * claim and its DUE#MDF# entry; no money behind it in a budget unless `quarter` names one).
 */
async function putApprovedClaim(partnerId: string, amount: number, approvedAt: string, quarter = `${approvedAt.slice(0, 4)}-Q1`): Promise<string> {
  const claimId = newId('claim');
  const claim = {
    ...claimKey(partnerId, claimId),
    type: 'claim',
    claimId,
    partnerId,
    fundRequestId: newId('fundRequest'),
    period: quarter,
    invoiceNumber: `INV-${claimId.slice(-6)}`,
    amount: usd(amount),
    approvedAmount: usd(amount),
    activityCompletedOn: approvedAt.slice(0, 10),
    files: [],
    status: 'APPROVED',
    approvedAt,
    createdAt: approvedAt,
    updatedAt: approvedAt,
  };
  await ddb().send(
    new TransactWriteCommand({
      TransactItems: [{ Put: { TableName: tableName(), Item: claim } }, { Put: { TableName: tableName(), Item: claimDueItem(claim, usd(amount), approvedAt) } }],
    }),
  );
  return claimId;
}

/** Moves a claim's approval back in time: the claim's approvedAt and its DUE#MDF# entry (keyed by it). */
async function backdateApproval(partnerId: string, claimId: string, approvedAt: string) {
  const claim = (await getClaim(partnerId, claimId)) as unknown as { approvedAt: string; approvedAmount: Money; invoiceNumber: string; period: string };
  await ddb().send(
    new TransactWriteCommand({
      TransactItems: [
        { Update: { TableName: tableName(), Key: claimKey(partnerId, claimId), UpdateExpression: 'SET approvedAt = :at', ExpressionAttributeValues: { ':at': approvedAt } } },
        { Delete: { TableName: tableName(), Key: claimDueKey(partnerId, claim.approvedAt, claimId), ConditionExpression: 'attribute_exists(pk)' } },
        { Put: { TableName: tableName(), Item: claimDueItem({ partnerId, claimId, invoiceNumber: claim.invoiceNumber, period: claim.period }, claim.approvedAmount, approvedAt) } },
      ],
    }),
  );
}

/** The demo partner (gold: claims up to 50,000 are approved automatically) with approved MDF claims, through HTTP. */
async function demoWithClaims(amounts: number[]) {
  const sys = system!;
  const demo = await seedDemo(sys);
  const partner = demo.tokens.partner;
  const frq = await api.post(`/partners/${demo.partnerId}/fund-requests`, fundRequestBody(200_000), { token: partner });
  expect(frq.status).toBe(202);
  await decide(sys, api, CM, frq.body.fundRequestId, { decision: 'approve' });
  await eventually(async () => (await api.get(`/partners/${demo.partnerId}/fund-requests/${frq.body.fundRequestId}`, partner)).body.status === 'APPROVED');
  const claimIds: string[] = [];
  for (const [i, amount] of amounts.entries()) {
    const claim = await api.post(`/partners/${demo.partnerId}/claims`, claimBody(frq.body.fundRequestId, amount, `PAY-${i}`, `proof ${i}`), { token: partner });
    expect(claim.status).toBe(202);
    await uploadAll(claim.body.uploads, `proof ${i}`);
    claimIds.push(claim.body.claimId);
  }
  for (const id of claimIds) await eventually(async () => (await api.get(`/partners/${demo.partnerId}/claims/${id}`, partner)).body.status === 'APPROVED');
  return { ...demo, claimIds };
}

const payoutRunIdOf = async (partnerId: string, claimId: string) => ((await getClaim(partnerId, claimId)) as unknown as { payoutRunId?: string } | undefined)?.payoutRunId;

// ---------- runs ----------

async function runStatus(runId: string) {
  return (await api.get(`/payout-runs/${runId}`, finance)).body;
}

async function startRun(period: string, timeoutMs = 30_000) {
  const res = await api.post('/payout-runs', { period }, { token: finance });
  expect(res.status).toBe(202);
  expect(res.body.status).toBe('CALCULATING');
  const runId = res.body.runId as string;
  const run = await eventually(async () => {
    const r = await runStatus(runId);
    return r.status === 'AWAITING_APPROVAL' ? r : undefined;
  }, timeoutMs);
  return { runId, run };
}

async function approve(runId: string) {
  await decide(system!, api, FINANCE, runId, { decision: 'approve' });
  return eventually(async () => {
    const r = await runStatus(runId);
    return r.status === 'APPROVED' ? r : undefined;
  });
}

const executionOf = (runId: string) => system!.engine.list().find((e) => e.name === runId)!;

async function recordTransitions(route: string, runId: string, partners: number) {
  const arn = executionOf(runId).executionArn;
  await system!.engine.waitFor(arn);
  const done = system!.engine.describe(arn)!;
  const entered = done.events.filter((e) => e.type === 'StateEntered').map((e) => e.state?.name);
  const distinct = [...new Set(entered)];
  transitions.push({ route, partners, pages: Math.ceil(partners / 100), transitions: done.stateTransitions, states: distinct.map((s) => `${s}×${entered.filter((x) => x === s).length}`).join(' ') });
  return done;
}

async function csv(runId: string, kind: 'export' | 'lines', token = finance) {
  const res = await api.get(`/payout-runs/${runId}/${kind}.csv`, token);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/csv');
  const [header, ...rows] = parseCsv(res.text);
  return { text: res.text, header: header!, rows };
}

/** Σ amount_minor per currency of a CSV (column 8 in both files), and the count of rows per currency. */
function sums(rows: string[][], currencyCol: number, minorCol: number) {
  const out = new Map<string, { amount: number; rows: number }>();
  for (const r of rows) {
    const e = out.get(r[currencyCol]!) ?? { amount: 0, rows: 0 };
    e.amount += Number(r[minorCol]);
    e.rows++;
    out.set(r[currencyCol]!, e);
  }
  return out;
}

function expectCsvsMatchTotals(totals: { currency: string; amount: number; payments: number }[], exportRows: string[][], lineRows: string[][]) {
  const byExport = sums(exportRows, 6, 8);
  const byLines = sums(lineRows, 6, 8);
  expect([...byExport.keys()].sort()).toEqual(totals.map((t) => t.currency).sort());
  expect([...byLines.keys()].sort()).toEqual(totals.map((t) => t.currency).sort());
  for (const t of totals) {
    expect(byExport.get(t.currency)).toEqual({ amount: t.amount, rows: t.payments });
    expect(byLines.get(t.currency)!.amount).toBe(t.amount);
  }
  // line_count of every payment = its rows in lines.csv; every line belongs to an exported payment.
  const linesPerPayment = new Map<string, number>();
  for (const l of lineRows) linesPerPayment.set(l[1]!, (linesPerPayment.get(l[1]!) ?? 0) + 1);
  expect(new Map(exportRows.map((r) => [r[0]!, Number(r[9])]))).toEqual(linesPerPayment);
}

// ---------- the routes ----------

describe('payout-run workflow (real ASL, local engine)', () => {
  it('approve route: exports open only once approved, to finance and admin; totals = Σ lines.csv amount_minor per currency', async () => {
    await boot();
    const P = month(-1);
    const [start, end] = [`${P}-01`, '2099-12-31'];
    const programs = [
      await program({ name: 'Core rebate', kind: 'rebate', currency: 'USD', startDate: start, endDate: end, rebate: { rateBps: 250 } }),
      await program({ name: 'EU SPIFF', kind: 'spiff', currency: 'EUR', startDate: start, endDate: end, spiff: { sku: 'SW-1', amountPerUnit: eur(1_500) } }),
      await program({ name: 'Gold volume', kind: 'volume_tier', currency: 'USD', startDate: start, endDate: end, eligibleTiers: ['gold', 'platinum'], volumeTiers: [{ fromRevenue: usd(100_000), rateBps: 100 }, { fromRevenue: usd(1_000_000), rateBps: 300 }] }),
    ];
    const gold = await newPartner({ tier: 'gold', payee: 'DE00 1111', legalName: 'Gold Reseller Inc' });
    const silver = await newPartner({ tier: 'silver', payee: '@payee', legalName: '=HYPERLINK("http://evil.example","Click")' });
    const sales: Record<string, Sale[]> = {
      [gold]: [sale('G-1', `${P}-03`, usd(700_001)), sale('G-2', `${P}-28`, usd(300_000)), sale('G-3', `${P}-10`, eur(50_000), 'SW-1', 3), sale('G-4', `${C}-01`, usd(999_999))],
      [silver]: [sale('S-1', `${P}-15`, usd(100_050)), sale('S-2', `${P}-16`, eur(20_000), 'SW-1', 2), sale('S-3', `${P}-16`, eur(20_000), 'HW-9', 5)],
    };
    for (const [pid, s] of Object.entries(sales)) await postSales(pid, s);

    const { runId, run } = await startRun(P);
    // One run per period; the exports stay shut while it awaits approval.
    expect((await api.post('/payout-runs', { period: P }, { token: finance })).status).toBe(409);
    expect((await api.get(`/payout-runs/${runId}/export.csv`, finance)).status).toBe(409);
    expect((await api.get(`/payout-runs/${runId}/lines.csv`, finance)).status).toBe(409);

    // Expected from the pure rules: sales of P only (G-4 is in C).
    const expected = new Map<string, number>();
    for (const [pid, s] of Object.entries(sales)) {
      const tier = pid === gold ? 'gold' : 'silver';
      for (const [currency, { net }] of netByCurrency(accrualLines(programs, tier, pid, P, s.filter((x) => x.closedOn.startsWith(P))))) expected.set(currency, (expected.get(currency) ?? 0) + net.amount);
    }
    // Gold: 2.5% of 700,001 (17,500.025 → 17,500) + of 300,000 (7,500) + volume 300 bps of 1,000,001 (30,000.03 → 30,000); SPIFF 3 × 1,500 EUR.
    // Silver: 2.5% of 100,050 (2,501.25 → 2,501), not gold so no volume; SPIFF 2 × 1,500 EUR (S-3 is another SKU).
    expect(Object.fromEntries(expected)).toEqual({ USD: 17_500 + 7_500 + 30_000 + 2_501, EUR: 4_500 + 3_000 });
    expect(run.totals).toEqual([
      { currency: 'EUR', amount: 7_500, payments: 2 },
      { currency: 'USD', amount: 57_501, payments: 2 },
    ]);
    expect(run.held).toEqual([]);

    const approved = await approve(runId);
    expect(approved.totals).toEqual(run.totals);
    await recordTransitions('approve', runId, 2);
    expect(executionOf(runId).status).toBe('SUCCEEDED');

    // Who may pull: finance and admin; not a partner, not a channel manager.
    const partnerToken = await tokenFor(system!, ['partner'], 'owner@partner.example', gold);
    const cmToken = await tokenFor(system!, ['channel_manager'], CM);
    for (const kind of ['export', 'lines']) {
      expect((await api.get(`/payout-runs/${runId}/${kind}.csv`, partnerToken)).status).toBe(403);
      expect((await api.get(`/payout-runs/${runId}/${kind}.csv`, cmToken)).status).toBe(403);
    }
    expect((await api.get(`/payout-runs/${runId}`, partnerToken)).status).toBe(403);

    const exp = await csv(runId, 'export');
    const lines = await csv(runId, 'lines', admin);
    expect(exp.header).toEqual(['payment_id', 'run_id', 'period', 'partner_id', 'partner_legal_name', 'payee_reference', 'currency', 'amount', 'amount_minor', 'line_count']);
    expect(lines.header).toEqual(['line_id', 'payment_id', 'partner_id', 'source_type', 'source_id', 'description', 'currency', 'amount', 'amount_minor']);
    expectCsvsMatchTotals(approved.totals, exp.rows, lines.rows);
    expect(exp.rows.map((r) => [r[3], r[4], r[5], r[6], r[7], r[8]]).sort()).toEqual(
      [
        [gold, 'Gold Reseller Inc', 'DE00 1111', 'USD', '550.00', '55000'],
        [gold, 'Gold Reseller Inc', 'DE00 1111', 'EUR', '45.00', '4500'],
        [silver, `'=HYPERLINK("http://evil.example","Click")`, "'@payee", 'USD', '25.01', '2501'],
        [silver, `'=HYPERLINK("http://evil.example","Click")`, "'@payee", 'EUR', '30.00', '3000'],
      ].sort(),
    );
    expect(exp.rows.every((r) => r[0] === derivedId('pay', runId, r[3]!, r[6]!) && r[1] === runId && r[2] === P)).toBe(true);
    expect(lines.rows.map((l) => l[3]).sort()).toEqual(['rebate', 'rebate', 'rebate', 'spiff', 'spiff', 'volume_tier']);
    expect(lines.rows.some((l) => l[4]!.endsWith(':G-4'))).toBe(false);
    // Same run → byte-identical files.
    expect((await csv(runId, 'export')).text).toBe(exp.text);
    expect((await csv(runId, 'lines')).text).toBe(lines.text);
  });

  it('reject route: REJECTED frees the claims; a new run for the same period takes them again and pays them once', async () => {
    await boot({ claims: { ...config().claims, uploadPollSeconds: 1 } });
    const demo = await demoWithClaims([30_000]);
    const [claimId] = demo.claimIds as [string];
    expect((await api.put(`/partners/${demo.partnerId}/payee`, { payeeReference: 'DE00 2222' }, { token: demo.tokens.partner })).status).toBe(200);
    const other = await newPartner({ payee: 'DE00 2223' });
    const otherClaim = await putApprovedClaim(other, 7_000, new Date().toISOString());
    const claims: [string, string][] = [[demo.partnerId, claimId], [other, otherClaim]];

    const first = await startRun(C);
    expect(first.run.totals).toEqual([{ currency: 'USD', amount: 37_000, payments: 2 }]);
    for (const [pid, id] of claims) expect(await payoutRunIdOf(pid, id)).toBe(first.runId);
    await decide(system!, api, FINANCE, first.runId, { decision: 'reject', comment: 'Not this week' });
    await eventually(async () => (await runStatus(first.runId)).status === 'REJECTED');
    await recordTransitions('reject', first.runId, 2);
    for (const [pid, id] of claims) expect(await payoutRunIdOf(pid, id)).toBeUndefined();
    expect((await api.get(`/payout-runs/${first.runId}/export.csv`, finance)).status).toBe(409);
    expect((await api.get(`/payout-runs/${first.runId}/lines.csv`, finance)).status).toBe(409);

    const second = await startRun(C);
    expect(second.runId).not.toBe(first.runId);
    expect(second.run.totals).toEqual([{ currency: 'USD', amount: 37_000, payments: 2 }]);
    for (const [pid, id] of claims) expect(await payoutRunIdOf(pid, id)).toBe(second.runId);
    expect((await api.post('/payout-runs', { period: C }, { token: finance })).status).toBe(409);
    await approve(second.runId);
    const lines = await csv(second.runId, 'lines');
    expect(lines.rows.filter((l) => l[3] === 'mdf_claim').map((l) => l[4]).sort()).toEqual([claimId, otherClaim].sort());
    const exp = await csv(second.runId, 'export');
    expectCsvsMatchTotals(second.run.totals, exp.rows, lines.rows);

    const paymentId = derivedId('pay', second.runId, demo.partnerId, 'USD');
    const confirm = await api.post(`/payout-runs/${second.runId}/payments`, { payments: [{ paymentId, paidOn: `${C}-02`, bankReference: 'B-1' }] }, { token: finance });
    expect(confirm.body).toMatchObject({ confirmed: [paymentId], status: 'APPROVED' });
    const again = await api.post(`/payout-runs/${second.runId}/payments`, { payments: [{ paymentId, paidOn: `${C}-02`, bankReference: 'B-1' }] }, { token: finance });
    expect(again.body).toMatchObject({ confirmed: [], alreadyPaid: [paymentId] });
    const claim = (await getClaim(demo.partnerId, claimId))!;
    expect(claim.status).toBe('PAID');
    expect(claim.paymentId).toBe(paymentId);
    expect(await getBudget(demo.partnerId, claim.period)).toMatchObject({ approved: 30_000, paid: 30_000, unpaid: 0 });
  });

  it('a payment carrying two MDF claims of the same budget can be confirmed', async () => {
    await boot({ claims: { ...config().claims, uploadPollSeconds: 1 } });
    const demo = await demoWithClaims([30_000, 20_000]);
    await api.put(`/partners/${demo.partnerId}/payee`, { payeeReference: 'DE00 2224' }, { token: demo.tokens.partner });
    const { runId, run } = await startRun(C);
    expect(run.totals).toEqual([{ currency: 'USD', amount: 50_000, payments: 1 }]);
    await approve(runId);
    const paymentId = derivedId('pay', runId, demo.partnerId, 'USD');
    const confirm = await api.post(`/payout-runs/${runId}/payments`, { payments: [{ paymentId, paidOn: `${C}-02`, bankReference: 'B-2' }] }, { token: finance });
    expect(confirm.status).toBe(200);
    expect(confirm.body).toMatchObject({ confirmed: [paymentId], status: 'PAID' });
    for (const id of demo.claimIds) expect((await getClaim(demo.partnerId, id))?.status).toBe('PAID');
    expect(await getBudget(demo.partnerId, quarterNow())).toMatchObject({ approved: 50_000, paid: 50_000, unpaid: 0 });
  });

  it('timeout route: no decision before the deadline → REJECTED, every source freed for a later run', async () => {
    await boot({ approvalTimeoutSeconds: 12 });
    const pid = await newPartner({ payee: 'DE00 3333' });
    const claimId = await putApprovedClaim(pid, 12_345, new Date().toISOString());
    const first = await startRun(C);
    expect(first.run.totals).toEqual([{ currency: 'USD', amount: 12_345, payments: 1 }]);
    expect(await payoutRunIdOf(pid, claimId)).toBe(first.runId);
    await eventually(async () => (await runStatus(first.runId)).status === 'REJECTED', 30_000);
    const done = await recordTransitions('timeout', first.runId, 1);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.events.some((e) => e.type === 'StateEntered' && e.state?.name === 'TimedOut')).toBe(true);
    expect(await payoutRunIdOf(pid, claimId)).toBeUndefined();

    const second = await startRun(C);
    expect(second.run.totals).toEqual([{ currency: 'USD', amount: 12_345, payments: 1 }]);
    expect(await payoutRunIdOf(pid, claimId)).toBe(second.runId);
  }, 90_000);

  it('held partner: without a payee reference it is listed in `held`, not in the totals, not in export.csv', async () => {
    await boot();
    const P = month(-1);
    const rebate = await program({ name: 'Rebate', kind: 'rebate', currency: 'USD', startDate: `${P}-01`, endDate: '2099-12-31', rebate: { rateBps: 1_000 } });
    const held = await newPartner({ legalName: 'No Payee Ltd' });
    const paid = await newPartner({ payee: 'DE00 4444' });
    await postSales(held, [sale('H-1', `${P}-05`, usd(123_456))]);
    await postSales(paid, [sale('P-1', `${P}-05`, usd(200_000))]);

    const { runId, run } = await startRun(P);
    const heldAmount = accrualLines([rebate], 'gold', held, P, [sale('H-1', `${P}-05`, usd(123_456))])[0]!.amount.amount;
    expect(heldAmount).toBe(12_346); // 12,345.6 → 12,346
    expect(run.totals).toEqual([{ currency: 'USD', amount: 20_000, payments: 1 }]);
    expect(run.held).toEqual([{ partnerId: held, currency: 'USD', amount: 12_346, reason: 'no payee reference' }]);
    const approved = await approve(runId);
    expect(approved.held).toEqual(run.held);
    await recordTransitions('held partner', runId, 2);

    const exp = await csv(runId, 'export');
    const lines = await csv(runId, 'lines');
    expect(exp.rows.map((r) => r[3])).toEqual([paid]);
    expect(lines.rows.some((l) => l[2] === held)).toBe(false);
    expectCsvsMatchTotals(approved.totals, exp.rows, lines.rows);
    // A held payment cannot be confirmed as paid.
    const heldPayment = derivedId('pay', runId, held, 'USD');
    const confirm = await api.post(`/payout-runs/${runId}/payments`, { payments: [{ paymentId: heldPayment, paidOn: `${C}-01`, bankReference: 'X' }] }, { token: finance });
    expect(confirm.body).toMatchObject({ confirmed: [], notPayable: [{ paymentId: heldPayment, status: 'HELD' }] });
  });

  it('a partner whose calculation fails is HELD with calculation_error, its sources freed; everyone else is paid and finance is told', async () => {
    await boot();
    const P = month(-1);
    await program({ name: 'Volume', kind: 'volume_tier', currency: 'USD', startDate: `${P}-01`, endDate: '2099-12-31', volumeTiers: [{ fromRevenue: usd(0), rateBps: 100 }] });
    const broken = await newPartner({ payee: 'DE00 1111', legalName: 'Broken Data Ltd' });
    const fine = await newPartner({ payee: 'DE00 2222' });
    await postSales(fine, [sale('F-1', `${P}-05`, usd(100_000))]);
    // The fault: two sales written past the API's bounds (as data from before the bounds, or a bad
    // import, would be); their revenue sums beyond the safe integer range in the volume tier.
    await putSales(broken, [sale('B-1', `${P}-05`, usd(2 ** 52)), sale('B-2', `${P}-06`, usd(2 ** 52))], new Date(Date.now() - 60_000).toISOString());
    const claimId = await putApprovedClaim(broken, 5_000, `${P}-10T10:00:00.000Z`);

    const { runId, run } = await startRun(P);
    expect(run.status).toBe('AWAITING_APPROVAL');
    expect(run.totals).toEqual([{ currency: 'USD', amount: 1_000, payments: 1 }]);
    expect(run.held).toEqual([{ partnerId: broken, currency: 'XXX', amount: 0, reason: 'calculation_error', detail: expect.stringContaining('MoneyError') }]);
    // What the run had taken from the broken partner is free again (the next run tries it again).
    expect(await payoutRunIdOf(broken, claimId)).toBeUndefined();
    const email = await eventually(async () => system!.outbox.all().find((m) => m.to.includes(FINANCE) && m.subject.includes('calculation error')));
    expect(email.text).toContain(broken);
    const approved = await approve(runId);
    const exp = await csv(runId, 'export');
    expect(exp.rows.map((r) => r[3])).toEqual([fine]);
    expect(approved.held).toEqual(run.held);
  });

  it('carry-forward: a clawback larger than the new earnings → no payment; the next month’s run nets the carried balance', async () => {
    await boot();
    const [M1, M2, M3] = [month(-3), month(-2), month(-1)];
    await program({ name: 'Rebate', kind: 'rebate', currency: 'USD', startDate: `${M1}-01`, endDate: '2099-12-31', rebate: { rateBps: 1_000 } });
    const pid = await newPartner({ payee: 'DE00 5555' });
    await postSales(pid, [sale('D-BIG', `${M1}-10`, usd(1_000_000)), sale('D-SMALL', `${M2}-10`, usd(200_000)), sale('D-3', `${M3}-10`, usd(1_000_000))]);

    const r1 = await startRun(M1);
    expect(r1.run.totals).toEqual([{ currency: 'USD', amount: 100_000, payments: 1 }]);
    await approve(r1.runId);
    const reversed = await api.raw(`/partners/${pid}/sales/D-BIG`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } });
    expect(reversed.status).toBe(200);
    expect(reversed.body.clawback).toEqual([{ sourceId: expect.stringMatching(/:D-BIG$/), amount: usd(-100_000) }]);

    // M2: +20,000 rebate − 100,000 clawback = −80,000 → nothing paid, nothing held, the balance carried.
    const r2 = await startRun(M2);
    expect(r2.run.totals).toEqual([]);
    expect(r2.run.held).toEqual([]);
    const [carried] = await collect(runPayments(r2.runId));
    expect(carried).toMatchObject({ partnerId: pid, status: 'CARRIED_FORWARD', amount: -80_000 });
    expect(carried!.lines.map((l) => [l.sourceType, l.amount.amount]).sort()).toEqual([['clawback', -100_000], ['rebate', 20_000]]);
    await approve(r2.runId);
    await recordTransitions('carry-forward (net negative)', r2.runId, 1);
    expect((await csv(r2.runId, 'export')).rows).toEqual([]);
    expect((await csv(r2.runId, 'lines')).rows).toEqual([]);

    // M3: +100,000 − 80,000 carried = 20,000.
    const r3 = await startRun(M3);
    expect(r3.run.totals).toEqual([{ currency: 'USD', amount: 20_000, payments: 1 }]);
    await approve(r3.runId);
    const exp = await csv(r3.runId, 'export');
    const lines = await csv(r3.runId, 'lines');
    expect(exp.rows.map((r) => [r[3], r[8], r[9]])).toEqual([[pid, '20000', '2']]);
    expect(lines.rows.map((l) => Number(l[8])).sort((a, b) => a - b)).toEqual([-80_000, 100_000]);
    expect(lines.rows.find((l) => l[8] === '-80000')![4]).toContain(r2.runId);
    expectCsvsMatchTotals(r3.run.totals, exp.rows, lines.rows);
    // The carried balance is used once: it now belongs to r3.
    const carry = (await partnerPartition(pid)).filter((i) => String(i.sk).startsWith('CARRY#'));
    expect(carry.map((c) => [c.fromRunId, c.payoutRunId])).toEqual([[r2.runId, r3.runId]]);
  });

  it('nothing paid twice across two consecutive runs: claims paid (or owed) by month M’s run are not in month M+1’s run', async () => {
    await boot({ claims: { ...config().claims, uploadPollSeconds: 1 } });
    const [M, M1] = [month(-1), C];
    await program({ name: 'Rebate', kind: 'rebate', currency: 'USD', startDate: `${M}-01`, endDate: '2099-12-31', rebate: { rateBps: 500 } });
    const demo = await demoWithClaims([10_000, 5_000]);
    const [paidClaim, newClaim] = demo.claimIds as [string, string];
    // The first was approved last month (M); the second this month (M+1).
    await backdateApproval(demo.partnerId, paidClaim, `${M}-20T10:00:00.000Z`);
    await api.put(`/partners/${demo.partnerId}/payee`, { payeeReference: 'DE00 6666' }, { token: demo.tokens.partner });
    // Another partner's claim, approved in M, whose payment is still owed (not confirmed) when M+1 runs.
    const other = await newPartner({ payee: 'DE00 7777' });
    const owedClaim = await putApprovedClaim(other, 7_000, `${M}-11T09:00:00.000Z`);
    await postSales(demo.partnerId, [sale('M-1', `${M}-05`, usd(100_000)), sale('M1-1', `${M1}-01`, usd(40_000))]);

    const rM = await startRun(M);
    // M: demo = 10,000 + 5% of 100,000; other = 7,000.
    expect(rM.run.totals).toEqual([{ currency: 'USD', amount: 15_000 + 7_000, payments: 2 }]);
    await approve(rM.runId);
    const linesM = await csv(rM.runId, 'lines');
    expect(linesM.rows.filter((l) => l[3] === 'mdf_claim').map((l) => l[4]).sort()).toEqual([paidClaim, owedClaim].sort());
    const demoPayment = derivedId('pay', rM.runId, demo.partnerId, 'USD');
    const confirm = await api.post(`/payout-runs/${rM.runId}/payments`, { payments: [{ paymentId: demoPayment, paidOn: `${M1}-01`, bankReference: 'B-M' }] }, { token: finance });
    expect(confirm.body.confirmed).toEqual([demoPayment]);
    expect((await getClaim(demo.partnerId, paidClaim))?.status).toBe('PAID');

    const rM1 = await startRun(M1);
    // M+1: only the claim approved in M+1 and the sale closed in M+1 (5% of 40,000).
    expect(rM1.run.totals).toEqual([{ currency: 'USD', amount: 5_000 + 2_000, payments: 1 }]);
    await approve(rM1.runId);
    const linesM1 = await csv(rM1.runId, 'lines');
    expect(linesM1.rows.map((l) => `${l[3]} ${l[4]}`).sort()).toEqual([`mdf_claim ${newClaim}`, `rebate ${linesM1.rows.find((l) => l[3] === 'rebate')![4]}`].sort());
    expect(linesM1.rows.find((l) => l[3] === 'rebate')![4]).toMatch(/:M1-1$/);
    const inM = new Set(linesM.rows.map((l) => `${l[2]} ${l[3]} ${l[4]}`));
    expect(linesM1.rows.filter((l) => inM.has(`${l[2]} ${l[3]} ${l[4]}`))).toEqual([]);
    expect(await payoutRunIdOf(other, owedClaim)).toBe(rM.runId);
  });

  it('line ids are unique within a run (two partners may use the same dealId)', async () => {
    await boot();
    const P = month(-1);
    await program({ name: 'Rebate', kind: 'rebate', currency: 'USD', startDate: `${P}-01`, endDate: '2099-12-31', rebate: { rateBps: 1_000 } });
    const a = await newPartner({ payee: 'A' });
    const b = await newPartner({ payee: 'B' });
    // Deal ids are the partner's own (unique per partner, docs/api.md): two partners may both have "D-1".
    await postSales(a, [sale('D-1', `${P}-05`, usd(10_000))]);
    await postSales(b, [sale('D-1', `${P}-06`, usd(20_000))]);
    const { runId } = await startRun(P);
    await approve(runId);
    const lines = await csv(runId, 'lines');
    expect(lines.rows).toHaveLength(2);
    const ids = lines.rows.map((l) => l[0]);
    expect(new Set(ids).size).toBe(ids.length);
  });
  it('held amounts are not lost: once the partner has a payee, a later run pays what was held', async () => {
    await boot();
    const M = month(-1);
    await program({ name: 'Rebate', kind: 'rebate', currency: 'USD', startDate: `${M}-01`, endDate: '2099-12-31', rebate: { rateBps: 1_000 } });
    const pid = await newPartner({});
    const claimId = await putApprovedClaim(pid, 8_000, `${M}-12T08:00:00.000Z`);
    await postSales(pid, [sale('H-1', `${M}-05`, usd(50_000))]);
    const rM = await startRun(M);
    expect(rM.run.held).toEqual([{ partnerId: pid, currency: 'USD', amount: 13_000, reason: 'no payee reference' }]);
    // Finance approves the month (the other partners must be paid); this partner adds its payee afterwards.
    await approve(rM.runId);
    await setPayeeReference(pid, 'DE00 8888', 'test');
    const rC = await startRun(C);
    // The 13,000 held in M (an approved MDF claim and a rebate) is owed: it must reach a later run.
    expect(rC.run.totals).toEqual([{ currency: 'USD', amount: 13_000, payments: 1 }]);
    expect(await payoutRunIdOf(pid, claimId)).toBe(rC.runId);
  });

  it('130 approved claims of one partner (more than one transaction can mark PAID), runs of two periods started together: each claim is paid once, each payment = Σ its lines, confirmation in chunks survives a retry and a duplicate', async () => {
    await boot();
    const [M2, M1] = [month(-2), month(-1)];
    const N = 130;
    const pid = await newPartner({ payee: 'DE00 1300' });
    // Two budget quarters, so chunks carry more than one budget update.
    const quarters = [`${M2.slice(0, 4)}-Q1`, `${M2.slice(0, 4)}-Q2`];
    for (const quarter of quarters) {
      await ddb().send(
        new PutCommand({
          TableName: tableName(),
          Item: { ...budgetKey(pid, quarter), type: 'budget', partnerId: pid, period: quarter, currency: 'USD', allocated: 1_000_000, reserved: 0, approved: (N / 2) * 1_000, paid: 0, unpaid: (N / 2) * 1_000, available: 0, version: 1 },
        }),
      );
    }
    const claimIds: string[] = [];
    for (let i = 0; i < N; i += 10) {
      claimIds.push(...(await Promise.all(Array.from({ length: 10 }, (_, j) => putApprovedClaim(pid, 1_000, new Date(Date.parse(`${M2}-05T00:00:00Z`) + (i + j) * 1000).toISOString(), quarters[(i + j) % 2])))));
    }
    expect(confirmationChunks({ lines: claimIds.map((id, i) => ({ lineId: id, sourceType: 'mdf_claim', sourceId: id, description: '', amount: usd(1_000), budgetPeriod: quarters[i % 2] })) }).length).toBeGreaterThan(2);

    // Both runs may take these claims (approved before either period ended); their pages race.
    const [r2, r1] = await Promise.all([startRun(M2, 60_000), startRun(M1, 60_000)]);
    const payments = (await Promise.all([r2.runId, r1.runId].map((runId) => collect(runPayments(runId))))).flat();
    const paidClaims = payments.flatMap((p) => p.lines.filter((l) => l.sourceType === 'mdf_claim').map((l) => l.sourceId));
    expect(paidClaims.sort()).toEqual([...claimIds].sort());
    for (const p of payments) expect(p.amount).toBe(p.lines.reduce((sum, l) => sum + l.amount.amount, 0));
    expect(r2.run.totals.concat(r1.run.totals).reduce((sum: number, t: { amount: number }) => sum + t.amount, 0)).toBe(N * 1_000);
    for (const p of payments) for (const l of p.lines) expect(await payoutRunIdOf(pid, l.sourceId)).toBe(p.runId);
    await Promise.all([approve(r2.runId), approve(r1.runId)]);

    // The bigger payment: one chunk committed by itself first (a confirmation that stopped there), then
    // two confirmations at once complete it; the other payment is confirmed normally.
    const [big, small] = [...payments].sort((a, b) => b.lines.length - a.lines.length) as [PaymentRecord, PaymentRecord?];
    const chunks = confirmationChunks(big);
    if (chunks.length > 1) {
      expect(await confirmChunk(big, 0, 'B-1300', FINANCE)).toBe(true);
      expect(await confirmChunk(big, 0, 'B-1300', FINANCE)).toBe(false);
      expect((await getPayment(big.runId, big.paymentId))!.status).toBe('PENDING');
    }
    const confirm = (p: PaymentRecord) => api.post(`/payout-runs/${p.runId}/payments`, { payments: [{ paymentId: p.paymentId, paidOn: `${C}-02`, bankReference: 'B-1300' }] }, { token: finance });
    const both = await Promise.all([confirm(big), confirm(big)]);
    for (const res of both) expect(res.status, res.text).toBe(200);
    expect(both.flatMap((r) => r.body.confirmed)).toEqual([big.paymentId]);
    expect(both.flatMap((r) => r.body.alreadyPaid)).toEqual([big.paymentId]);
    if (small) expect((await confirm(small)).body.confirmed).toEqual([small.paymentId]);
    // Once more: nothing moves twice.
    expect((await confirm(big)).body).toMatchObject({ confirmed: [], alreadyPaid: [big.paymentId] });

    for (const p of payments) {
      expect(await getPayment(p.runId, p.paymentId)).toMatchObject({ status: 'PAID', amount: p.amount });
      for (const l of p.lines) expect(await getClaim(pid, l.sourceId)).toMatchObject({ status: 'PAID', paymentId: p.paymentId });
    }
    for (const quarter of quarters) expect(await getBudget(pid, quarter)).toMatchObject({ paid: (N / 2) * 1_000, unpaid: 0 });
    for (const runId of [r2.runId, r1.runId]) expect((await runStatus(runId)).status).toBe('PAID');
    // Nothing is due any more: a later run pays no claim again.
    expect((await partnerPartition(pid)).filter((i) => String(i.sk).startsWith('DUE#'))).toEqual([]);
    const rC = await startRun(C);
    expect(rC.run.totals).toEqual([]);
  }, 180_000);

  it('a retried page over 130 claims (twice, and twice at once) writes the same one payment: every claim once, amount = Σ lines', async () => {
    await useFreshTable();
    const pid = (await manyPartners(1))[0]!;
    const N = 130;
    const at = Date.parse(`${month(-1)}-05T00:00:00Z`);
    const claimIds = await Promise.all(Array.from({ length: N }, (_, i) => putApprovedClaim(pid, 100 + i, new Date(at + i * 1000).toISOString())));
    await new Promise((r) => setTimeout(r, 5));
    const runId = newId('payoutRun');
    expect(await createRun({ runId, period: month(-1), status: 'CALCULATING', createdAt: new Date().toISOString(), createdBy: 'test' })).toBe('ok');
    const page = { index: 0, after: null };
    const processPage = () => incentivesTasks({ task: 'processPage', runId, page } as never);
    await processPage();
    const once = await collect(runPayments(runId));
    await processPage();
    const concurrent = await Promise.allSettled([processPage(), processPage()]);
    expect(concurrent.filter((r): r is PromiseRejectedResult => r.status === 'rejected').every((r) => (r.reason as Error).name === 'TransientError')).toBe(true);
    expect(await collect(runPayments(runId))).toEqual(once);
    expect(once).toHaveLength(1);
    expect(once[0]!.lines.map((l) => l.sourceId).sort()).toEqual([...claimIds].sort());
    expect(once[0]!.amount).toBe(claimIds.reduce((sum, _, i) => sum + 100 + i, 0));
  }, 120_000);

  it('a sale reversed while its run is still CALCULATING (before its page) is not clawed back later', async () => {
    const sys = await boot();
    const M = month(-1);
    await program({ name: 'Rebate', kind: 'rebate', currency: 'USD', startDate: `${M}-01`, endDate: '2099-12-31', rebate: { rateBps: 1_000 } });
    const pid = await newPartner({ payee: 'DE00 9999' });
    await postSales(pid, [sale('R-1', `${M}-05`, usd(100_000)), sale('R-2', `${M}-06`, usd(30_000)), sale('C-1', `${C}-01`, usd(40_000))]);
    // The run for M has started (CALCULATING) but has not reached this partner's page yet.
    const runId = newId('payoutRun');
    await new Promise((r) => setTimeout(r, 5));
    expect(await createRun({ runId, period: M, status: 'CALCULATING', createdAt: new Date().toISOString(), createdBy: 'test' })).toBe('ok');
    const reversed = await api.raw(`/partners/${pid}/sales/R-1`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } });
    expect(reversed.status).toBe(200);
    // The run's steps, as the workflow would run them.
    const { pages } = (await sys.invoke('incentivesTasks', { task: 'prepareRun', runId })) as { pages: unknown[] };
    for (const page of pages) await sys.invoke('incentivesTasks', { task: 'processPage', runId, page });
    await sys.invoke('incentivesTasks', { task: 'finalizeRun', runId });
    await sys.invoke('incentivesTasks', { task: 'decideRun', runId, decision: { decision: 'approve', decidedBy: FINANCE, comment: null } });
    const paidInM = await collect(runPayments(runId));
    // R-1 was reversed before the run looked at it: M paid only R-2 (3,000), nothing for R-1.
    expect(paidInM.map((p) => [p.amount, p.lines.map((l) => l.sourceId.split(':')[1])])).toEqual([[3_000, ['R-2']]]);
    // So nothing of R-1 may be clawed back: C pays its own sale, 4,000, in full.
    const rC = await startRun(C);
    expect(rC.run.totals).toEqual([{ currency: 'USD', amount: 4_000, payments: 1 }]);
  });
});

describe('late sales (posted after their period\'s run started)', () => {
  const REBATE_BPS = 250;
  const TIERS_USD = [{ fromRevenue: usd(100_000), rateBps: 100 }, { fromRevenue: usd(1_000_000), rateBps: 300 }];
  async function rebateAndVolume(from: string) {
    const rebate = await program({ name: 'Rebate', kind: 'rebate', currency: 'USD', startDate: `${from}-01`, endDate: '2099-12-31', rebate: { rateBps: REBATE_BPS } });
    const volume = await program({ name: 'Volume', kind: 'volume_tier', currency: 'USD', startDate: `${from}-01`, endDate: '2099-12-31', volumeTiers: TIERS_USD });
    return { rebate, volume };
  }
  async function postLate(partnerId: string, sales: Sale[]) {
    const res = await api.post(`/partners/${partnerId}/sales`, { sales }, { token: admin });
    expect(res.status).toBe(202);
    expect(res.body.lateDealIds).toEqual(sales.map((x) => x.dealId));
  }
  /** A gold partner whose P2 (two months ago) run paid sale A (900,000) and is APPROVED. */
  async function settledPeriod(payee: string) {
    await boot();
    const [P2, P1] = [month(-2), month(-1)];
    await rebateAndVolume(P2);
    const pid = await newPartner({ tier: 'gold', payee });
    await postSales(pid, [sale('A', `${P2}-03`, usd(900_000))]);
    await approve((await startRun(P2)).runId);
    return { P2, P1, pid };
  }
  const linesOf = async (runId: string, partnerId: string) => (await collect(runPayments(runId))).filter((p) => p.partnerId === partnerId).flatMap((p) => p.lines);
  const saleItem = async (partnerId: string, dealId: string) => (await getSale(partnerId, dealId))!;

  it('are left out of that run, and paid once by the next run that starts after it is settled: own rebate + the volume-tier difference', async () => {
    await boot();
    const [P2, P1] = [month(-2), month(-1)];
    const { rebate, volume } = await rebateAndVolume(P2);
    const pid = await newPartner({ tier: 'gold', payee: 'DE00 7001' });
    await postSales(pid, [sale('A', `${P2}-03`, usd(900_000)), sale('C1', `${P1}-04`, usd(100_000))]);

    const r2 = await startRun(P2);
    // 2.5% of 900,000 + 1% (first tier) of 900,000.
    expect(r2.run.totals).toEqual([{ currency: 'USD', amount: 22_500 + 9_000, payments: 1 }]);
    await postLate(pid, [sale('B', `${P2}-20`, usd(200_000))]);

    // P2's run is not settled yet: P1's run leaves B alone.
    const r1 = await startRun(P1);
    expect(r1.run.totals).toEqual([{ currency: 'USD', amount: 2_500 + 1_000, payments: 1 }]);
    expect((await saleItem(pid, 'B')).payoutRunId).toBeUndefined();
    await approve(r2.runId);
    await approve(r1.runId);

    // The current month's run takes B: 2.5% of 200,000, and the volume tier for P2 moves from
    // 1% of 900,000 (paid) to 3% of 1,100,000: +24,000.
    const rC = await startRun(C);
    expect(rC.run.totals).toEqual([{ currency: 'USD', amount: 5_000 + 24_000, payments: 1 }]);
    const lines = await linesOf(rC.runId, pid);
    expect(lines.map((l) => [l.sourceType, l.sourceId, l.amount.amount, l.lateDealIds]).sort()).toEqual(
      [
        ['rebate', `${rebate.programId}:B`, 5_000, ['B']],
        ['volume_tier', `${volume.programId}:${pid}:${P2}:late`, 24_000, ['B']],
      ].sort(),
    );
    expect((await saleItem(pid, 'B')).payoutRunId).toBe(rC.runId);
    // Sum over the three runs = the accrual of all of P2's and P1's sales, nothing twice.
    const all = [...accrualLines([rebate, volume], 'gold', pid, P2, [sale('A', `${P2}-03`, usd(900_000)), sale('B', `${P2}-20`, usd(200_000))]), ...accrualLines([rebate, volume], 'gold', pid, P1, [sale('C1', `${P1}-04`, usd(100_000))])];
    expect(31_500 + 3_500 + 29_000).toBe(all.reduce((t, l) => t + l.amount.amount, 0));
    const lateCsv = await (async () => (await approve(rC.runId), csv(rC.runId, 'lines')))();
    expect(lateCsv.rows.map((r) => Number(r[8])).sort((x, y) => x - y)).toEqual([5_000, 24_000]);
  });

  it('reversed before a run took it: nothing paid, nothing clawed back; reversed after: the clawback is what it added', async () => {
    const { P2, P1, pid } = await settledPeriod('DE00 7002');
    await postLate(pid, [sale('B', `${P2}-20`, usd(200_000)), sale('D', `${P2}-21`, usd(50_000))]);

    const early = await api.raw(`/partners/${pid}/sales/D`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } });
    expect(early.status).toBe(200);
    expect(early.body.clawback).toEqual([]);

    const r1 = await startRun(P1);
    // Only B: 5,000 rebate + volume 33,000 − 9,000.
    expect(r1.run.totals).toEqual([{ currency: 'USD', amount: 29_000, payments: 1 }]);
    expect((await linesOf(r1.runId, pid)).flatMap((l) => l.lateDealIds ?? [])).not.toContain('D');
    await approve(r1.runId);

    const late = await api.raw(`/partners/${pid}/sales/B`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } });
    expect(late.status).toBe(200);
    expect(late.body.clawback.map((c: { amount: Money }) => c.amount.amount).sort((x: number, y: number) => x - y)).toEqual([-24_000, -5_000]);
    const clawback = (await partnerPartition(pid)).find((i) => i.sk === 'CLAWBACK#B')!;
    expect(clawback.compensatesRunId).toBe(r1.runId);
  });

  it('a rejected run gives its late sales back; the next run pays them once', async () => {
    const { P2, P1, pid } = await settledPeriod('DE00 7003');
    await postLate(pid, [sale('B', `${P2}-20`, usd(200_000))]);

    const first = await startRun(P1);
    expect(first.run.totals).toEqual([{ currency: 'USD', amount: 29_000, payments: 1 }]);
    expect((await saleItem(pid, 'B')).payoutRunId).toBe(first.runId);
    await decide(system!, api, FINANCE, first.runId, { decision: 'reject', comment: 'Recheck' });
    await eventually(async () => (await runStatus(first.runId)).status === 'REJECTED');
    await eventually(async () => (await saleItem(pid, 'B')).payoutRunId === undefined);

    const second = await startRun(P1);
    expect(second.run.totals).toEqual([{ currency: 'USD', amount: 29_000, payments: 1 }]);
    expect((await saleItem(pid, 'B')).payoutRunId).toBe(second.runId);
  });

  it('runs of two periods started together take a late sale once: it is paid by exactly one of them', async () => {
    const { P2, P1, pid } = await settledPeriod('DE00 7005');
    await postLate(pid, [sale('B', `${P2}-20`, usd(200_000))]);

    // Both runs see P2 settled and B free; their pages race for B.
    const [r1, rC] = await Promise.all([startRun(P1), startRun(C)]);
    const lateLines = (await Promise.all([r1.runId, rC.runId].map((runId) => linesOf(runId, pid)))).map((lines) => lines.filter((l) => l.lateDealIds?.includes('B')));
    // Exactly one run carries B's lines: its own 2.5% rebate and the volume-tier difference (+24,000).
    expect(lateLines.filter((lines) => lines.length > 0)).toHaveLength(1);
    expect(lateLines.flat().map((l) => l.amount.amount).sort((x, y) => x - y)).toEqual([5_000, 24_000]);
    const owner = lateLines[0]!.length > 0 ? r1.runId : rC.runId;
    expect((await saleItem(pid, 'B')).payoutRunId).toBe(owner);
    await Promise.all([approve(r1.runId), approve(rC.runId)]);
    // Neither period has sales of its own: the two runs' line files together pay B once.
    const paid = (await Promise.all([csv(r1.runId, 'lines'), csv(rC.runId, 'lines')])).flatMap((c) => c.rows);
    expect(paid.map((r) => Number(r[8])).sort((x, y) => x - y)).toEqual([5_000, 24_000]);
  });

  it('with a settle time, a sale posted just before the run started is late, not lost', async () => {
    const SETTLE_SECONDS = 3;
    await boot({ salesSettleSeconds: SETTLE_SECONDS });
    const P1 = month(-1);
    await rebateAndVolume(month(-2));
    const pid = await newPartner({ tier: 'gold', payee: 'DE00 7004' });
    const posted = Date.now();
    await postSales(pid, [sale('JUST', `${P1}-28`, usd(100_000))]);
    const r1 = await startRun(P1);
    // Posted within the settle time before the start (deployed it might still be landing): P1 leaves it.
    expect(Date.parse((await getRun(r1.runId))!.createdAt) - posted).toBeLessThan(SETTLE_SECONDS * 1000);
    expect(r1.run.totals).toEqual([]);
    await approve(r1.runId);
    // A run starting once the settle time has passed takes it, as late for P1.
    await new Promise((r) => setTimeout(r, Math.max(0, posted + SETTLE_SECONDS * 1000 + 100 - Date.now())));
    const rC = await startRun(C);
    expect(rC.run.totals).toEqual([{ currency: 'USD', amount: 2_500 + 1_000, payments: 1 }]);
  });
});

describe('retried page', () => {
  it('a claim approved between two attempts of a page is not stranded in the run', async () => {
    await useFreshTable();
    const [pid] = await manyPartners(1);
    await putApprovedClaim(pid!, 1_000, new Date().toISOString());
    const runId = newId('payoutRun');
    await new Promise((r) => setTimeout(r, 5));
    expect(await createRun({ runId, period: C, status: 'CALCULATING', createdAt: new Date().toISOString(), createdBy: 'test' })).toBe('ok');
    const page = { index: 0, after: null };
    await incentivesTasks({ task: 'processPage', runId, page } as never);
    // The first attempt wrote this partner's payment; then (say) another partner of the page failed,
    // and before the retry a new claim of this partner is approved.
    const late = await putApprovedClaim(pid!, 2_500, new Date().toISOString());
    await incentivesTasks({ task: 'processPage', runId, page } as never);
    const payments = await collect(runPayments(runId));
    const inPayments = payments.flatMap((p) => p.lines.map((l) => l.sourceId));
    const joined = await payoutRunIdOf(pid!, late);
    // Either the late claim is in this run's payment, or it is left free for the next run; never taken and unpaid.
    if (joined === runId) expect(inPayments).toContain(late);
    else expect(joined).toBeUndefined();
  });

  it('a page reads only the period and what is owed: Queries by key condition alone, none of the partner\'s history', async () => {
    await useFreshTable();
    const [P, old] = [month(-1), month(-3)];
    const rebate: Program = { programId: newId('program'), name: 'Rebate', kind: 'rebate', currency: 'USD', startDate: `${month(-12)}-01`, endDate: '2099-12-31', rebate: { rateBps: 1_000 } };
    await createProgram(rebate, 'test');
    const pid = (await manyPartners(1))[0]!;
    const earlier = new Date(Date.now() - 60_000).toISOString();
    // History: 11 earlier months of sales and 30 claims already paid.
    const history: Sale[] = [];
    for (let m = 2; m <= 12; m++) for (let i = 0; i < 5; i++) history.push(sale(`H-${m}-${i}`, `${month(-m)}-1${i}`, usd(1_000)));
    await putSales(pid, history, earlier);
    for (let i = 0; i < 30; i++) {
      const claimId = newId('claim');
      await ddb().send(new PutCommand({ TableName: tableName(), Item: { ...claimKey(pid, claimId), type: 'claim', claimId, partnerId: pid, status: 'PAID', approvedAmount: usd(100), approvedAt: `${month(-6)}-10T10:00:00.000Z`, period: `${month(-6).slice(0, 4)}-Q1` } }));
    }
    // `old` was paid by a run that is now APPROVED; a sale of `old` posted after it is late.
    const oldRun = newId('payoutRun');
    expect(await createRun({ runId: oldRun, period: old, status: 'CALCULATING', createdAt: new Date().toISOString(), createdBy: 'test' })).toBe('ok');
    expect(await transitionRun(oldRun, ['CALCULATING'], 'AWAITING_APPROVAL', 'test')).toBe(true);
    expect(await transitionRun(oldRun, ['AWAITING_APPROVAL'], 'APPROVED', 'test')).toBe(true);
    await new Promise((r) => setTimeout(r, 5));
    await putSales(pid, [sale('LATE-1', `${old}-20`, usd(50_000)), sale('P-1', `${P}-03`, usd(10_000)), sale('P-2', `${P}-04`, usd(20_000)), sale('P-3', `${P}-05`, usd(30_000))], new Date().toISOString());
    const claims = [await putApprovedClaim(pid, 700, `${P}-10T10:00:00.000Z`), await putApprovedClaim(pid, 800, `${P}-11T10:00:00.000Z`)];
    await new Promise((r) => setTimeout(r, 5));
    const runId = newId('payoutRun');
    expect(await createRun({ runId, period: P, status: 'CALCULATING', createdAt: new Date().toISOString(), createdBy: 'test' })).toBe('ok');

    const client = ddb();
    const send = client.send.bind(client);
    const queries: { input: Record<string, unknown>; items: Record<string, unknown>[] }[] = [];
    const spy = vi.spyOn(client, 'send').mockImplementation((async (command: unknown) => {
      const out = await send(command as never);
      if (command instanceof QueryCommand) queries.push({ input: command.input as Record<string, unknown>, items: (out as { Items?: Record<string, unknown>[] }).Items ?? [] });
      return out;
    }) as never);
    try {
      await incentivesTasks({ task: 'processPage', runId, page: { index: 0, after: null } } as never);
    } finally {
      spy.mockRestore();
    }
    const partnerQueries = queries.filter((q) => (q.input.ExpressionAttributeValues as Record<string, unknown>)[':pk'] === `PTR#${pid}`);
    expect(partnerQueries.length).toBeGreaterThan(0);
    for (const q of partnerQueries) {
      expect(q.input.FilterExpression).toBeUndefined();
      expect(String(q.input.KeyConditionExpression)).toMatch(/sk/);
    }
    const read = partnerQueries.flatMap((q) => q.items.map((i) => String(i.sk)));
    // The period's 3 sales; what is owed (the late sale's pointer, 2 claims); the late sale's period (its 5 + the late one).
    expect(read.filter((sk) => sk.startsWith(`SALE#${P}-`))).toHaveLength(3);
    expect(read.filter((sk) => sk.startsWith('DUE#'))).toHaveLength(3);
    expect(read.filter((sk) => sk.startsWith(`SALE#${old}-`))).toHaveLength(6);
    expect(read).toHaveLength(12);
    expect((await partnerPartition(pid)).length).toBeGreaterThan(150);
    const [payment] = await collect(runPayments(runId));
    expect(payment!.lines.map((l) => `${l.sourceType} ${l.sourceId.split(':').pop()}`).sort()).toEqual(['mdf_claim ' + claims[0], 'mdf_claim ' + claims[1], 'rebate LATE-1', 'rebate P-1', 'rebate P-2', 'rebate P-3'].sort());
    expect(payment!.amount).toBe(700 + 800 + 5_000 + 1_000 + 2_000 + 3_000);
  });

  it('processPage invoked again for a page of an approved run adds nothing', async () => {
    await boot();
    const P = month(-1);
    await program({ name: 'Rebate', kind: 'rebate', currency: 'USD', startDate: `${P}-01`, endDate: '2099-12-31', rebate: { rateBps: 300 } });
    const ids = await manyPartners(3);
    for (const [i, pid] of ids.entries()) await postSales(pid, [sale(`R-${i}`, `${P}-07`, usd(10_000 * (i + 1)))]);
    const { runId } = await startRun(P);
    const approved = await approve(runId);
    const before = await collect(runPayments(runId));
    const exportBefore = (await csv(runId, 'export')).text;

    const again = await system!.invoke('incentivesTasks', { task: 'processPage', runId, page: { index: 0, after: null } });
    expect(again).toEqual({ skipped: true });
    expect(await collect(runPayments(runId))).toEqual(before);
    expect((await runStatus(runId)).totals).toEqual(approved.totals);
    expect((await csv(runId, 'export')).text).toBe(exportBefore);
  });

  it('a page processed twice (and concurrently) while CALCULATING writes nothing twice: same payments, lines, carried balances and totals', async () => {
    await useFreshTable();
    const P = month(-1);
    const now = () => new Date().toISOString();
    const programs: Program[] = [
      { programId: newId('program'), name: 'Rebate', kind: 'rebate', currency: 'USD', startDate: `${P}-01`, endDate: '2099-12-31', rebate: { rateBps: 250 } },
      { programId: newId('program'), name: 'SPIFF', kind: 'spiff', currency: 'EUR', startDate: `${P}-01`, endDate: '2099-12-31', spiff: { sku: 'SW-1', amountPerUnit: eur(700) } },
      { programId: newId('program'), name: 'Volume', kind: 'volume_tier', currency: 'USD', startDate: `${P}-01`, endDate: '2099-12-31', eligibleTiers: ['gold'], volumeTiers: [{ fromRevenue: usd(500_000), rateBps: 150 }] },
    ];
    for (const p of programs) await createProgram(p, 'test');

    // 120 partners → 2 pages; every 10th without a payee (HELD); every 7th with an MDF claim; partner 1 with a clawback larger than its earnings.
    const partners = await manyPartners(120, (i) => ({ tier: i % 2 ? 'gold' : 'silver', ...(i % 10 ? { payee: `IBAN ${i}` } : {}) }));
    const expectedLines = new Map<string, Line[]>();
    const settled = newId('payoutRun');
    expect(await createRun({ runId: settled, period: month(-6), status: 'CALCULATING', createdAt: now(), createdBy: 'test' })).toBe('ok');
    expect(await transitionRun(settled, ['CALCULATING'], 'AWAITING_APPROVAL', 'test')).toBe(true);
    expect(await transitionRun(settled, ['AWAITING_APPROVAL'], 'APPROVED', 'test')).toBe(true);
    await Promise.all(
      partners.map(async (pid, i) => {
        const sales = [sale('D-1', `${P}-03`, usd(10_003 * (i + 1))), sale('D-2', `${P}-04`, eur(9_000), 'SW-1', (i % 3) + 1), sale('D-3', `${P}-05`, usd(300_000))];
        await putSales(pid, sales, now());
        const lines = accrualLines(programs, i % 2 ? 'gold' : 'silver', pid, P, sales);
        if (i % 7 === 0) {
          const claimId = await putApprovedClaim(pid, 5_000 + i, `${P}-20T12:00:00.000Z`);
          lines.push({ sourceType: 'mdf_claim', sourceId: claimId, description: '', amount: usd(5_000 + i) });
        }
        if (i === 1) {
          const clawback: Line = { sourceType: 'clawback', sourceId: `${programs[0]!.programId}:OLD`, description: 'Reversal of deal OLD', amount: usd(-10_000_000) };
          // As reverseSale writes it: the clawback and its DUE#BAL# pointer.
          await ddb().send(new PutCommand({ TableName: tableName(), Item: { pk: `PTR#${pid}`, sk: 'CLAWBACK#OLD', type: 'clawback', dealId: 'OLD', partnerId: pid, status: 'PENDING', createdAt: now(), compensatesRunId: settled, lines: [clawback] } }));
          await ddb().send(new PutCommand({ TableName: tableName(), Item: { ...balanceDueKey(pid, 'CLAWBACK#OLD'), type: 'balance_due', partnerId: pid, ref: 'CLAWBACK#OLD' } }));
          lines.push(clawback);
        }
        expectedLines.set(pid, lines);
      }),
    );
    await new Promise((r) => setTimeout(r, 5));

    const runId = newId('payoutRun');
    expect(await createRun({ runId, period: P, status: 'CALCULATING', createdAt: now(), createdBy: 'test' })).toBe('ok');
    const { pages } = (await incentivesTasks({ task: 'prepareRun', runId } as never)) as { pages: { index: number; after: string | null }[] };
    expect(pages).toHaveLength(2);
    expect(pages[0]).toEqual({ index: 0, after: null });

    const snapshot = async () => ({
      payments: await collect(runPayments(runId)),
      carried: (await Promise.all(partners.map(partnerPartition))).flat().filter((i) => String(i.sk).startsWith('CARRY#')),
      joined: (await Promise.all(partners.map(partnerPartition))).flat().filter((i) => i.payoutRunId === runId).map((i) => `${String(i.pk)}|${String(i.sk)}`).sort(),
    });
    const processPage = (page: { index: number; after: string | null }) => incentivesTasks({ task: 'processPage', runId, page } as never);
    for (const page of pages) expect(await processPage(page)).toEqual({ partners: page.index === 0 ? 100 : 20 });
    const once = await snapshot();
    expect(once.payments.length).toBeGreaterThan(200);
    // Carried: partner 1's negative net, and for each of the 12 held partners the non-claim part of
    // its USD and its EUR payment. Joined: 18 claims and 1 clawback, less the 2 claims of held partners
    // (i = 0, 70), which go back to the pool for a later run.
    expect(once.carried.filter((c) => (c.amount as { amount: number }).amount < 0)).toHaveLength(1);
    expect(once.carried).toHaveLength(1 + 2 * 12);
    expect(once.joined).toHaveLength(Math.ceil(120 / 7) + 1 - 2);

    // Retries: each page again, one after the other, then both pages twice at the same time.
    for (const page of [pages[1]!, pages[0]!]) await processPage(page);
    // Two attempts of one page at the same moment may collide in a transaction (TransactionConflict):
    // that surfaces as TransientError, which the ASL Retry re-runs; nothing else may fail.
    const concurrent = await Promise.allSettled([...pages, ...pages].map(processPage));
    const failures = concurrent.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => (r.reason as Error).name);
    expect(failures.every((name) => name === 'TransientError')).toBe(true);
    if (failures.length) console.log(`concurrent duplicate pages: ${failures.length} of 4 attempts failed transiently (retried by the ASL)`);
    expect(await snapshot()).toEqual(once);

    // What the run should hold, from the pure rules.
    const totals = new Map<string, { currency: string; amount: number; payments: number }>();
    let heldCount = 0;
    for (const [i, pid] of partners.entries()) {
      for (const [currency, { net }] of netByCurrency(expectedLines.get(pid)!)) {
        const status = paymentStatusFor(net, i % 10 !== 0);
        const p = once.payments.find((x: PaymentRecord) => x.partnerId === pid && x.currency === currency)!;
        expect(p).toMatchObject({ amount: net.amount, status });
        if (status === 'HELD') heldCount++;
        if (status !== 'PENDING') continue;
        const t = totals.get(currency) ?? { currency, amount: 0, payments: 0 };
        t.amount += net.amount;
        t.payments++;
        totals.set(currency, t);
      }
    }
    expect(once.payments).toHaveLength([...expectedLines.values()].reduce((n, ls) => n + netByCurrency(ls).size, 0));

    await incentivesTasks({ task: 'finalizeRun', runId } as never);
    const run = (await getRun(runId))!;
    expect(run.status).toBe('AWAITING_APPROVAL');
    expect(run.totals).toEqual([...totals.values()].sort((a, b) => a.currency.localeCompare(b.currency)));
    expect(run.heldCount).toBe(heldCount);
    expect(run.pendingPayments).toBe([...totals.values()].reduce((n, t) => n + t.payments, 0));
    // The totals are exactly those of the payments written by the first pass.
    const fromOnce = new Map<string, number>();
    for (const p of once.payments.filter((x: PaymentRecord) => x.status === 'PENDING')) fromOnce.set(p.currency, (fromOnce.get(p.currency) ?? 0) + p.amount);
    expect(Object.fromEntries(run.totals!.map((t) => [t.currency, t.amount]))).toEqual(Object.fromEntries(fromOnce));
    // And once AWAITING_APPROVAL, a late retry is a no-op.
    expect(await processPage(pages[0]!)).toEqual({ skipped: true });
    expect((await snapshot()).payments).toEqual(once.payments);
  }, 120_000);
});

describe('state transitions at size', () => {
  it('250 partners → 3 pages', async () => {
    await boot();
    const P = month(-1);
    await program({ name: 'Rebate', kind: 'rebate', currency: 'USD', startDate: `${P}-01`, endDate: '2099-12-31', rebate: { rateBps: 200 } });
    const partners = await manyPartners(250);
    await Promise.all(partners.map((pid, i) => putSales(pid, [sale('D-1', `${P}-09`, usd(1_000 * (i + 1)))], new Date().toISOString())));
    const { runId, run } = await startRun(P, 60_000);
    const expected = partners.reduce((s, _, i) => s + Math.round((1_000 * (i + 1) * 200) / 10_000), 0);
    expect(run.totals).toEqual([{ currency: 'USD', amount: expected, payments: 250 }]);
    await approve(runId);
    const done = await recordTransitions('approve, 250 partners', runId, 250);
    const pageStates = done.events.filter((e) => e.type === 'StateEntered' && e.state?.name === 'ProcessPage').length;
    expect(pageStates).toBe(3);
    console.log(`payout-run with 250 partners (3 pages): ${done.stateTransitions} state transitions`);
    const exp = await csv(runId, 'export');
    expect(exp.rows).toHaveLength(250);
  }, 180_000);
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
