import * as z from 'zod';
import { TIERS } from '../core/config.ts';
import { CurrencySchema, MoneySchema } from '../core/money.ts';

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD')
  .refine((d) => new Date(`${d}T00:00:00Z`).toISOString().startsWith(d), 'is not a real date');
const bps = z.number().int('must be whole basis points').min(0).max(10_000, 'at most 10000 bps (100%)');

export const PROGRAM_KINDS = ['rebate', 'spiff', 'volume_tier'] as const;

export const ProgramInputSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    kind: z.enum(PROGRAM_KINDS),
    currency: CurrencySchema,
    startDate: isoDate,
    endDate: isoDate,
    eligibleTiers: z.array(z.enum(TIERS as [string, ...string[]])).min(1).optional(),
    rebate: z.object({ rateBps: bps }).optional(),
    spiff: z.object({ sku: z.string().trim().min(1).max(100), amountPerUnit: MoneySchema }).optional(),
    volumeTiers: z.array(z.object({ fromRevenue: z.object({ amount: z.number().int().min(0), currency: CurrencySchema }), rateBps: bps })).min(1).max(20).optional(),
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
  dealId: z.string().trim().min(1).max(128),
  closedOn: isoDate,
  sku: z.string().trim().min(1).max(100),
  quantity: z.number().int().positive(),
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
    .array(z.object({ paymentId: z.string().min(1).max(40), paidOn: isoDate, bankReference: z.string().trim().min(1).max(128) }))
    .min(1)
    .max(500),
});
