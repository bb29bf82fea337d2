import * as z from 'zod';
import { TIERS } from '../core/config.ts';
import { IsoDateSchema as isoDate, requiredText } from '../core/fields.ts';
import { CurrencySchema, MAX_AMOUNT_MINOR, MoneySchema } from '../core/money.ts';

/** A sale's units: at most 10^7 in one line (a SPIFF per unit times this stays exact). */
export const MAX_QUANTITY = 10_000_000;
/** A SPIFF pays at most 10^8 minor units (1 million USD) a unit, so units × amount stays below 2^53. */
export const MAX_SPIFF_PER_UNIT_MINOR = 100_000_000;
const bps = z.number().int('must be whole basis points').min(0).max(10_000, 'at most 10000 bps (100%)');

export const PROGRAM_KINDS = ['rebate', 'spiff', 'volume_tier'] as const;

export const ProgramInputSchema = z
  .object({
    name: requiredText(200),
    kind: z.enum(PROGRAM_KINDS),
    currency: CurrencySchema,
    startDate: isoDate,
    endDate: isoDate,
    eligibleTiers: z.array(z.enum(TIERS as [string, ...string[]])).min(1).optional(),
    rebate: z.object({ rateBps: bps }).optional(),
    spiff: z
      .object({
        sku: requiredText(100),
        amountPerUnit: MoneySchema.refine((m) => m.amount <= MAX_SPIFF_PER_UNIT_MINOR, { message: `must be at most ${MAX_SPIFF_PER_UNIT_MINOR} minor units a unit`, path: ['amount'] }),
      })
      .optional(),
    volumeTiers: z.array(z.object({ fromRevenue: z.object({ amount: z.number().int().min(0).max(MAX_AMOUNT_MINOR, `must be at most ${MAX_AMOUNT_MINOR} minor units`), currency: CurrencySchema }), rateBps: bps })).min(1).max(20).optional(),
  })
  .superRefine((p, ctx) => {
    if (p.startDate > p.endDate) ctx.addIssue({ code: 'custom', path: ['endDate'], message: 'must not be before startDate' });
    const need = { rebate: 'rebate', spiff: 'spiff', volume_tier: 'volumeTiers' } as const;
    if (p[need[p.kind]] === undefined) ctx.addIssue({ code: 'custom', path: [need[p.kind]], message: `is required for a ${p.kind} program` });
    if (p.spiff && p.spiff.amountPerUnit.currency !== p.currency) ctx.addIssue({ code: 'custom', path: ['spiff', 'amountPerUnit', 'currency'], message: `must be the program currency ${p.currency}` });
    p.volumeTiers?.forEach((t, i) => {
      if (t.fromRevenue.currency !== p.currency) ctx.addIssue({ code: 'custom', path: ['volumeTiers', i, 'fromRevenue', 'currency'], message: `must be the program currency ${p.currency}` });
      const prev = p.volumeTiers![i - 1];
      if (prev && prev.fromRevenue.amount >= t.fromRevenue.amount) ctx.addIssue({ code: 'custom', path: ['volumeTiers', i, 'fromRevenue'], message: 'tiers must be in ascending order of fromRevenue' });
    });
  });
export type ProgramInput = z.infer<typeof ProgramInputSchema>;

export const SaleSchema = z.object({
  dealId: requiredText(128),
  closedOn: isoDate,
  sku: requiredText(100),
  quantity: z.number({ error: 'must be a whole number of units' }).int('must be a whole number of units').positive().max(MAX_QUANTITY, `at most ${MAX_QUANTITY} units in one sale`),
  revenue: MoneySchema,
});
export type SaleInput = z.infer<typeof SaleSchema>;

export const SalesBatchSchema = z.object({ sales: z.array(SaleSchema).min(1, 'at least one sale').max(500, 'at most 500 sales a request') });

export const PayoutRunInputSchema = z.object({
  period: z
    .string()
    .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month YYYY-MM'),
});

export const PaymentsConfirmationSchema = z.object({
  payments: z
    .array(z.object({ paymentId: z.string().min(1).max(40), paidOn: isoDate, bankReference: requiredText(128) }))
    .min(1)
    .max(500),
});
