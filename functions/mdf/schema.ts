import * as z from 'zod';
import { IsoDateSchema as isoDate, requiredText as text } from '../core/fields.ts';
import { MoneySchema } from '../core/money.ts';

export const PeriodSchema = z.string().regex(/^\d{4}-Q[1-4]$/, 'must be a quarter such as 2026-Q4');

export const BudgetInputSchema = z.object({ allocated: MoneySchema });

export const FundRequestInputSchema = z.object({
  activity: z
    .object({ type: text(60), name: text(200), description: text(5000), startDate: isoDate, endDate: isoDate })
    .refine((a) => a.startDate <= a.endDate, { message: 'endDate must not be before startDate', path: ['endDate'] }),
  requested: MoneySchema,
  period: PeriodSchema,
});
export type FundRequestInput = z.infer<typeof FundRequestInputSchema>;

/** A fund request on which changes were requested, sent again whole (the same fields as a submission). */
export const FundRequestResubmissionSchema = FundRequestInputSchema.extend({ comment: z.string().trim().max(2000).optional() });
export type FundRequestResubmission = z.infer<typeof FundRequestResubmissionSchema>;

export const ProofFileSchema = z.object({
  fileName: z.string().trim().min(1).max(200).refine((n) => !/[\\/]/.test(n), 'must be a plain file name'),
  contentType: z.string().regex(/^[\w.+-]+\/[\w.+-]+$/, 'must be a media type such as application/pdf'),
  sha256: z.string().regex(/^[a-f0-9]{64}$/i, 'must be a hex SHA-256'),
  sizeBytes: z.number().int().positive().max(50 * 1024 * 1024, 'files are limited to 50 MiB'),
});

export const ClaimInputSchema = z.object({
  fundRequestId: z.string().regex(/^frq_[0-9A-Z]{26}$/, 'must be a fund request id'),
  invoiceNumber: text(64),
  amount: MoneySchema,
  activityCompletedOn: isoDate,
  proofOfPerformance: z.array(ProofFileSchema).min(1, 'at least one proof file').max(20, 'at most 20 files'),
});
export type ClaimInput = z.infer<typeof ClaimInputSchema>;

export const ClaimResubmissionSchema = z.object({
  amount: MoneySchema.optional(),
  activityCompletedOn: isoDate.optional(),
  proofOfPerformance: z.array(ProofFileSchema).min(1).max(20).optional(),
  comment: z.string().trim().max(2000).optional(),
});
export type ClaimResubmission = z.infer<typeof ClaimResubmissionSchema>;

export const StatusQuerySchema = (statuses: readonly [string, ...string[]]) => z.object({ status: z.enum(statuses).optional() });
