import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TIERS, type Tier } from '../../functions/core/config.ts';
import { newId } from '../../functions/core/ids.ts';
import { money } from '../../functions/core/money.ts';
import {
  accrualDifference,
  accrualLines,
  confirmationChunks,
  currencyMismatches,
  lateSaleLines,
  derivedId,
  netByCurrency,
  neutraliseCell,
  paymentStatusFor,
  periodBounds,
  programApplies,
  rebateAccrual,
  volumeTierAccrual,
  volumeTierRate,
  type Line,
  type Program,
  type Sale,
} from '../../functions/incentives/model.ts';

/**
 * The pure incentive rules (functions/incentives/model.ts). The properties compare accrualLines with
 * an oracle written here from the rules in docs/api.md (accrual) / issue 5 (BigInt arithmetic, rounding per line
 * half away from zero), and check the netting invariants the payout run relies on.
 */

const CURRENCIES = ['USD', 'EUR', 'JPY'] as const;
const SKUS = ['SW-1', 'HW-9', 'SVC'] as const;
const PERIOD = '2024-06';

const day = (offset: number) => new Date(Date.UTC(2024, 0, 1) + offset * 86_400_000).toISOString().slice(0, 10);

// ---------- an oracle, independent of model.ts ----------

/** a × b / 10 000, rounded half away from zero, exactly. */
function bpsOracle(amount: number, bps: number): number {
  const num = BigInt(amount) * BigInt(bps);
  const neg = num < 0n;
  const abs = neg ? -num : num;
  let q = abs / 10_000n;
  if ((abs % 10_000n) * 2n >= 10_000n) q += 1n;
  return Number(neg ? -q : q);
}

function oracle(programs: Program[], tier: Tier, partnerId: string, period: string, sales: Sale[]): Map<string, Line['amount']> {
  const out = new Map<string, Line['amount']>();
  for (const p of programs) {
    const applies = (s: Sale) => s.closedOn >= p.startDate && s.closedOn <= p.endDate && (!p.eligibleTiers || p.eligibleTiers.includes(tier));
    const inCurrency = sales.filter((s) => applies(s) && s.revenue.currency === p.currency);
    if (p.kind === 'rebate') {
      for (const s of inCurrency) {
        const amount = bpsOracle(s.revenue.amount, p.rebate!.rateBps);
        if (amount !== 0) out.set(`${p.programId}:${s.dealId}`, { amount, currency: p.currency });
      }
    } else if (p.kind === 'spiff') {
      for (const s of inCurrency.filter((x) => x.sku === p.spiff!.sku)) {
        out.set(`${p.programId}:${s.dealId}`, { amount: p.spiff!.amountPerUnit.amount * s.quantity, currency: p.currency });
      }
    } else {
      if (!inCurrency.length) continue;
      const revenue = inCurrency.reduce((sum, s) => sum + s.revenue.amount, 0);
      const reached = p.volumeTiers!.filter((t) => revenue >= t.fromRevenue.amount);
      // The highest threshold reached (not the highest rate: a higher tier may pay less).
      const top = reached.reduce<(typeof reached)[number] | undefined>((best, t) => (!best || t.fromRevenue.amount > best.fromRevenue.amount ? t : best), undefined);
      const rate = top?.rateBps ?? 0;
      const amount = bpsOracle(revenue, rate);
      if (amount !== 0) out.set(`${p.programId}:${partnerId}:${period}`, { amount, currency: p.currency });
    }
  }
  return out;
}

// ---------- generators ----------

const currencyArb = fc.constantFrom(...CURRENCIES);
const tierArb = fc.constantFrom(...TIERS);

const programArb = fc
  .record({
    name: fc.string({ minLength: 1, maxLength: 12 }),
    kind: fc.constantFrom('rebate', 'spiff', 'volume_tier') as fc.Arbitrary<Program['kind']>,
    currency: currencyArb,
    start: fc.integer({ min: 0, max: 200 }),
    length: fc.integer({ min: 0, max: 300 }),
    eligibleTiers: fc.option(fc.subarray([...TIERS], { minLength: 1 }), { nil: undefined }),
    rateBps: fc.integer({ min: 0, max: 10_000 }),
    sku: fc.constantFrom(...SKUS),
    perUnit: fc.integer({ min: 1, max: 1_000_000 }),
    thresholds: fc.uniqueArray(fc.integer({ min: 0, max: 5_000_000_000 }), { minLength: 1, maxLength: 5 }),
    rates: fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 5, maxLength: 5 }),
  })
  .map((r) => {
    const program: Omit<Program, 'programId'> = {
      name: r.name,
      kind: r.kind,
      currency: r.currency,
      startDate: day(r.start),
      endDate: day(r.start + r.length),
      ...(r.eligibleTiers ? { eligibleTiers: r.eligibleTiers } : {}),
    };
    if (r.kind === 'rebate') program.rebate = { rateBps: r.rateBps };
    if (r.kind === 'spiff') program.spiff = { sku: r.sku, amountPerUnit: { amount: r.perUnit, currency: r.currency } };
    if (r.kind === 'volume_tier') {
      program.volumeTiers = [...r.thresholds].sort((a, b) => a - b).map((t, i) => ({ fromRevenue: { amount: t, currency: r.currency }, rateBps: r.rates[i]! }));
    }
    return program;
  });

const programsArb = fc.array(programArb, { minLength: 1, maxLength: 5 }).map((ps) => ps.map((p, i) => ({ programId: `prg_P${i}`, ...p }) as Program));

const saleArb = fc.record({
  closedOn: fc.integer({ min: 0, max: 420 }).map(day),
  sku: fc.constantFrom(...SKUS),
  quantity: fc.integer({ min: 1, max: 1_000 }),
  amount: fc.integer({ min: 1, max: 10_000_000_000 }),
  currency: currencyArb,
});
const salesArb = fc.array(saleArb, { maxLength: 40, size: 'large' }).map((ss) => ss.map((s, i): Sale => ({ dealId: `D-${i}`, closedOn: s.closedOn, sku: s.sku, quantity: s.quantity, revenue: { amount: s.amount, currency: s.currency } })));

const lineArb = fc.record({
  sourceType: fc.constantFrom('mdf_claim', 'rebate', 'spiff', 'volume_tier', 'clawback', 'carry_forward') as fc.Arbitrary<Line['sourceType']>,
  sourceId: fc.string({ minLength: 1, maxLength: 10 }),
  description: fc.string(),
  amount: fc.record({ amount: fc.integer({ min: -1_000_000_000, max: 1_000_000_000 }), currency: currencyArb }),
});

const rebate = (rateBps: number, overrides: Partial<Program> = {}): Program => ({
  programId: 'prg_R',
  name: 'Rebate',
  kind: 'rebate',
  currency: 'USD',
  startDate: '2024-01-01',
  endDate: '2024-12-31',
  rebate: { rateBps },
  ...overrides,
});
const sale = (dealId: string, amount: number, overrides: Partial<Sale> = {}): Sale => ({ dealId, closedOn: '2024-06-15', sku: 'SW-1', quantity: 1, revenue: { amount, currency: 'USD' }, ...overrides });

// ---------- accruals ----------

describe('incentive accruals (property tests)', () => {
  it('every line is a whole number of minor units in its program currency, and equals the oracle', () => {
    fc.assert(
      fc.property(programsArb, tierArb, salesArb, (programs, tier, sales) => {
        const lines = accrualLines(programs, tier, 'ptr_X', PERIOD, sales);
        const byId = new Map(programs.map((p) => [p.programId, p]));
        for (const line of lines) {
          const program = byId.get(line.sourceId.split(':')[0]!)!;
          expect(program).toBeDefined();
          expect(Number.isSafeInteger(line.amount.amount)).toBe(true);
          expect(line.amount.currency).toBe(program.currency);
          expect(line.sourceType).toBe(program.kind);
          expect(line.amount.amount).not.toBe(0);
        }
        const got = new Map(lines.map((l) => [l.sourceId, l.amount]));
        expect(got.size).toBe(lines.length); // one line per (program, deal) or (program, partner, period)
        expect(got).toEqual(oracle(programs, tier, 'ptr_X', PERIOD, sales));
      }),
      { numRuns: 300 },
    );
  });

  it('sales in another currency than the program never produce lines (and are reported as such)', () => {
    fc.assert(
      fc.property(programsArb, tierArb, salesArb, (programs, tier, sales) => {
        const lines = accrualLines(programs, tier, 'ptr_X', PERIOD, sales);
        const saleById = new Map(sales.map((s) => [s.dealId, s]));
        for (const line of lines.filter((l) => l.sourceType !== 'volume_tier')) {
          expect(saleById.get(line.sourceId.split(':')[1]!)!.revenue.currency).toBe(line.amount.currency);
        }
        // Only foreign-currency sales: nothing at all.
        const used = new Set(programs.map((p) => p.currency));
        const foreign = (['GBP', 'CHF'] as const).find((c) => !used.has(c))!;
        const foreignSales = sales.map((s) => ({ ...s, revenue: { amount: s.revenue.amount, currency: foreign } }));
        expect(accrualLines(programs, tier, 'ptr_X', PERIOD, foreignSales)).toEqual([]);
        for (const s of foreignSales) {
          const reported = currencyMismatches(programs, tier, s).map((m) => m.programId);
          const expected = programs.filter((p) => programApplies(p, tier, s.closedOn) && (p.kind !== 'spiff' || p.spiff!.sku === s.sku)).map((p) => p.programId);
          expect(reported).toEqual(expected);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('rounds each rebate line half away from zero at the edges (x.5 up, -x.5 down, 0.4999 down)', () => {
    const r = (amount: number, bps: number) => rebateAccrual(rebate(bps), sale('D', amount))!.amount;
    expect(r(5_000, 1)).toBe(1); // 0.5 → 1
    expect(r(15_000, 1)).toBe(2); // 1.5 → 2
    expect(r(25_000, 1)).toBe(3); // 2.5 → 3 (not banker's rounding to 2)
    expect(r(4_999, 1)).toBe(0); // 0.4999 → 0
    expect(r(14_999, 1)).toBe(1); // 1.4999 → 1
    expect(r(5_001, 1)).toBe(1); // 0.5001 → 1
    expect(r(100_050, 250)).toBe(2_501); // 2,501.25 → 2,501
    expect(r(100_060, 250)).toBe(2_502); // 2,501.5 → 2,502
    expect(r(3, 1_666)).toBe(0); // 0.4998 → 0
    // Negative amounts (a reversal): -x.5 goes away from zero, -x.4999 toward it; never -0.
    expect(r(-5_000, 1)).toBe(-1);
    expect(r(-15_000, 1)).toBe(-2);
    expect(r(-14_999, 1)).toBe(-1);
    expect(Object.is(r(-4_999, 1), 0)).toBe(true);
    // A line that rounds to 0 is not a line.
    expect(accrualLines([rebate(1)], 'gold', 'ptr_X', PERIOD, [sale('D-1', 4_999), sale('D-2', 5_000)]).map((l) => [l.sourceId, l.amount.amount])).toEqual([['prg_R:D-2', 1]]);
    // Rounded per line, not on the sum: two 0.5 lines give 2, not round(1.0) = 1.
    const two = accrualLines([rebate(1)], 'gold', 'ptr_X', PERIOD, [sale('D-1', 5_000), sale('D-2', 5_000)]);
    expect(two.reduce((s, l) => s + l.amount.amount, 0)).toBe(2);
  });

  it('rebate lines are within half a minor unit of the exact share, and ties go away from zero', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e12, max: 1e12 }), fc.integer({ min: 0, max: 10_000 }), (amount, bps) => {
        const got = rebateAccrual(rebate(bps), sale('D', amount))!.amount;
        const exact = BigInt(amount) * BigInt(bps); // in 1/10 000 of a minor unit
        const diff = BigInt(got) * 10_000n - exact;
        const absDiff = diff < 0n ? -diff : diff;
        expect(absDiff <= 5_000n).toBe(true);
        if (absDiff === 5_000n) expect(Math.sign(got)).toBe(Math.sign(amount)); // the tie went away from zero
      }),
      { numRuns: 500 },
    );
  });

  it('SPIFF: amount per unit × quantity, only for its SKU and currency', () => {
    const spiff: Program = { programId: 'prg_S', name: 'SPIFF', kind: 'spiff', currency: 'USD', startDate: '2024-01-01', endDate: '2024-12-31', spiff: { sku: 'SW-1', amountPerUnit: money(5_000, 'USD') } };
    const lines = accrualLines([spiff], 'silver', 'ptr_X', PERIOD, [sale('D-1', 1, { quantity: 3 }), sale('D-2', 1, { sku: 'HW-9', quantity: 3 }), sale('D-3', 1, { quantity: 2, revenue: money(1, 'EUR') })]);
    expect(lines).toEqual([{ sourceType: 'spiff', sourceId: 'prg_S:D-1', description: 'SPIFF: deal D-1', amount: money(15_000, 'USD') }]);
  });

  it('volume tier: the rate of the highest tier reached (exactly at a threshold, one unit below), on the whole period revenue', () => {
    const program: Program = {
      programId: 'prg_V',
      name: 'Volume',
      kind: 'volume_tier',
      currency: 'USD',
      startDate: '2024-01-01',
      endDate: '2024-12-31',
      volumeTiers: [
        { fromRevenue: money(100_000, 'USD'), rateBps: 100 },
        { fromRevenue: money(500_000, 'USD'), rateBps: 200 },
        { fromRevenue: money(1_000_000, 'USD'), rateBps: 300 },
      ],
    };
    const rate = (amount: number) => volumeTierRate(program, money(amount, 'USD'));
    expect(rate(99_999)).toBe(0);
    expect(rate(100_000)).toBe(100);
    expect(rate(499_999)).toBe(100);
    expect(rate(500_000)).toBe(200);
    expect(rate(999_999)).toBe(200);
    expect(rate(1_000_000)).toBe(300);
    expect(rate(50_000_000)).toBe(300);
    expect(volumeTierAccrual(program, money(499_999, 'USD'))).toEqual(money(5_000, 'USD')); // 4,999.99 → 5,000
    expect(volumeTierAccrual(program, money(500_000, 'USD'))).toEqual(money(10_000, 'USD'));
    // No sale reaches a tier on its own; together they reach the second: 200 bps on all 600,000.
    const sales = [sale('D-1', 300_000), sale('D-2', 300_000), sale('D-3', 900_000, { revenue: money(900_000, 'EUR') })];
    expect(accrualLines([program], 'gold', 'ptr_X', PERIOD, sales)).toEqual([
      { sourceType: 'volume_tier', sourceId: `prg_V:ptr_X:${PERIOD}`, description: `Volume: 200 bps on ${PERIOD} revenue`, amount: money(12_000, 'USD') },
    ]);
    expect(accrualLines([program], 'gold', 'ptr_X', PERIOD, [sale('D-1', 99_999)])).toEqual([]);

    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 1e12 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 10_000 }), { minLength: 8, maxLength: 8 }),
        fc.nat(),
        (thresholds, rates, pick) => {
          const tiers = [...thresholds].sort((a, b) => a - b).map((t, i) => ({ fromRevenue: money(t, 'USD'), rateBps: rates[i]! }));
          const p: Program = { ...program, volumeTiers: tiers };
          const k = pick % tiers.length;
          const at = tiers[k]!.fromRevenue.amount;
          expect(volumeTierRate(p, money(at, 'USD'))).toBe(tiers[k]!.rateBps);
          expect(volumeTierRate(p, money(at - 1, 'USD'))).toBe(k === 0 ? 0 : tiers[k - 1]!.rateBps);
        },
      ),
    );
  });

  it('eligibility: by tier, and by dates with start and end inclusive', () => {
    const p = rebate(1_000, { startDate: '2024-06-10', endDate: '2024-06-20', eligibleTiers: ['gold', 'platinum'] });
    expect(programApplies(p, 'gold', '2024-06-10')).toBe(true);
    expect(programApplies(p, 'gold', '2024-06-20')).toBe(true);
    expect(programApplies(p, 'gold', '2024-06-09')).toBe(false);
    expect(programApplies(p, 'gold', '2024-06-21')).toBe(false);
    expect(programApplies(p, 'silver', '2024-06-15')).toBe(false);
    expect(programApplies(p, 'registered', '2024-06-15')).toBe(false);
    expect(programApplies(p, 'platinum', '2024-06-15')).toBe(true);
    expect(programApplies({ ...p, eligibleTiers: undefined } as Program, 'registered', '2024-06-15')).toBe(true);

    const sales = ['2024-06-09', '2024-06-10', '2024-06-15', '2024-06-20', '2024-06-21'].map((d, i) => sale(`D-${i}`, 10_000, { closedOn: d }));
    expect(accrualLines([p], 'gold', 'ptr_X', PERIOD, sales).map((l) => l.sourceId)).toEqual(['prg_R:D-1', 'prg_R:D-2', 'prg_R:D-3']);
    expect(accrualLines([p], 'silver', 'ptr_X', PERIOD, sales)).toEqual([]);
    // A single-day program applies on that day.
    expect(accrualLines([{ ...p, endDate: '2024-06-10' }], 'gold', 'ptr_X', PERIOD, sales).map((l) => l.sourceId)).toEqual(['prg_R:D-1']);

    fc.assert(
      fc.property(programArb, tierArb, fc.integer({ min: 0, max: 520 }), (program, tier, offset) => {
        const p2 = { programId: 'prg_Q', ...program } as Program;
        const d = day(offset);
        expect(programApplies(p2, tier, d)).toBe(d >= p2.startDate && d <= p2.endDate && (!p2.eligibleTiers || p2.eligibleTiers.includes(tier)));
      }),
    );
  });
});

// ---------- netting ----------

describe('netting per currency', () => {
  it('each currency total is the sum of its lines; currencies are never mixed; no line is lost', () => {
    fc.assert(
      fc.property(fc.array(lineArb, { maxLength: 60 }), (lines) => {
        const net = netByCurrency(lines);
        expect([...net.keys()].sort()).toEqual([...new Set(lines.map((l) => l.amount.currency))].sort());
        let count = 0;
        for (const [currency, entry] of net) {
          expect(entry.net.currency).toBe(currency);
          expect(entry.lines.every((l) => l.amount.currency === currency)).toBe(true);
          expect(entry.net.amount).toBe(lines.filter((l) => l.amount.currency === currency).reduce((s, l) => s + l.amount.amount, 0));
          expect(entry.lines).toEqual(lines.filter((l) => l.amount.currency === currency));
          count += entry.lines.length;
        }
        expect(count).toBe(lines.length);
      }),
      { numRuns: 300 },
    );
  });

  it('nets the accruals of random programs and sales per program currency', () => {
    fc.assert(
      fc.property(programsArb, tierArb, salesArb, (programs, tier, sales) => {
        const lines = accrualLines(programs, tier, 'ptr_X', PERIOD, sales);
        const net = netByCurrency(lines);
        for (const c of CURRENCIES) {
          const expected = [...oracle(programs, tier, 'ptr_X', PERIOD, sales).values()].filter((m) => m.currency === c).reduce((s, m) => s + m.amount, 0);
          expect(net.get(c)?.net.amount ?? 0).toBe(expected);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('a positive net is paid (HELD without a payee); zero or negative carries forward', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e12, max: 1e12 }), fc.boolean(), (amount, hasPayee) => {
        const status = paymentStatusFor(money(amount, 'USD'), hasPayee);
        expect(status).toBe(amount <= 0 ? 'CARRIED_FORWARD' : hasPayee ? 'PENDING' : 'HELD');
      }),
    );
  });
});

// ---------- ids, cells, periods ----------

describe('late sales and reversals: accruals by difference', () => {
  const netOf = (lines: Line[]) => new Map([...netByCurrency(lines)].map(([c, { net }]) => [c, net.amount]));
  /** Sales split at random into what runs already accrued and a late batch. */
  const splitArb = salesArb.chain((sales) => fc.tuple(fc.constant(sales), fc.array(fc.boolean(), { minLength: sales.length, maxLength: sales.length })));

  it('what was accrued plus the late lines = the accrual of all the sales, per currency (any programs, tier, split)', () => {
    fc.assert(
      fc.property(programsArb, tierArb, splitArb, (programs, tier, [sales, isLate]) => {
        const accrued = sales.filter((_, i) => !isLate[i]);
        const late = sales.filter((_, i) => isLate[i]);
        const lines = lateSaleLines(programs, tier, 'ptr_X', PERIOD, accrued, late);
        const sum = netOf([...accrualLines(programs, tier, 'ptr_X', PERIOD, accrued), ...lines]);
        const all = netOf(accrualLines(programs, tier, 'ptr_X', PERIOD, sales));
        for (const c of CURRENCIES) expect(sum.get(c) ?? 0).toBe(all.get(c) ?? 0);
        // Late lines never reuse an on-time source id (line ids derive from it), and none is zero.
        const onTimeIds = new Set(accrualLines(programs, tier, 'ptr_X', PERIOD, sales).filter((l) => l.sourceType === 'volume_tier').map((l) => l.sourceId));
        for (const l of lines) {
          expect(l.amount.amount).not.toBe(0);
          expect(onTimeIds.has(l.sourceId)).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a late sale lifting the period into a higher volume tier is paid the whole difference', () => {
    const volume: Program = { programId: 'prg_V', name: 'Volume', kind: 'volume_tier', currency: 'USD', startDate: '2024-01-01', endDate: '2024-12-31', volumeTiers: [{ fromRevenue: money(100_000, 'USD'), rateBps: 100 }, { fromRevenue: money(1_000_000, 'USD'), rateBps: 300 }] };
    const onTime = [{ dealId: 'A', closedOn: '2024-06-03', sku: 'HW-9', quantity: 1, revenue: money(900_000, 'USD') }];
    const late = [{ dealId: 'B', closedOn: '2024-06-20', sku: 'HW-9', quantity: 1, revenue: money(200_000, 'USD') }];
    // Accrued: 1% of 900,000 = 9,000; with B: 3% of 1,100,000 = 33,000; late line: 24,000.
    expect(lateSaleLines([volume], 'gold', 'ptr_X', PERIOD, onTime, late)).toEqual([
      { sourceType: 'volume_tier', sourceId: 'prg_V:ptr_X:2024-06:late', description: expect.stringContaining('Late for 2024-06') as string, amount: money(24_000, 'USD') },
    ]);
  });

  it('accrualDifference: after − before per source, sources on one side only included, zero differences left out', () => {
    const l = (sourceId: string, amount: number, currency = 'USD'): Line => ({ sourceType: 'rebate', sourceId, description: sourceId, amount: money(amount, currency) });
    const diff = accrualDifference([l('a', 100), l('b', 50), l('c', 7, 'EUR')], [l('a', 100), l('b', 20), l('d', 5)]);
    expect(diff.map((d) => [d.template.sourceId, d.difference])).toEqual([
      ['b', money(-30, 'USD')],
      ['c', money(-7, 'EUR')],
      ['d', money(5, 'USD')],
    ]);
  });
});

describe('derived ids, CSV cells, periods', () => {
  const ID = /^pay_[0-9A-HJKMNP-TV-Z]{26}$/;
  // Partner ids, currencies and source ids never contain a newline (derivedId joins parts with one).
  const part = fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !s.includes('\n'));

  it('derivedId is stable for the same inputs, a prefixed ULID, and differs for different inputs', () => {
    fc.assert(
      fc.property(fc.constant(null).map(() => newId('payoutRun')), fc.array(part, { minLength: 1, maxLength: 3 }), fc.array(part, { minLength: 1, maxLength: 3 }), (runId, a, b) => {
        const id = derivedId('pay', runId, ...a);
        expect(id).toMatch(ID);
        expect(derivedId('pay', runId, ...a)).toBe(id);
        expect(derivedId('lin', runId, ...a)).toMatch(/^lin_[0-9A-HJKMNP-TV-Z]{26}$/);
        // Same time part as the run, so a run's payments sort together.
        expect(id.slice(4, 14)).toBe(runId.slice(4, 14));
        if (a.join('\n') !== b.join('\n')) expect(derivedId('pay', runId, ...b)).not.toBe(id);
        expect(derivedId('pay', newId('payoutRun'), ...a)).not.toBe(id);
      }),
      { numRuns: 300 },
    );
    const run = newId('payoutRun');
    expect(derivedId('pay', run, 'ptr_A', 'USD')).not.toBe(derivedId('pay', run, 'ptr_A', 'EUR'));
    expect(derivedId('pay', run, 'ptr_A', 'USD')).not.toBe(derivedId('pay', run, 'ptr_B', 'USD'));
  });

  it('neutralises cells a spreadsheet would execute, and leaves normal text alone', () => {
    for (const v of ['=HYPERLINK("http://x","y")', '+IBAN DE00', '-2+3', '@SUM(A1)', '\tx', '\rx', '=', '-']) expect(neutraliseCell(v)).toBe(`'${v}`);
    for (const v of ['Acme GmbH', 'IBAN DE00 1234', '', 'a=b', '100.00', "'quoted", ' =not at start']) expect(neutraliseCell(v)).toBe(v);
    fc.assert(
      fc.property(fc.string(), (v) => {
        const out = neutraliseCell(v);
        if (/^[=+\-@\t\r]/.test(v)) expect(out).toBe(`'${v}`);
        else expect(out).toBe(v);
        expect(/^[=+\-@\t\r]/.test(out)).toBe(false);
      }),
    );
  });

  it('periodBounds covers the whole month', () => {
    expect(periodBounds('2024-02')).toEqual({ start: '2024-02-01', end: '2024-02-29' });
    expect(periodBounds('2023-02')).toEqual({ start: '2023-02-01', end: '2023-02-28' });
    expect(periodBounds('2024-04')).toEqual({ start: '2024-04-01', end: '2024-04-30' });
    expect(periodBounds('2024-12')).toEqual({ start: '2024-12-01', end: '2024-12-31' });
  });
});

describe('confirmationChunks (a payment\'s claims, one transaction a chunk)', () => {
  const claimLine = (i: number, quarter: string) => ({ sourceType: 'mdf_claim' as const, sourceId: `clm_${i}`, budgetPeriod: quarter });
  const itemsOf = (chunk: { sourceId: string; budgetPeriod?: string }[]) => 2 + 3 * chunk.length + new Set(chunk.map((l) => l.budgetPeriod)).size;

  it('every claim in exactly one chunk, each chunk within 100 items, the same chunks every time', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('2026-Q1', '2026-Q2', '2026-Q3', '2025-Q4'), { maxLength: 400 }), (quarters) => {
        const lines = [...quarters.map((q, i) => claimLine(i, q)), { sourceType: 'rebate' as const, sourceId: 'prg:D-1' }];
        const chunks = confirmationChunks(lines, 100);
        expect(chunks.length).toBeGreaterThanOrEqual(1);
        expect(chunks.flat().map((l) => l.sourceId).sort()).toEqual(quarters.map((_, i) => `clm_${i}`).sort());
        for (const chunk of chunks) expect(itemsOf(chunk)).toBeLessThanOrEqual(100);
        expect(confirmationChunks(lines, 100)).toEqual(chunks);
      }),
    );
  });

  it('130 claims of one quarter: 32 a chunk (2 + 32 × 3 + 1 = 99 items), 5 chunks; no claims: one empty chunk', () => {
    const chunks = confirmationChunks(Array.from({ length: 130 }, (_, i) => claimLine(i, '2026-Q1')), 100);
    expect(chunks.map((c) => c.length)).toEqual([32, 32, 32, 32, 2]);
    expect(confirmationChunks([{ sourceType: 'rebate' as const, sourceId: 'x' }], 100)).toEqual([[]]);
  });
});
