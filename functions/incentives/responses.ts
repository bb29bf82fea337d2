import * as z from 'zod';
import { HistorySchema, MoneyOutSchema } from '../core/responses.ts';

export const ProgramCreatedSchema = z.object({ programId: z.string() });

export const ProgramSchema = z
  .object({
    programId: z.string(),
    name: z.string(),
    kind: z.enum(['rebate', 'spiff', 'volume_tier']),
    currency: z.string(),
    startDate: z.string(),
    endDate: z.string(),
    eligibleTiers: z.array(z.string()).optional(),
    rebate: z.object({ rateBps: z.number().int() }).optional(),
    spiff: z.object({ sku: z.string(), amountPerUnit: MoneyOutSchema }).optional(),
    volumeTiers: z.array(z.object({ fromRevenue: MoneyOutSchema, rateBps: z.number().int() })).optional(),
    createdAt: z.string(),
  })
  .meta({ id: 'Program' });

export const ProgramListSchema = z.object({ programs: z.array(ProgramSchema) });

export const SalesResultSchema = z.object({
  accepted: z.number().int(),
  duplicates: z.number().int(),
  duplicateDealIds: z.array(z.string()),
  notAccrued: z.array(z.object({ dealId: z.string(), programId: z.string(), programCurrency: z.string(), reason: z.string() })),
  lateDealIds: z.array(z.string()),
});

export const SaleReversedSchema = z.object({
  dealId: z.string(),
  status: z.literal('REVERSED'),
  clawback: z.array(z.object({ sourceId: z.string(), amount: MoneyOutSchema })),
});

const RunStatusSchema = z.enum(['CALCULATING', 'AWAITING_APPROVAL', 'APPROVED', 'REJECTED', 'PAID', 'FAILED']);

export const RunStartedSchema = z.object({ runId: z.string(), status: z.literal('CALCULATING') });

export const PayoutRunSchema = z
  .object({
    runId: z.string(),
    period: z.string(),
    status: RunStatusSchema,
    totals: z.array(z.object({ currency: z.string(), amount: z.number().int(), payments: z.number().int() })),
    held: z.array(
      z.object({ partnerId: z.string(), currency: z.string(), amount: z.number().int(), reason: z.enum(['no payee reference', 'calculation_error']), detail: z.string().optional() }),
    ),
    createdAt: z.string(),
    history: HistorySchema,
  })
  .meta({ id: 'PayoutRun' });

export const PaymentsResultSchema = z.object({
  runId: z.string(),
  confirmed: z.array(z.string()),
  alreadyPaid: z.array(z.string()),
  unknown: z.array(z.string()),
  notPayable: z.array(z.object({ paymentId: z.string(), status: z.string() })),
  status: RunStatusSchema,
});
