import { describe, expect, it } from 'vitest';
import { normaliseDomain, normaliseTaxId, quarterOf, taxKey, tierForRevenue } from '../../functions/applications/model.ts';
import { DEFAULT_CONFIG } from '../../functions/core/config.ts';
import { money } from '../../functions/core/money.ts';

describe('application rules', () => {
  it('normalises website domains', () => {
    expect(normaliseDomain('https://WWW.Acme.com/about?x=1')).toBe('acme.com');
    expect(normaliseDomain('acme.com')).toBe('acme.com');
    expect(normaliseDomain('http://shop.acme.com:8080')).toBe('shop.acme.com');
    expect(normaliseDomain('www.acme.com.')).toBe('acme.com');
  });

  it('normalises tax ids within a country', () => {
    expect(normaliseTaxId('12-345 678.9')).toBe('123456789');
    expect(taxKey('us', '12-3456789')).toBe(taxKey('US', '123456789'));
    expect(taxKey('US', '123')).not.toBe(taxKey('CA', '123'));
  });

  it('maps projected revenue to the highest tier reached', () => {
    const tier = (amount: number, currency = 'USD') => tierForRevenue(money(amount, currency), DEFAULT_CONFIG);
    expect(tier(1)).toBe('registered');
    expect(tier(24_999_999)).toBe('registered');
    expect(tier(25_000_000)).toBe('silver');
    expect(tier(100_000_000)).toBe('gold');
    expect(tier(499_999_999)).toBe('gold');
    expect(tier(500_000_000)).toBe('platinum');
    expect(tier(900_000_000, 'EUR')).toBe('registered');
  });

  it('names budget quarters', () => {
    expect(quarterOf(new Date('2026-01-01T00:00:00Z'))).toBe('2026-Q1');
    expect(quarterOf(new Date('2026-11-27T12:00:00Z'))).toBe('2026-Q4');
    expect(quarterOf(new Date('2026-06-30T23:59:59Z'))).toBe('2026-Q2');
  });
});
