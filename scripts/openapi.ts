/**
 * Writes docs/openapi.json from the route catalog and the zod schemas (`npm run openapi`).
 * A test checks that the committed file matches what this script generates.
 */
import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { ROUTES, routeKey } from '../functions/catalog.ts';
import { ApplicationInputSchema, PayeeInputSchema } from '../functions/applications/schema.ts';
import { DecisionSchema } from '../functions/approvals/schema.ts';
import { BudgetInputSchema, ClaimInputSchema, ClaimResubmissionSchema, FundRequestInputSchema, FundRequestResubmissionSchema } from '../functions/mdf/schema.ts';
import { AcceptSchema, ChannelManagerSchema, InviteSchema, RoleChangeSchema } from '../functions/users/schema.ts';
import { PaymentsConfirmationSchema, PayoutRunInputSchema, ProgramInputSchema, SalesBatchSchema } from '../functions/incentives/schema.ts';

export const REQUEST_BODIES: Record<string, z.ZodType> = {
  'POST /applications': ApplicationInputSchema,
  'PUT /partners/{partnerId}/payee': PayeeInputSchema,
  'POST /approvals/{approvalId}/decision': DecisionSchema,
  'PUT /partners/{partnerId}/budgets/{period}': BudgetInputSchema,
  'POST /partners/{partnerId}/fund-requests': FundRequestInputSchema,
  'PUT /partners/{partnerId}/fund-requests/{fundRequestId}': FundRequestResubmissionSchema,
  'POST /partners/{partnerId}/claims': ClaimInputSchema,
  'PUT /partners/{partnerId}/claims/{claimId}': ClaimResubmissionSchema,
  'POST /programs': ProgramInputSchema,
  'POST /partners/{partnerId}/sales': SalesBatchSchema,
  'POST /payout-runs': PayoutRunInputSchema,
  'POST /payout-runs/{runId}/payments': PaymentsConfirmationSchema,
  'POST /partners/{partnerId}/users': InviteSchema,
  'PATCH /partners/{partnerId}/users/{userId}': RoleChangeSchema,
  'PUT /partners/{partnerId}/channel-manager': ChannelManagerSchema,
  'POST /invitations/{invitationId}/accept': AcceptSchema,
};

const ErrorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.array(z.object({ path: z.string(), message: z.string() })).optional() }),
});

export function buildOpenApi() {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const key = routeKey(route);
    const body = REQUEST_BODIES[key];
    const params = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = {
      operationId: key,
      ...(route.auth === 'jwt' ? { security: [{ cognito: [] }] } : { security: [] }),
      ...(params.length ? { parameters: params } : {}),
      ...(body
        ? { requestBody: { required: true, content: { 'application/json': { schema: z.toJSONSchema(body, { io: 'input', unrepresentable: 'any' }) } } } }
        : {}),
      responses: {
        '200': { description: 'OK' },
        default: { description: 'Error', content: { 'application/json': { schema: z.toJSONSchema(ErrorSchema) } } },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'PRM API', version: '0.1.0', description: 'Generated from functions/catalog.ts and the zod schemas. The contract is docs/api.md.' },
    components: { securitySchemes: { cognito: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    paths,
  };
}

if (process.argv[1]?.endsWith('openapi.ts')) {
  writeFileSync('docs/openapi.json', `${JSON.stringify(buildOpenApi(), null, 2)}\n`);
  console.log('wrote docs/openapi.json');
}
