import * as z from 'zod';

/**
 * Response shapes shared by every context, for docs/openapi.json (scripts/openapi.ts) and the
 * contract test. The handlers do not use these schemas; the e2e contract test checks that what
 * they answer matches them.
 */
export const ErrorResponseSchema = z
  .object({
    error: z.object({
      code: z.string().describe('Stable snake_case code, for programs (docs/api.md, "Error codes")'),
      message: z.string().describe('A sentence for a person; may change'),
      details: z.array(z.object({ path: z.string(), message: z.string() })).optional().describe('On validation_failed and invalid_text'),
    }),
  })
  .meta({ id: 'Error' });

export const MoneyOutSchema = z.object({ amount: z.number().int(), currency: z.string() }).meta({ id: 'Money' });

export const AuditEntrySchema = z
  .object({
    at: z.string(),
    actor: z.string(),
    action: z.string(),
    fromStatus: z.string().nullable(),
    toStatus: z.string().nullable(),
    comment: z.string().optional(),
  })
  .meta({ id: 'AuditEntry' });

export const HistorySchema = z.array(AuditEntrySchema);
