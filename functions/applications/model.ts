import { TIERS, type PrmConfig, type Tier } from '../core/config.ts';
import type { Money } from '../core/money.ts';
import { canonicalIdentifier } from '../core/text.ts';

export type ApplicationStatus = 'SUBMITTED' | 'AWAITING_APPROVAL' | 'APPROVED' | 'REJECTED' | 'EXPIRED' | 'FAILED';
export const OPEN_STATUSES: readonly ApplicationStatus[] = ['SUBMITTED', 'AWAITING_APPROVAL'];

/** Lower-case host without scheme, port, path or a leading "www.": "https://WWW.Acme.com/x" → "acme.com". */
export function normaliseDomain(website: string): string {
  const withoutScheme = canonicalIdentifier(website).replace(/^[a-z]+:\/\//, '');
  const host = withoutScheme.split(/[/?#]/)[0]!.split('@').pop()!.split(':')[0]!;
  return host.replace(/^www\./, '').replace(/\.$/, '');
}

/** Tax ids compare without spaces, dashes, dots or case, within one country: "12-345 678" ≡ "12345678". */
export function normaliseTaxId(taxId: string): string {
  return canonicalIdentifier(taxId).toUpperCase().replace(/[^A-Z0-9]/g, '');
}

/** Emails compare canonically: "Ada@ＡＣＭＥ.example" ≡ "ada@acme.example". */
export const normaliseEmail = (email: string) => canonicalIdentifier(email);

export function taxKey(country: string, taxId: string): string {
  return `${country.toUpperCase()}#${normaliseTaxId(taxId)}`;
}

/** The highest tier whose threshold the projected revenue reaches; other currencies start at the lowest tier. */
export function tierForRevenue(revenue: Money, cfg: Pick<PrmConfig, 'tierThresholds' | 'budgetCurrency'>): Tier {
  if (revenue.currency !== cfg.budgetCurrency) return TIERS[0]!;
  let tier: Tier = TIERS[0]!;
  for (const threshold of [...cfg.tierThresholds].sort((a, b) => a.fromAnnualRevenue - b.fromAnnualRevenue)) {
    if (revenue.amount >= threshold.fromAnnualRevenue) tier = threshold.tier;
  }
  return tier;
}

/** MDF budget periods are calendar quarters: "2026-Q4". */
export function quarterOf(date: Date): string {
  return `${date.getUTCFullYear()}-Q${Math.floor(date.getUTCMonth() / 3) + 1}`;
}

export interface DuplicateFinding {
  kind: 'partner' | 'application';
  id: string;
  matchedOn: 'taxId' | 'domain';
}

export function duplicateComment(d: DuplicateFinding): string {
  const what = d.kind === 'partner' ? `existing partner ${d.id}` : `open application ${d.id}`;
  return `Duplicate of ${what} (same ${d.matchedOn === 'taxId' ? 'tax id and country' : 'website domain'})`;
}
