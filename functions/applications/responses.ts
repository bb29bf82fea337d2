import * as z from 'zod';
import { HistorySchema, MoneyOutSchema } from '../core/responses.ts';
import { PARTNER_TYPES } from './schema.ts';

const TierSchema = z.enum(['registered', 'silver', 'gold', 'platinum']);

export const HealthResponseSchema = z.object({ status: z.literal('ok') });

export const ApplicationSubmittedSchema = z.object({ applicationId: z.string(), status: z.literal('SUBMITTED') });

export const ApplicationViewSchema = z
  .object({
    applicationId: z.string(),
    status: z.enum(['SUBMITTED', 'AWAITING_APPROVAL', 'APPROVED', 'REJECTED', 'EXPIRED', 'FAILED']),
    company: z.object({ legalName: z.string(), website: z.string(), country: z.string(), taxId: z.string() }),
    partnerType: z.enum(PARTNER_TYPES),
    partnerId: z.string().optional(),
    tier: TierSchema.optional(),
    decision: z.object({ by: z.string(), at: z.string(), comment: z.string().optional() }).optional(),
    createdAt: z.string(),
    history: HistorySchema,
  })
  .meta({ id: 'Application' });

export const PartnerViewSchema = z
  .object({
    partnerId: z.string(),
    legalName: z.string(),
    country: z.string(),
    partnerType: z.enum(PARTNER_TYPES),
    tier: TierSchema,
    status: z.enum(['ACTIVE', 'SUSPENDED']),
    payeeReference: z.string().optional(),
    createdAt: z.string(),
  })
  .meta({ id: 'Partner' });

export { MoneyOutSchema };
