import { beforeAll, describe, expect, it } from 'vitest';
import { readHistory } from '../../functions/core/audit.ts';
import { newId } from '../../functions/core/ids.ts';
import { money } from '../../functions/core/money.ts';
import { available } from '../../functions/mdf/model.ts';
import {
  allocateBudget,
  approveFundRequest,
  budgetHistoryPk,
  createClaim,
  createFundRequest,
  getBudget,
  getClaim,
  getFundRequest,
  listClaims,
  listFundRequests,
  rejectClaim,
  settleClaim,
  startReview,
  transitionFundRequest,
  type BudgetRecord,
  type ClaimRecord,
  type FundRequestRecord,
} from '../../functions/mdf/store.ts';
import { useFreshTable } from '../support/table.ts';

/**
 * Races on the MDF store's DynamoDB transactions (DynamoDB Local): the conditions on `available`,
 * `remaining`, the invoice lock and the claim's status must let exactly the right number through.
 * Every call below goes straight to functions/mdf/store.ts, all at once with Promise.all.
 */
const PERIOD = '2026-Q2';
const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

beforeAll(async () => {
  await useFreshTable();
});

async function partnerWithBudget(allocated: number): Promise<string> {
  const partnerId = newId('partner');
  const result = await allocateBudget(partnerId, PERIOD, money(allocated, 'USD'), 'test');
  expect(result.ok).toBe(true);
  return partnerId;
}

async function awaitingFundRequest(partnerId: string, amount: number): Promise<FundRequestRecord> {
  const now = new Date().toISOString();
  const record: FundRequestRecord = {
    fundRequestId: newId('fundRequest'),
    partnerId,
    period: PERIOD,
    activity: { type: 'webinar', name: 'Race webinar', description: 'Concurrency test', startDate: day(-20), endDate: day(-10) },
    requested: money(amount, 'USD'),
    status: 'SUBMITTED',
    claimed: 0,
    inClaim: 0,
    remaining: 0,
    createdAt: now,
    updatedAt: now,
  };
  await createFundRequest(record, 'partner-user');
  expect(await transitionFundRequest(record, 'SUBMITTED', 'AWAITING_APPROVAL', { actor: 'workflow', action: 'sent_for_approval' })).toBe(true);
  return { ...record, status: 'AWAITING_APPROVAL' };
}

async function approvedFundRequest(partnerId: string, amount: number): Promise<FundRequestRecord> {
  const frq = await awaitingFundRequest(partnerId, amount);
  expect(await approveFundRequest(frq, amount, { actor: 'channel.manager@example.com' })).toBe('ok');
  return (await getFundRequest(partnerId, frq.fundRequestId))!;
}

function claimFor(frq: FundRequestRecord, amount: number, invoiceNumber: string): ClaimRecord {
  const now = new Date().toISOString();
  const claimId = newId('claim');
  return {
    claimId,
    partnerId: frq.partnerId,
    fundRequestId: frq.fundRequestId,
    period: frq.period,
    invoiceNumber,
    amount: money(amount, 'USD'),
    activityCompletedOn: day(-10),
    files: [{ fileName: 'invoice.pdf', contentType: 'application/pdf', sha256: 'a'.repeat(64), sizeBytes: 5, key: `proofs/${frq.partnerId}/${claimId}/0-0-invoice.pdf` }],
    status: 'SUBMITTED',
    createdAt: now,
    updatedAt: now,
  };
}

const count = <T>(values: T[], wanted: T) => values.filter((v) => v === wanted).length;

function expectLedger(budget: BudgetRecord | undefined, figures: Partial<Pick<BudgetRecord, 'allocated' | 'reserved' | 'approved' | 'paid' | 'available' | 'unpaid'>>) {
  expect(budget).toBeDefined();
  const b = budget!;
  expect(b).toMatchObject(figures);
  // The stored `available` attribute (what the conditions guard) agrees with the ledger's rule.
  expect(b.available).toBe(b.allocated - b.reserved - b.approved);
  expect(available(b)).toBe(b.available);
  expect(b.available).toBeGreaterThanOrEqual(0);
  expect(b.unpaid).toBe(b.approved - b.paid);
  expect(b.paid).toBeLessThanOrEqual(b.approved);
}

describe('MDF store under concurrency (DynamoDB Local)', () => {
  it('(a) 50 approvals of 1,000.00 against a 20,000.00 budget: exactly 20 reserve, 30 are refused, available never negative', async () => {
    const partnerId = await partnerWithBudget(2_000_000);
    const frqs = await Promise.all(Array.from({ length: 50 }, () => awaitingFundRequest(partnerId, 100_000)));

    // Watch the budget while the approvals race.
    const seen: number[] = [];
    let racing = true;
    const watcher = (async () => {
      while (racing) {
        const b = await getBudget(partnerId, PERIOD);
        seen.push(b!.available, b!.allocated - b!.reserved - b!.approved);
      }
    })();
    const outcomes = await Promise.all(frqs.map((frq) => approveFundRequest(frq, 100_000, { actor: 'channel.manager@example.com' })));
    racing = false;
    await watcher;

    expect(count(outcomes, 'ok')).toBe(20);
    expect(count(outcomes, 'insufficient_budget')).toBe(30);
    expect(seen.length).toBeGreaterThan(0);
    expect(Math.min(...seen)).toBeGreaterThanOrEqual(0);

    expectLedger(await getBudget(partnerId, PERIOD), { allocated: 2_000_000, reserved: 2_000_000, approved: 0, paid: 0, available: 0 });
    const stored = await listFundRequests(partnerId);
    expect(stored.filter((f) => f.status === 'APPROVED')).toHaveLength(20);
    expect(stored.filter((f) => f.status === 'AWAITING_APPROVAL')).toHaveLength(30);
    for (const [i, frq] of frqs.entries()) {
      const after = stored.find((f) => f.fundRequestId === frq.fundRequestId)!;
      if (outcomes[i] === 'ok') expect(after).toMatchObject({ status: 'APPROVED', approvedAmount: 100_000, remaining: 100_000, claimed: 0, inClaim: 0 });
      else expect(after.approvedAmount).toBeUndefined();
    }
    expect((await readHistory(budgetHistoryPk(partnerId, PERIOD))).filter((h) => h.action === 'reserved')).toHaveLength(20);

    // A refused request approved again later, with nothing left, is still refused; once approved, a second approval is not_awaiting.
    const refused = frqs[outcomes.indexOf('insufficient_budget')]!;
    expect(await approveFundRequest(refused, 1, { actor: 'x' })).toBe('insufficient_budget');
    expect(await approveFundRequest(frqs[outcomes.indexOf('ok')]!, 1, { actor: 'x' })).toBe('not_awaiting');
    expectLedger(await getBudget(partnerId, PERIOD), { reserved: 2_000_000, available: 0 });
  });

  it('(b) 50 claims of 300.00 against a fund request of 10,000.00: exactly 33 are taken, remaining 100.00', async () => {
    const partnerId = await partnerWithBudget(5_000_000);
    const frq = await approvedFundRequest(partnerId, 1_000_000);
    expect(frq).toMatchObject({ approvedAmount: 1_000_000, remaining: 1_000_000, inClaim: 0, claimed: 0 });

    const claims = Array.from({ length: 50 }, (_, i) => claimFor(frq, 30_000, `INV-B-${i}`));
    const outcomes = await Promise.all(claims.map((c) => createClaim(c, 'partner-user')));

    expect(count(outcomes, 'ok')).toBe(33);
    expect(count(outcomes, 'amount_exceeds_remaining')).toBe(17);
    const after = (await getFundRequest(partnerId, frq.fundRequestId))!;
    expect(after).toMatchObject({ approvedAmount: 1_000_000, remaining: 10_000, inClaim: 990_000, claimed: 0 });
    expect(after.claimed + after.inClaim + after.remaining).toBe(after.approvedAmount);

    // Refused claims left nothing behind: no claim item, and their invoice numbers are still free.
    const stored = await listClaims(partnerId);
    expect(stored).toHaveLength(33);
    expect(new Set(stored.map((c) => c.claimId))).toEqual(new Set(claims.filter((_, i) => outcomes[i] === 'ok').map((c) => c.claimId)));
    const refused = claims[outcomes.indexOf('amount_exceeds_remaining')]!;
    expect(await getClaim(partnerId, refused.claimId)).toBeUndefined();
    expect(await createClaim(claimFor(frq, 10_000, refused.invoiceNumber), 'partner-user')).toBe('ok');
    expect(await getFundRequest(partnerId, frq.fundRequestId)).toMatchObject({ remaining: 0, inClaim: 1_000_000 });
    expect(await createClaim(claimFor(frq, 1, 'INV-B-LAST'), 'partner-user')).toBe('amount_exceeds_remaining');

    // Claims do not move the budget until they are approved.
    expectLedger(await getBudget(partnerId, PERIOD), { allocated: 5_000_000, reserved: 1_000_000, approved: 0, available: 4_000_000 });
  });

  it('(c) 10 claims with the same invoice number (case and spaces differ): exactly one is taken', async () => {
    const partnerId = await partnerWithBudget(5_000_000);
    const frq = await approvedFundRequest(partnerId, 1_000_000);
    const spellings = ['INV-2026-007', 'inv-2026-007', ' Inv-2026-007 ', 'INV - 2026 - 007', 'inv-2026-007\t', 'INV-2026-007 ', 'iNv-2026-007', ' INV-2026-007', 'Inv - 2026-007', 'INV-2026 -007'];
    const claims = spellings.map((s) => claimFor(frq, 10_000, s));
    const outcomes = await Promise.all(claims.map((c) => createClaim(c, 'partner-user')));

    expect(count(outcomes, 'ok')).toBe(1);
    expect(count(outcomes, 'duplicate_invoice')).toBe(9);
    expect(await listClaims(partnerId)).toHaveLength(1);
    expect(await getFundRequest(partnerId, frq.fundRequestId)).toMatchObject({ remaining: 990_000, inClaim: 10_000 });

    // Rejecting the winner frees the invoice number and returns its amount.
    const winner = claims[outcomes.indexOf('ok')]!;
    expect(await rejectClaim((await getClaim(partnerId, winner.claimId))!, 'channel.manager@example.com', 'Wrong invoice')).toBe(true);
    expect(await getFundRequest(partnerId, frq.fundRequestId)).toMatchObject({ remaining: 1_000_000, inClaim: 0 });
    expect(await createClaim(claimFor(frq, 10_000, 'inv2026-007'), 'partner-user')).toBe('ok');
  });

  it('(d) settling the same claim twice at once: one succeeds, the budget counts it once', async () => {
    const partnerId = await partnerWithBudget(5_000_000);
    const frq = await approvedFundRequest(partnerId, 1_000_000);
    const claim = claimFor(frq, 400_000, 'INV-D-1');
    expect(await createClaim(claim, 'partner-user')).toBe('ok');
    expect(await startReview(claim)).toBe(true);
    const inReview = (await getClaim(partnerId, claim.claimId))!;
    expect(inReview.status).toBe('IN_REVIEW');

    const results = await Promise.all([
      settleClaim(inReview, money(350_000, 'USD'), 'channel.manager@example.com', 'first'),
      settleClaim(inReview, money(350_000, 'USD'), 'marketing.director@example.com', 'second'),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);

    expectLedger(await getBudget(partnerId, PERIOD), { allocated: 5_000_000, reserved: 650_000, approved: 350_000, unpaid: 350_000, paid: 0, available: 4_000_000 });
    expect(await getFundRequest(partnerId, frq.fundRequestId)).toMatchObject({ claimed: 350_000, inClaim: 0, remaining: 650_000 });
    const settled = (await getClaim(partnerId, claim.claimId))!;
    expect(settled).toMatchObject({ status: 'APPROVED', approvedAmount: { amount: 350_000, currency: 'USD' } });
    expect((await readHistory(`CLM#${claim.claimId}`)).filter((h) => h.toStatus === 'APPROVED')).toHaveLength(1);
    expect((await readHistory(budgetHistoryPk(partnerId, PERIOD))).filter((h) => h.action === 'claim_approved')).toHaveLength(1);

    // A third, late settle is refused too.
    expect(await settleClaim(inReview, money(350_000, 'USD'), 'late')).toBe(false);
    expectLedger(await getBudget(partnerId, PERIOD), { reserved: 650_000, approved: 350_000 });
  });

  it('(e) settle and reject racing for the same claim: exactly one wins and the figures match the winner', async () => {
    const partnerId = await partnerWithBudget(5_000_000);
    const frq = await approvedFundRequest(partnerId, 1_000_000);
    const claims = Array.from({ length: 10 }, (_, i) => claimFor(frq, 50_000, `INV-E-${i}`));
    for (const c of claims) expect(await createClaim(c, 'partner-user')).toBe('ok');
    for (const c of claims) expect(await startReview(c)).toBe(true);
    const inReview = await Promise.all(claims.map(async (c) => (await getClaim(partnerId, c.claimId))!));

    const results = await Promise.all(inReview.map((c) => Promise.all([settleClaim(c, money(40_000, 'USD'), 'cm'), rejectClaim(c, 'cm', 'no')])));
    let approvedCount = 0;
    for (const [i, [settled, rejected]] of results.entries()) {
      expect(Number(settled) + Number(rejected), claims[i]!.claimId).toBe(1);
      expect((await getClaim(partnerId, claims[i]!.claimId))!.status).toBe(settled ? 'APPROVED' : 'REJECTED');
      if (settled) approvedCount++;
    }
    expect(await getFundRequest(partnerId, frq.fundRequestId)).toMatchObject({
      claimed: approvedCount * 40_000,
      inClaim: 0,
      remaining: 1_000_000 - approvedCount * 40_000,
    });
    expectLedger(await getBudget(partnerId, PERIOD), { reserved: 1_000_000 - approvedCount * 40_000, approved: approvedCount * 40_000, available: 4_000_000 });
  });
});
