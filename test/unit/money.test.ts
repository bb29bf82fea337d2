import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { add, applyBasisPoints, formatDecimal, formatDisplay, money, MoneyError, MoneySchema, parseDecimal, subtract, sum } from '../../functions/core/money.ts';

describe('money', () => {
  it('uses the ISO 4217 exponent of each currency', () => {
    expect(formatDecimal(money(125000, 'USD'))).toBe('1250.00');
    expect(formatDecimal(money(125000, 'JPY'))).toBe('125000');
    expect(formatDecimal(money(1, 'BHD'))).toBe('0.001');
    expect(formatDecimal(money(-5, 'EUR'))).toBe('-0.05');
    expect(formatDisplay(money(123456789, 'USD'))).toBe('1,234,567.89 USD');
  });

  it('parses decimal strings into minor units and refuses extra digits', () => {
    expect(parseDecimal('1250.5', 'USD')).toEqual({ amount: 125050, currency: 'USD' });
    expect(parseDecimal('7', 'JPY')).toEqual({ amount: 7, currency: 'JPY' });
    expect(() => parseDecimal('1.234', 'USD')).toThrow(MoneyError);
    expect(() => parseDecimal('1.5', 'JPY')).toThrow(MoneyError);
    expect(() => parseDecimal('abc', 'USD')).toThrow(MoneyError);
    expect(() => parseDecimal('99999999999999999', 'USD')).toThrow(/safe integer/);
  });

  it('round-trips every safe amount through its decimal string', () => {
    fc.assert(
      fc.property(fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }), fc.constantFrom('USD', 'JPY', 'BHD'), (amount, currency) => {
        expect(parseDecimal(formatDecimal(money(amount, currency)), currency)).toEqual({ amount, currency });
      }),
    );
  });

  it('refuses floats, unknown currencies, mixed currencies and overflow', () => {
    expect(() => money(1.5, 'USD')).toThrow(/not an integer/);
    expect(() => money(1, 'XYZ')).toThrow(/Unknown currency/);
    expect(() => add(money(1, 'USD'), money(1, 'EUR'))).toThrow(/Cannot combine USD with EUR/);
    expect(() => sum([money(1, 'USD'), money(1, 'EUR')], 'USD')).toThrow(MoneyError);
    expect(() => add(money(Number.MAX_SAFE_INTEGER, 'USD'), money(1, 'USD'))).toThrow(/safe integer/);
    expect(subtract(money(5, 'USD'), money(7, 'USD'))).toEqual({ amount: -2, currency: 'USD' });
  });

  it('rounds basis-point shares half away from zero, per line', () => {
    expect(applyBasisPoints(money(10050, 'USD'), 250).amount).toBe(251); // 251.25 → 251
    expect(applyBasisPoints(money(10, 'USD'), 5000).amount).toBe(5);
    expect(applyBasisPoints(money(1, 'USD'), 5000).amount).toBe(1); // 0.5 → 1
    expect(applyBasisPoints(money(-1, 'USD'), 5000).amount).toBe(-1); // -0.5 → -1
    expect(applyBasisPoints(money(3, 'USD'), 1666).amount).toBe(0); // 0.4998 → 0
    fc.assert(
      fc.property(fc.integer({ min: -1e12, max: 1e12 }), fc.integer({ min: 0, max: 10_000 }), (amount, bps) => {
        const share = applyBasisPoints(money(amount, 'USD'), bps).amount;
        expect(Number.isInteger(share)).toBe(true);
        expect(Math.abs(share - (amount * bps) / 10_000)).toBeLessThanOrEqual(0.5);
        expect(applyBasisPoints(money(-amount, 'USD'), bps).amount).toBe(-share || 0);
      }),
    );
  });

  it('validates request money: positive integer minor units in a known currency', () => {
    expect(MoneySchema.safeParse({ amount: 100, currency: 'USD' }).success).toBe(true);
    expect(MoneySchema.safeParse({ amount: 10.5, currency: 'USD' }).success).toBe(false);
    expect(MoneySchema.safeParse({ amount: 0, currency: 'USD' }).success).toBe(false);
    expect(MoneySchema.safeParse({ amount: -1, currency: 'USD' }).success).toBe(false);
    expect(MoneySchema.safeParse({ amount: 1, currency: 'usd' }).success).toBe(false);
    expect(MoneySchema.safeParse({ amount: 1, currency: 'ABC' }).success).toBe(false);
    expect(MoneySchema.safeParse({ amount: 2 ** 60, currency: 'USD' }).success).toBe(false);
  });
});
