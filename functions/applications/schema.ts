import * as z from 'zod';
import { requiredText as text } from '../core/fields.ts';
import { MoneySchema } from '../core/money.ts';

export const PARTNER_TYPES = ['reseller', 'distributor', 'var', 'msp', 'referral'] as const;

export const ApplicationInputSchema = z.object({
  company: z.object({
    legalName: text(200),
    website: text(300).refine((w) => /^(https?:\/\/)?[a-z0-9.-]+\.[a-z]{2,}(:\d+)?(\/.*)?$/i.test(w), 'must be a website address such as https://example.com'),
    country: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166 alpha-2 code such as US'),
    taxId: text(64),
  }),
  contact: z.object({ name: text(200), email: z.email('must be an email address').max(254) }),
  partnerType: z.enum(PARTNER_TYPES),
  businessPlan: z.object({
    targetSegments: z.array(text(100)).min(1, 'name at least one segment').max(20),
    projectedAnnualRevenue: MoneySchema,
    marketingPlan: text(5000),
  }),
});
export type ApplicationInput = z.infer<typeof ApplicationInputSchema>;

export const PayeeInputSchema = z.object({ payeeReference: text(128) });
