import * as z from 'zod';
import { HistorySchema, MoneyOutSchema } from '../core/responses.ts';

export const BudgetViewSchema = z
  .object({
    partnerId: z.string(),
    period: z.string(),
    allocated: MoneyOutSchema,
    reserved: MoneyOutSchema,
    approved: MoneyOutSchema,
    paid: MoneyOutSchema,
    available: MoneyOutSchema,
  })
  .meta({ id: 'Budget' });

export const BudgetWithHistorySchema = BudgetViewSchema.extend({ history: HistorySchema }).meta({ id: 'BudgetWithHistory' });

export const FundRequestSubmittedSchema = z.object({ fundRequestId: z.string(), status: z.literal('SUBMITTED') });

export const FundRequestViewSchema = z
  .object({
    fundRequestId: z.string(),
    partnerId: z.string(),
    period: z.string(),
    status: z.enum(['SUBMITTED', 'AWAITING_APPROVAL', 'APPROVED', 'REJECTED', 'CHANGES_REQUESTED', 'CLOSED']),
    activity: z.object({ type: z.string(), name: z.string(), description: z.string(), startDate: z.string(), endDate: z.string() }),
    requested: MoneyOutSchema,
    approvedAmount: MoneyOutSchema.optional(),
    claimed: MoneyOutSchema,
    inClaim: MoneyOutSchema,
    remaining: MoneyOutSchema,
    createdAt: z.string(),
    history: HistorySchema,
  })
  .meta({ id: 'FundRequest' });

export const FundRequestListSchema = z.object({ fundRequests: z.array(FundRequestViewSchema) });

const UploadSchema = z
  .object({ fileName: z.string(), url: z.string(), method: z.literal('PUT'), headers: z
      .object({
        'content-type': z.string(),
        'x-amz-checksum-sha256': z.string().describe('The declared SHA-256, base64: S3 refuses other bytes'),
        'x-amz-sdk-checksum-algorithm': z.literal('SHA256'),
        'if-none-match': z.literal('*').describe('Create only: a second upload to the key is refused (412)'),
      })
      .describe('Send every one with the PUT: they are signed into the URL'), expiresAt: z.string() })
  .meta({ id: 'Upload' });

export const ClaimSubmittedSchema = z.object({ claimId: z.string(), status: z.literal('SUBMITTED'), uploads: z.array(UploadSchema) });
export const ClaimResubmittedSchema = z.object({ claimId: z.string(), status: z.literal('IN_REVIEW'), uploads: z.array(UploadSchema) });

export const ClaimViewSchema = z
  .object({
    claimId: z.string(),
    partnerId: z.string(),
    fundRequestId: z.string(),
    status: z.enum(['SUBMITTED', 'IN_REVIEW', 'CHANGES_REQUESTED', 'APPROVED', 'REJECTED', 'PAID']),
    amount: MoneyOutSchema,
    approvedAmount: MoneyOutSchema.optional(),
    invoiceNumber: z.string(),
    activityCompletedOn: z.string(),
    proofOfPerformance: z.array(z.object({ fileName: z.string(), contentType: z.string(), sha256: z.string(), sizeBytes: z.number().int() })),
    createdAt: z.string(),
    history: HistorySchema.optional().describe('On GET of one claim, not in the list'),
  })
  .meta({ id: 'Claim' });

export const ClaimListSchema = z.object({ claims: z.array(ClaimViewSchema) });
