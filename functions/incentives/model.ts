import { createHash } from 'node:crypto';
import type { Tier } from '../core/config.ts';
import { add, applyBasisPoints, multiply, negate, zero, type Money } from '../core/money.ts';

/**
 * Incentive accrual rules. Rounding, documented once: every line is rounded on its own, half away
 * from zero, to a whole minor unit (applyBasisPoints); totals are sums of rounded lines.
 */
export interface Program {
  programId: string;
  name: string;
  kind: 'rebate' | 'spiff' | 'volume_tier';
  currency: string;
  startDate: string;
  endDate: string;
  eligibleTiers?: Tier[];
  rebate?: { rateBps: number };
  spiff?: { sku: string; amountPerUnit: Money };
  volumeTiers?: { fromRevenue: Money; rateBps: number }[];
}

export interface Sale {
  dealId: string;
  closedOn: string;
  sku: string;
  quantity: number;
  revenue: Money;
}

export type SourceType = 'mdf_claim' | 'rebate' | 'spiff' | 'volume_tier' | 'clawback' | 'carry_forward';

export interface Line {
  sourceType: SourceType;
  sourceId: string;
  description: string;
  amount: Money;
}

/** A program applies to a sale closed within its dates, by a partner of an eligible tier. */
export function programApplies(program: Program, tier: Tier, closedOn: string): boolean {
  if (closedOn < program.startDate || closedOn > program.endDate) return false;
  return !program.eligibleTiers || program.eligibleTiers.includes(tier);
}

export function rebateAccrual(program: Program, sale: Sale): Money | undefined {
  if (program.kind !== 'rebate' || !program.rebate || sale.revenue.currency !== program.currency) return undefined;
  return applyBasisPoints(sale.revenue, program.rebate.rateBps);
}

export function spiffAccrual(program: Program, sale: Sale): Money | undefined {
  if (program.kind !== 'spiff' || !program.spiff || sale.sku !== program.spiff.sku || sale.revenue.currency !== program.currency) return undefined;
  return multiply(program.spiff.amountPerUnit, sale.quantity);
}

/** The rate of the highest tier the period revenue reaches (0 below the first tier). */
export function volumeTierRate(program: Program, periodRevenue: Money): number {
  let rate = 0;
  for (const tier of program.volumeTiers ?? []) if (periodRevenue.amount >= tier.fromRevenue.amount) rate = tier.rateBps;
  return rate;
}

/** Volume tier: the reached tier's rate applied to the whole period revenue, one line per program. */
export function volumeTierAccrual(program: Program, periodRevenue: Money): Money | undefined {
  if (program.kind !== 'volume_tier' || periodRevenue.currency !== program.currency) return undefined;
  return applyBasisPoints(periodRevenue, volumeTierRate(program, periodRevenue));
}

/** Why a sale earns nothing from programs it would otherwise fall under: another currency. */
export function currencyMismatches(programs: Program[], tier: Tier, sale: Sale): { programId: string; programCurrency: string }[] {
  return programs
    .filter((p) => p.kind !== 'spiff' || p.spiff?.sku === sale.sku)
    .filter((p) => programApplies(p, tier, sale.closedOn) && p.currency !== sale.revenue.currency)
    .map((p) => ({ programId: p.programId, programCurrency: p.currency }));
}

/** All incentive lines a partner earns on the sales of one period. */
export function accrualLines(programs: Program[], tier: Tier, partnerId: string, period: string, sales: Sale[]): Line[] {
  const lines: Line[] = [];
  for (const program of programs) {
    const inScope = sales.filter((s) => programApplies(program, tier, s.closedOn));
    if (program.kind === 'volume_tier') {
      const eligible = inScope.filter((s) => s.revenue.currency === program.currency);
      if (!eligible.length) continue;
      const revenue = eligible.reduce((sum, s) => add(sum, s.revenue), zero(program.currency));
      const amount = volumeTierAccrual(program, revenue);
      if (amount && amount.amount !== 0) {
        lines.push({ sourceType: 'volume_tier', sourceId: `${program.programId}:${partnerId}:${period}`, description: `${program.name}: ${volumeTierRate(program, revenue)} bps on ${period} revenue`, amount });
      }
      continue;
    }
    for (const sale of inScope) {
      const amount = program.kind === 'rebate' ? rebateAccrual(program, sale) : spiffAccrual(program, sale);
      if (amount && amount.amount !== 0) {
        lines.push({ sourceType: program.kind, sourceId: `${program.programId}:${sale.dealId}`, description: `${program.name}: deal ${sale.dealId}`, amount });
      }
    }
  }
  return lines;
}

/**
 * What changing a period's sales changes in its accrual: per source, after − before (zero
 * differences left out). `before` and `after` are accrualLines of the same partner and period.
 */
export function accrualDifference(before: Line[], after: Line[]): { template: Line; difference: Money }[] {
  const totals = (lines: Line[]) => {
    const out = new Map<string, { template: Line; total: Money }>();
    for (const l of lines) {
      const entry = out.get(l.sourceId);
      out.set(l.sourceId, entry ? { template: entry.template, total: add(entry.total, l.amount) } : { template: l, total: l.amount });
    }
    return out;
  };
  const was = totals(before);
  const now = totals(after);
  const out: { template: Line; difference: Money }[] = [];
  for (const sourceId of new Set([...was.keys(), ...now.keys()])) {
    const a = was.get(sourceId);
    const b = now.get(sourceId);
    const currency = (a ?? b)!.total.currency;
    const difference = add(b?.total ?? zero(currency), negate(a?.total ?? zero(currency)));
    if (difference.amount !== 0) out.push({ template: (b ?? a)!.template, difference });
  }
  return out;
}

/**
 * A sale posted after its period's payout run started is "late": the next run accrues it, as the
 * difference it makes on top of what the period has accrued already (`accrued`: its sales that a
 * run took). Rebates and SPIFFs are the late sales' own lines; a volume tier is the change in the
 * period's accrual (a late sale may lift the whole period into a higher tier). The volume-tier line
 * gets its own source id so it never collides with an on-time line for the same period.
 */
export function lateSaleLines(programs: Program[], tier: Tier, partnerId: string, period: string, accrued: Sale[], late: Sale[]): Line[] {
  const before = accrualLines(programs, tier, partnerId, period, accrued);
  const after = accrualLines(programs, tier, partnerId, period, [...accrued, ...late]);
  return accrualDifference(before, after).map(({ template, difference }) => ({
    sourceType: template.sourceType,
    sourceId: template.sourceType === 'volume_tier' ? `${template.sourceId}:late` : template.sourceId,
    description: `Late for ${period}: ${template.description}`,
    amount: difference,
  }));
}

/** Lines netted per currency; currencies are never added together. */
export function netByCurrency(lines: Line[]): Map<string, { net: Money; lines: Line[] }> {
  const out = new Map<string, { net: Money; lines: Line[] }>();
  for (const line of lines) {
    const entry = out.get(line.amount.currency) ?? { net: zero(line.amount.currency), lines: [] };
    entry.net = add(entry.net, line.amount);
    entry.lines.push(line);
    out.set(line.amount.currency, entry);
  }
  return out;
}

/**
 * A payment's MDF claim lines, split into the chunks its confirmation commits one transaction each
 * (of at most `maxItems` items): per claim 3 items (the claim PAID, its audit entry, its due entry
 * deleted), per budget quarter in the chunk 1 (its `paid` moved by the chunk's sum), and 2 kept in
 * every chunk for the payment and the run. Deterministic (the lines' order, grouped by budget
 * quarter), so a retry cuts the same chunks. Always at least one chunk (possibly empty).
 */
export function confirmationChunks<T extends { sourceType: SourceType; budgetPeriod?: string }>(lines: T[], maxItems: number): T[][] {
  const claims = lines.filter((l) => l.sourceType === 'mdf_claim');
  const ordered = [...new Set(claims.map((l) => l.budgetPeriod))].flatMap((q) => claims.filter((l) => l.budgetPeriod === q));
  const chunks: T[][] = [];
  let chunk: T[] = [];
  let items = 2;
  for (const line of ordered) {
    const cost = (c: T[]) => 3 + (c.some((l) => l.budgetPeriod === line.budgetPeriod) ? 0 : 1);
    if (chunk.length && items + cost(chunk) > maxItems) {
      chunks.push(chunk);
      chunk = [];
      items = 2;
    }
    items += cost(chunk);
    chunk.push(line);
  }
  chunks.push(chunk);
  return chunks;
}

export type PaymentStatus = 'PENDING' | 'PAID' | 'HELD' | 'CARRIED_FORWARD';

/** Positive nets are paid (or HELD without a payee); zero or negative nets carry forward to the next run. */
export function paymentStatusFor(net: Money, hasPayee: boolean): PaymentStatus {
  if (net.amount <= 0) return 'CARRIED_FORWARD';
  return hasPayee ? 'PENDING' : 'HELD';
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A prefixed ULID derived from the run and the thing it names, so that a page processed twice
 * produces the same payment and line ids (and the conditional writes add nothing the second time).
 */
export function derivedId(prefix: 'pay' | 'lin', runId: string, ...parts: string[]): string {
  const time = runId.slice(runId.indexOf('_') + 1, runId.indexOf('_') + 11);
  const digest = createHash('sha256').update([runId, ...parts].join('\n')).digest();
  let random = '';
  for (let i = 0; i < 16; i++) random += CROCKFORD[digest[i]! % 32];
  return `${prefix}_${time}${random}`;
}

/** Spreadsheets execute cells that begin with = + - @ (or tab/CR): prefix those with a quote. */
export function neutraliseCell(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

export function periodBounds(period: string): { start: string; end: string } {
  const [y, m] = period.split('-').map(Number) as [number, number];
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return { start: `${period}-01`, end: `${period}-${String(last).padStart(2, '0')}` };
}

export function previousMonth(now = new Date()): string {
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  return d.toISOString().slice(0, 7);
}
