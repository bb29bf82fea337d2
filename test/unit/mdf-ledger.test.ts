import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type Tier } from '../../functions/core/config.ts';
import { money } from '../../functions/core/money.ts';
import { available, claimRoute, claimWindowOpen, fundRequestRefusal, ledgerHolds, LedgerRefusal, pay, reallocate, reserve, settle, type Ledger } from '../../functions/mdf/model.ts';

/**
 * The budget ledger's pure rules (functions/mdf/model.ts) under random sequences of operations.
 *
 * Alongside the ledger the test keeps the fund requests' running figures the way store.ts moves them
 * (approvedAmount = claimed + inClaim + remaining): a claim takes from `remaining` into `inClaim`; an
 * approval (possibly partial) moves the approved part to `claimed` and settles it in the ledger
 * (reserved → approved), the rest back to `remaining`; a rejection ("release") returns the whole
 * in-claim amount to `remaining` and leaves the ledger alone. So, always:
 *   reserved = Σ (remaining + inClaim)   approved = Σ claimed   paid ≤ approved.
 * model.ts has no release function of its own: a reservation only ever leaves `reserved` by settle.
 */

interface Frq {
  approvedAmount: number;
  claimed: number;
  inClaim: number;
  remaining: number;
  /** Open claims' amounts (taken from `remaining`, not yet decided). */
  claims: number[];
}

interface World {
  ledger: Ledger;
  frqs: Frq[];
}

type Op =
  | { kind: 'allocate'; amount: number }
  | { kind: 'reserve'; amount: number }
  | { kind: 'claim'; frq: number; share: number }
  | { kind: 'settle'; frq: number; claim: number; share: number }
  | { kind: 'settle_over'; extra: number }
  | { kind: 'release'; frq: number; claim: number }
  | { kind: 'pay'; share: number; extra: number };

const MAX = 10_000_000;
const share = fc.double({ min: 0, max: 1, noNaN: true });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('allocate' as const), amount: fc.integer({ min: 0, max: MAX }) }),
  { arbitrary: fc.record({ kind: fc.constant('reserve' as const), amount: fc.integer({ min: 1, max: MAX / 2 }) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('claim' as const), frq: fc.nat(), share }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('settle' as const), frq: fc.nat(), claim: fc.nat(), share }), weight: 3 },
  fc.record({ kind: fc.constant('settle_over' as const), extra: fc.integer({ min: 1, max: MAX }) }),
  fc.record({ kind: fc.constant('release' as const), frq: fc.nat(), claim: fc.nat() }),
  { arbitrary: fc.record({ kind: fc.constant('pay' as const), share, extra: fc.integer({ min: 0, max: 3 }) }), weight: 2 },
);

const committed = (l: Ledger) => l.reserved + l.approved;
const unpaid = (l: Ledger) => l.approved - l.paid;

/** How often each outcome happened over all runs, so the test can tell it exercised every rule. */
const outcomes = new Map<string, number>();
const tally = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);

/** Runs `fn`; a LedgerRefusal must leave the ledger exactly as it was and carry the expected code. */
function attempt(name: string, ledger: Ledger, fn: (l: Ledger) => Ledger, refusedWith: LedgerRefusal['code'] | null): Ledger {
  const before = structuredClone(ledger);
  tally(refusedWith ?? `ok:${name}`);
  if (refusedWith) {
    let thrown: unknown;
    try {
      fn(ledger);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(LedgerRefusal);
    expect((thrown as LedgerRefusal).code).toBe(refusedWith);
    expect(ledger).toEqual(before);
    return ledger;
  }
  const next = fn(ledger);
  expect(ledger, 'the pure functions never mutate their input').toEqual(before);
  return next;
}

function apply(world: World, o: Op): World {
  const l = world.ledger;
  const frqs = world.frqs.map((f) => ({ ...f, claims: [...f.claims] }));
  switch (o.kind) {
    case 'allocate': {
      const next = attempt('reallocate', l, (x) => reallocate(x, o.amount), o.amount < committed(l) ? 'budget_below_committed' : null);
      return { ledger: next, frqs };
    }
    case 'reserve': {
      // A fund request approved for `amount`: refused (insufficient_budget) when the budget has no room.
      const refused = o.amount > available(l);
      const next = attempt('reserve', l, (x) => reserve(x, o.amount), refused ? 'insufficient_budget' : null);
      if (!refused) frqs.push({ approvedAmount: o.amount, claimed: 0, inClaim: 0, remaining: o.amount, claims: [] });
      return { ledger: next, frqs };
    }
    case 'claim': {
      const f = frqs.length ? frqs[o.frq % frqs.length]! : undefined;
      if (!f || f.remaining === 0) return { ledger: l, frqs };
      const amount = Math.max(1, Math.floor(f.remaining * o.share));
      f.remaining -= amount;
      f.inClaim += amount;
      f.claims.push(amount);
      return { ledger: l, frqs };
    }
    case 'settle': {
      // A claim approved, possibly for less: at most what its fund request reserved for it.
      const withClaims = frqs.filter((f) => f.claims.length);
      const f = withClaims.length ? withClaims[o.frq % withClaims.length]! : undefined;
      if (!f) return { ledger: l, frqs };
      const index = o.claim % f.claims.length;
      const claimed = f.claims[index]!;
      const approved = Math.max(1, Math.round(claimed * o.share));
      const next = attempt('settle', l, (x) => settle(x, approved), null);
      f.claims.splice(index, 1);
      f.inClaim -= claimed;
      f.claimed += approved;
      f.remaining += claimed - approved;
      return { ledger: next, frqs };
    }
    case 'settle_over': {
      // Settling more than is reserved is always refused.
      attempt('settle', l, (x) => settle(x, x.reserved + o.extra), 'over_release');
      return { ledger: l, frqs };
    }
    case 'release': {
      // A claim rejected: its amount returns to the fund request; the budget does not move.
      const withClaims = frqs.filter((f) => f.claims.length);
      const f = withClaims.length ? withClaims[o.frq % withClaims.length]! : undefined;
      if (!f) return { ledger: l, frqs };
      const [amount] = f.claims.splice(o.claim % f.claims.length, 1);
      tally('ok:release');
      f.inClaim -= amount!;
      f.remaining += amount!;
      return { ledger: l, frqs };
    }
    case 'pay': {
      // Pays part of what is unpaid, or (extra > 0) more than is unpaid, which is refused.
      const amount = o.extra ? unpaid(l) + o.extra : Math.floor(unpaid(l) * o.share);
      const next = attempt('pay', l, (x) => pay(x, amount), amount > unpaid(l) ? 'over_payment' : null);
      return { ledger: next, frqs };
    }
  }
}

function checkWorld(world: World) {
  const l = world.ledger;
  expect(ledgerHolds(l), JSON.stringify(l)).toBe(true);
  expect(available(l)).toBeGreaterThanOrEqual(0);
  expect(available(l)).toBe(l.allocated - l.reserved - l.approved);
  expect(l.paid).toBeLessThanOrEqual(l.approved);
  expect(l.paid).toBeGreaterThanOrEqual(0);
  expect(l.reserved).toBe(world.frqs.reduce((s, f) => s + f.remaining + f.inClaim, 0));
  expect(l.approved).toBe(world.frqs.reduce((s, f) => s + f.claimed, 0));
  for (const f of world.frqs) {
    expect(f.claimed + f.inClaim + f.remaining).toBe(f.approvedAmount);
    expect(Math.min(f.claimed, f.inClaim, f.remaining)).toBeGreaterThanOrEqual(0);
    expect(f.inClaim).toBe(f.claims.reduce((s, c) => s + c, 0));
  }
}

describe('MDF budget ledger (pure rules)', () => {
  it('keeps the invariant at every step of random allocate / reserve / claim / settle / release / pay sequences', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX }), fc.array(op, { minLength: 1, maxLength: 80, size: 'max' }), (initial, ops) => {
        let world: World = { ledger: reallocate({ allocated: 0, reserved: 0, approved: 0, paid: 0 }, initial), frqs: [] };
        checkWorld(world);
        for (const o of ops) {
          world = apply(world, o);
          checkWorld(world);
        }
      }),
      { numRuns: 400 },
    );
    for (const key of ['ok:reallocate', 'ok:reserve', 'ok:settle', 'ok:release', 'ok:pay', 'insufficient_budget', 'budget_below_committed', 'over_release', 'over_payment']) {
      expect(outcomes.get(key) ?? 0, `${key} never happened: ${JSON.stringify([...outcomes])}`).toBeGreaterThan(50);
    }
  });

  it('refusals carry their code and change nothing', () => {
    const l: Ledger = { allocated: 1_000, reserved: 300, approved: 200, paid: 50 };
    const snapshot = { ...l };
    const refused = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        expect(error).toBeInstanceOf(LedgerRefusal);
        return (error as LedgerRefusal).code;
      }
      throw new Error('not refused');
    };
    expect(refused(() => reserve(l, 501))).toBe('insufficient_budget');
    expect(refused(() => settle(l, 301))).toBe('over_release');
    expect(refused(() => pay(l, 151))).toBe('over_payment');
    expect(refused(() => reallocate(l, 499))).toBe('budget_below_committed');
    expect(l).toEqual(snapshot);

    // The edges are allowed.
    expect(reserve(l, 500)).toEqual({ ...l, reserved: 800 });
    expect(available(reserve(l, 500))).toBe(0);
    expect(settle(l, 300)).toEqual({ ...l, reserved: 0, approved: 500 });
    expect(pay(l, 150)).toEqual({ ...l, paid: 200 });
    expect(reallocate(l, 500)).toEqual({ ...l, allocated: 500 });
  });

  it('reserve is refused exactly when the amount is above what is available', () => {
    fc.assert(
      fc.property(
        fc.record({ allocated: fc.integer({ min: 0, max: MAX }), reserved: fc.integer({ min: 0, max: MAX }), approved: fc.integer({ min: 0, max: MAX }) }).filter((l) => l.allocated >= l.reserved + l.approved),
        fc.integer({ min: 1, max: MAX }),
        (partial, amount) => {
          const l: Ledger = { ...partial, paid: 0 };
          if (amount > available(l)) expect(() => reserve(l, amount)).toThrow(LedgerRefusal);
          else expect(available(reserve(l, amount))).toBe(available(l) - amount);
        },
      ),
    );
  });
});

describe('claimRoute (default configuration)', () => {
  const usd = (amount: number) => money(amount, 'USD');
  const route = (amount: number, tier: Tier, currency = 'USD') => claimRoute(money(amount, currency), tier, DEFAULT_CONFIG);

  it('routes by amount and tier at the exact thresholds', () => {
    expect(DEFAULT_CONFIG.claims.autoApproveMaxAmount).toBe(50_000);
    expect(DEFAULT_CONFIG.claims.singleApprovalMaxAmount).toBe(1_000_000);
    expect(claimRoute(usd(50_000), 'gold', DEFAULT_CONFIG)).toBe('auto'); // 500.00
    expect(route(50_000, 'platinum')).toBe('auto');
    expect(route(1, 'gold')).toBe('auto');
    expect(route(50_001, 'gold')).toBe('single'); // 500.01
    expect(route(1_000_000, 'gold')).toBe('single'); // 10,000.00
    expect(route(1_000_001, 'gold')).toBe('two_level'); // 10,000.01
    expect(route(1_000_001, 'platinum')).toBe('two_level');
  });

  it('never auto-approves silver or registered partners', () => {
    expect(route(100, 'silver')).toBe('single'); // 1.00
    expect(route(1, 'registered')).toBe('single');
    expect(route(50_000, 'silver')).toBe('single');
    expect(route(1_000_000, 'registered')).toBe('single');
    expect(route(1_000_001, 'silver')).toBe('two_level');
  });

  it('sends a claim in another currency than the budget to two approvers', () => {
    expect(route(100, 'gold', 'EUR')).toBe('two_level');
    expect(route(100, 'silver', 'EUR')).toBe('two_level');
    expect(route(1_000, 'platinum', 'JPY')).toBe('two_level');
  });
});

describe('claimWindowOpen', () => {
  const window = DEFAULT_CONFIG.claims.windowDays;
  it('is open through day 60 after the activity ends and closed from day 61', () => {
    expect(window).toBe(60);
    expect(claimWindowOpen('2026-01-01', '2026-01-01', window)).toBe(true); // day 0
    expect(claimWindowOpen('2026-01-01', '2026-03-02', window)).toBe(true); // day 60
    expect(claimWindowOpen('2026-01-01', '2026-03-03', window)).toBe(false); // day 61
    // Across a leap day and a year end.
    expect(claimWindowOpen('2024-01-15', '2024-03-15', window)).toBe(true); // day 60 (29 Feb)
    expect(claimWindowOpen('2024-01-15', '2024-03-16', window)).toBe(false);
    expect(claimWindowOpen('2025-12-01', '2026-01-30', window)).toBe(true);
    expect(claimWindowOpen('2025-12-01', '2026-01-31', window)).toBe(false);
  });

  it('agrees with counting days, for any end date and offset', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: -5, max: 200 }), (endDay, offset) => {
        const day = (n: number) => new Date(Date.UTC(2000, 0, 1) + n * 86_400_000).toISOString().slice(0, 10);
        expect(claimWindowOpen(day(endDay), day(endDay + offset), window)).toBe(offset <= window);
      }),
    );
  });
});

describe('fundRequestRefusal (submission and resubmission alike)', () => {
  const budget = { allocated: 1_000, reserved: 300, approved: 200, paid: 0, currency: 'USD' };
  const ask = (amount: number, currency = 'USD') => ({ requested: { amount, currency }, period: '2026-Q4' });

  it('takes up to what is available, refuses more, another currency, or a quarter without budget', () => {
    expect(fundRequestRefusal(ask(500), budget)).toBeUndefined();
    expect(fundRequestRefusal(ask(501), budget)).toMatchObject({ status: 409, code: 'insufficient_budget' });
    expect(fundRequestRefusal(ask(10, 'EUR'), budget)).toMatchObject({ status: 400, code: 'currency_mismatch' });
    expect(fundRequestRefusal(ask(10), undefined)).toMatchObject({ status: 409, code: 'insufficient_budget' });
  });
});
