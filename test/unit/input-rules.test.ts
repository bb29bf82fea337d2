import { describe, expect, it } from 'vitest';
import { IsoDateSchema } from '../../functions/core/fields.ts';
import { MAX_AMOUNT_MINOR, SignedMoneySchema } from '../../functions/core/money.ts';
import { canonicalIdentifier, findUnsafeText, unsafeTextReason } from '../../functions/core/text.ts';
import { normaliseDomain, normaliseEmail, normaliseTaxId } from '../../functions/applications/model.ts';
import { claimRefusal, normaliseInvoice } from '../../functions/mdf/model.ts';
import { dealKey } from '../../functions/incentives/store.ts';
import { SaleSchema } from '../../functions/incentives/schema.ts';

describe('IsoDateSchema: one date rule for every date field', () => {
  it.each(['2026-13-01', '2026-02-30', '2026-2-3', '', '2026-02-03T00:00:00Z', '0999-01-01', ' 2026-02-03', '2026-00-10', 20260203, null])('refuses %j', (value) => {
    expect(IsoDateSchema.safeParse(value).success).toBe(false);
  });
  it.each(['2026-02-28', '2024-02-29', '2026-12-31', '1999-01-01'])('accepts %s', (value) => {
    expect(IsoDateSchema.parse(value)).toBe(value);
  });
  it('never throws, whatever it is given', () => {
    for (const v of ['9999-99-99', '2026-02-29', 'x'.repeat(10_000), {}, [], 1.5]) expect(() => IsoDateSchema.safeParse(v)).not.toThrow();
  });
});

describe('text rules', () => {
  it.each([
    ['NUL', 'INV\u0000-1'],
    ['a C0 control', 'a\u0007b'],
    ['DEL', 'a\u007fb'],
    ['a C1 control', 'a\u0085b'],
    ['a bidi override', 'INV-\u202E1-VNI'],
    ['a bidi isolate', '\u2066x\u2069'],
    ['a lone high surrogate', 'x\uD83D'],
    ['a lone low surrogate', '\uDE00x'],
  ])('refuses %s', (_what, text) => {
    expect(unsafeTextReason(text)).toBeDefined();
  });
  it('accepts tabs, line breaks, accents, CJK and emoji (a surrogate pair)', () => {
    expect(unsafeTextReason('Line 1\r\n\tLine 2 — Müller 東京 🎉')).toBeUndefined();
  });
  it('finds the first bad string anywhere in a body, keys included, with its path', () => {
    expect(findUnsafeText({ a: [{ ok: 'x' }, { b: 'y\u0000' }] })).toEqual({ path: 'a.1.b', message: expect.stringContaining('U+0000') });
    expect(findUnsafeText({ ['k\u202E']: 1 })?.path).toBe('k\u202E');
    expect(findUnsafeText({ a: 1, b: [true, null, 'fine'] })).toBeUndefined();
  });
});

describe('canonical identifiers: look-alikes collide', () => {
  it('invoice numbers: fullwidth, Unicode dashes, zero-width and soft hyphens, case, spaces', () => {
    const plain = normaliseInvoice('INV-2026-001');
    for (const lookAlike of ['ＩＮＶ－２０２６－００１', 'inv\u20102026\u2013001', 'INV-2026\u200B-001', 'INV-20\u00AD26-001', ' inv - 2026 - 001 ', 'INV\u22122026\u2212001']) {
      expect(normaliseInvoice(lookAlike)).toBe(plain);
    }
    expect(normaliseInvoice('INV-2026-002')).not.toBe(plain);
  });
  it('deal ids, tax ids, domains and emails', () => {
    expect(dealKey('ｄ‐１')).toBe(dealKey('D-1'));
    expect(normaliseTaxId('DE\u200B123 456-789')).toBe(normaliseTaxId('de123456789'));
    expect(normaliseDomain('ＡＣＭＥ.example')).toBe(normaliseDomain('acme.example'));
    expect(normaliseEmail('Ａlice@Example.COM')).toBe(normaliseEmail('alice@example.com'));
    expect(canonicalIdentifier('Straße')).toBe(canonicalIdentifier('STRASSE'));
  });
});

describe('bounds on partner-controlled numbers', () => {
  const amount = SignedMoneySchema;
  it('amounts: ±10^12 minor units, integers only', () => {
    expect(amount.safeParse({ amount: MAX_AMOUNT_MINOR, currency: 'USD' }).success).toBe(true);
    expect(amount.safeParse({ amount: MAX_AMOUNT_MINOR + 1, currency: 'USD' }).success).toBe(false);
    expect(amount.safeParse({ amount: Number.MAX_SAFE_INTEGER, currency: 'USD' }).success).toBe(false);
    expect(amount.safeParse({ amount: 1.5, currency: 'USD' }).success).toBe(false);
  });
  it('a sale: quantity at most 10^7, revenue within the amount bound', () => {
    const sale = { dealId: 'D-1', closedOn: '2026-11-02', sku: 'HW-1', quantity: 10_000_000, revenue: { amount: 1_000, currency: 'USD' } };
    expect(SaleSchema.safeParse(sale).success).toBe(true);
    expect(SaleSchema.safeParse({ ...sale, quantity: 10_000_001 }).success).toBe(false);
    expect(SaleSchema.safeParse({ ...sale, revenue: { amount: 2 ** 52, currency: 'USD' } }).success).toBe(false);
    expect(SaleSchema.safeParse({ ...sale, closedOn: '2026-11-31' }).success).toBe(false);
  });
});

describe('claimRefusal: one rule for submission and resubmission', () => {
  const frq = { fundRequestId: 'frq_1', requested: { amount: 10_000, currency: 'USD' }, activity: { startDate: '2026-10-01', endDate: '2026-10-31' } };
  const ctx = { today: '2026-11-15', windowDays: 60, claimable: 10_000, resubmission: false };
  const claim = (activityCompletedOn: string, amount = 5_000, currency = 'USD') => ({ amount: { amount, currency }, activityCompletedOn });

  it.each([false, true])('resubmission=%s: a future completion date, a date before the start, another currency, too much are refused', (resubmission) => {
    const c = { ...ctx, resubmission };
    expect(claimRefusal(claim('2026-11-16'), frq, c)?.code).toBe('activity_not_completed');
    expect(claimRefusal(claim('2026-09-30'), frq, c)?.code).toBe('activity_before_start');
    expect(claimRefusal(claim('2026-10-31', 5_000, 'EUR'), frq, c)?.code).toBe('currency_mismatch');
    expect(claimRefusal(claim('2026-10-31', 10_001), frq, c)).toMatchObject({ status: 409, code: 'amount_exceeds_remaining' });
    expect(claimRefusal(claim('2026-10-31'), frq, c)).toBeUndefined();
  });
  it('the claim window binds the first submission only', () => {
    const late = { ...ctx, today: '2027-01-15' };
    expect(claimRefusal(claim('2026-10-31'), frq, late)?.code).toBe('claim_window_closed');
    expect(claimRefusal(claim('2026-10-31'), frq, { ...late, resubmission: true })).toBeUndefined();
  });
});
