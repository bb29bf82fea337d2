/**
 * Writes docs/openapi.json from the route catalog and the zod schemas (`npm run openapi`), and
 * test/support/openapi-types.ts from it with openapi-typescript (the e2e suites' typed client).
 * A unit test checks that both committed files match what this script generates; `npm run
 * lint:openapi` (part of `npm test`) lints the file with Redocly's recommended rules.
 */
import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { ROUTES, routeKey } from '../functions/catalog.ts';
import { ApplicationInputSchema, PayeeInputSchema } from '../functions/applications/schema.ts';
import { ApplicationSubmittedSchema, ApplicationViewSchema, HealthResponseSchema, PartnerViewSchema } from '../functions/applications/responses.ts';
import { DecisionSchema } from '../functions/approvals/schema.ts';
import { ApprovalListSchema, DecisionResultSchema } from '../functions/approvals/responses.ts';
import { ErrorResponseSchema } from '../functions/core/responses.ts';
import { BudgetInputSchema, ClaimInputSchema, ClaimResubmissionSchema, FundRequestInputSchema, FundRequestResubmissionSchema } from '../functions/mdf/schema.ts';
import {
  BudgetViewSchema,
  BudgetWithHistorySchema,
  ClaimListSchema,
  ClaimResubmittedSchema,
  ClaimSubmittedSchema,
  ClaimViewSchema,
  FundRequestListSchema,
  FundRequestSubmittedSchema,
  FundRequestViewSchema,
} from '../functions/mdf/responses.ts';
import { AcceptSchema, ChannelManagerSchema, InviteSchema, RoleChangeSchema } from '../functions/users/schema.ts';
import { ChannelManagerViewSchema, InvitationAcceptedSchema, MeSchema, PartnerUserListSchema, PartnerUserSchema } from '../functions/users/responses.ts';
import { PaymentsConfirmationSchema, PayoutRunInputSchema, ProgramInputSchema, SalesBatchSchema } from '../functions/incentives/schema.ts';
import {
  PaymentsResultSchema,
  PayoutRunSchema,
  ProgramCreatedSchema,
  ProgramListSchema,
  RunStartedSchema,
  SaleReversedSchema,
  SalesResultSchema,
} from '../functions/incentives/responses.ts';

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

type Success = { status: number; schema?: z.ZodType; name?: string; html?: boolean; csv?: boolean; redirect?: boolean; description: string };

interface Operation {
  operationId: string;
  summary: string;
  tag: 'health' | 'applications' | 'partners' | 'users' | 'approvals' | 'mdf' | 'incentives' | 'payouts';
  success: Success;
  /** Statuses beyond the generic ones (docs/api.md, "Routes"). */
  extra?: number[];
  query?: { name: string; values: string[]; description: string }[];
}

const FRQ_STATUSES = ['SUBMITTED', 'AWAITING_APPROVAL', 'APPROVED', 'REJECTED', 'CHANGES_REQUESTED', 'CLOSED'];
const CLAIM_STATUSES = ['SUBMITTED', 'IN_REVIEW', 'CHANGES_REQUESTED', 'APPROVED', 'REJECTED', 'PAID'];

/** What each route answers when it succeeds (read from the handlers, functions/<context>/api.ts). */
export const OPERATIONS: Record<string, Operation> = {
  'GET /health': { operationId: 'getHealth', summary: 'Health check', tag: 'health', success: { status: 200, schema: HealthResponseSchema, name: 'Health', description: 'The API answers' } },
  'POST /applications': { operationId: 'submitApplication', summary: 'Submit a partner application', tag: 'applications', success: { status: 202, schema: ApplicationSubmittedSchema, name: 'ApplicationSubmitted', description: 'Accepted; the screening workflow runs' } },
  'GET /applications/{applicationId}': { operationId: 'getApplication', summary: 'Read an application with its history', tag: 'applications', success: { status: 200, schema: ApplicationViewSchema, description: 'The application' } },
  'GET /partners/{partnerId}': { operationId: 'getPartner', summary: 'Read a partner', tag: 'partners', success: { status: 200, schema: PartnerViewSchema, description: 'The partner' } },
  'PUT /partners/{partnerId}/payee': { operationId: 'setPayeeReference', summary: "Set the partner's payee reference", tag: 'partners', success: { status: 200, schema: PartnerViewSchema, description: 'The partner, updated' } },
  'GET /approvals': {
    operationId: 'listApprovals',
    summary: 'List approvals addressed to the caller (admin: all)',
    tag: 'approvals',
    success: { status: 200, schema: ApprovalListSchema, name: 'ApprovalList', description: 'Matching approvals' },
    query: [
      { name: 'status', values: ['PENDING', 'APPROVED', 'REJECTED', 'CHANGES_REQUESTED', 'ESCALATED', 'EXPIRED'], description: 'Default PENDING' },
      { name: 'undelivered', values: ['true', 'false'], description: 'true: only approvals whose email could not be delivered' },
    ],
  },
  'GET /approvals/{approvalId}': { operationId: 'getApprovalPage', summary: 'The approval page of an emailed link (HTML; never changes anything)', tag: 'approvals', success: { status: 200, html: true, description: 'The approval page with its decision form' }, extra: [410] },
  'POST /approvals/{approvalId}/decision': { operationId: 'decideApproval', summary: 'Record a decision with the link token', tag: 'approvals', success: { status: 200, schema: DecisionResultSchema, name: 'DecisionResult', html: true, description: 'Decision recorded (HTML for a form post or Accept: text/html)' }, extra: [410] },
  'PUT /partners/{partnerId}/budgets/{period}': { operationId: 'allocateBudget', summary: "Create or change a partner's quarterly MDF budget", tag: 'mdf', success: { status: 200, schema: BudgetViewSchema, description: 'The budget' } },
  'GET /partners/{partnerId}/budgets/{period}': { operationId: 'getBudget', summary: 'Read a quarterly MDF budget with its history', tag: 'mdf', success: { status: 200, schema: BudgetWithHistorySchema, description: 'The budget' } },
  'POST /partners/{partnerId}/fund-requests': { operationId: 'submitFundRequest', summary: 'Request MDF funds for an activity', tag: 'mdf', success: { status: 202, schema: FundRequestSubmittedSchema, name: 'FundRequestSubmitted', description: 'Accepted; the approval workflow runs' } },
  'GET /partners/{partnerId}/fund-requests': { operationId: 'listFundRequests', summary: "List a partner's fund requests", tag: 'mdf', success: { status: 200, schema: FundRequestListSchema, name: 'FundRequestList', description: 'Fund requests' }, query: [{ name: 'status', values: FRQ_STATUSES, description: 'Only this status' }] },
  'GET /partners/{partnerId}/fund-requests/{fundRequestId}': { operationId: 'getFundRequest', summary: 'Read a fund request with its history', tag: 'mdf', success: { status: 200, schema: FundRequestViewSchema, description: 'The fund request' } },
  'POST /partners/{partnerId}/fund-requests/{fundRequestId}/close': { operationId: 'closeFundRequest', summary: 'Close an approved fund request, returning what is left to the budget', tag: 'mdf', success: { status: 200, schema: FundRequestViewSchema, description: 'The fund request, closed' } },
  'POST /partners/{partnerId}/claims': { operationId: 'submitClaim', summary: 'Claim MDF funds with proof of performance', tag: 'mdf', success: { status: 202, schema: ClaimSubmittedSchema, name: 'ClaimSubmitted', description: 'Accepted; upload the files to the presigned URLs' } },
  'GET /partners/{partnerId}/claims': { operationId: 'listClaims', summary: "List a partner's claims", tag: 'mdf', success: { status: 200, schema: ClaimListSchema, name: 'ClaimList', description: 'Claims (without history)' }, query: [{ name: 'status', values: CLAIM_STATUSES, description: 'Only this status' }] },
  'GET /partners/{partnerId}/claims/{claimId}': { operationId: 'getClaim', summary: 'Read a claim with its history', tag: 'mdf', success: { status: 200, schema: ClaimViewSchema, description: 'The claim' } },
  'PUT /partners/{partnerId}/claims/{claimId}': { operationId: 'resubmitClaim', summary: 'Resubmit a claim whose changes were requested', tag: 'mdf', success: { status: 202, schema: ClaimResubmittedSchema, name: 'ClaimResubmitted', description: 'Accepted; the review starts again' } },
  'PUT /partners/{partnerId}/fund-requests/{fundRequestId}': { operationId: 'resubmitFundRequest', summary: 'Resubmit a fund request whose changes were requested', tag: 'mdf', success: { status: 202, schema: FundRequestSubmittedSchema, name: 'FundRequestResubmitted', description: 'Accepted; the channel manager is asked again' } },
  'GET /me': { operationId: 'getMe', summary: 'Who the caller is, its roles and what it may call', tag: 'users', success: { status: 200, schema: MeSchema, name: 'Me', description: 'The caller' } },
  'POST /partners/{partnerId}/users': { operationId: 'inviteUser', summary: 'Invite a person into the partner', tag: 'users', success: { status: 201, schema: PartnerUserSchema, description: 'Invited; an invitation email is sent' } },
  'GET /partners/{partnerId}/users': { operationId: 'listUsers', summary: "List a partner's users (paginated)", tag: 'users', success: { status: 200, schema: PartnerUserListSchema, name: 'PartnerUserList', description: 'A page of users' } },
  'PATCH /partners/{partnerId}/users/{userId}': { operationId: 'changeUserRole', summary: "Change a user's role inside the partner", tag: 'users', success: { status: 200, schema: PartnerUserSchema, description: 'The user' } },
  'DELETE /partners/{partnerId}/users/{userId}': { operationId: 'disableUser', summary: 'Disable a user (history keeps them)', tag: 'users', success: { status: 200, schema: PartnerUserSchema, description: 'The user, disabled' } },
  'PUT /partners/{partnerId}/channel-manager': { operationId: 'assignChannelManager', summary: "Assign the partner's channel manager", tag: 'users', success: { status: 200, schema: ChannelManagerViewSchema, name: 'ChannelManagerAssignment', description: 'The assignment' } },
  'GET /invitations/{invitationId}': { operationId: 'getInvitationPage', summary: 'The page of an emailed invitation (HTML; never redeems)', tag: 'users', success: { status: 200, html: true, description: 'A page with an Accept button' } },
  'POST /invitations/{invitationId}/accept': { operationId: 'acceptInvitation', summary: 'Redeem an invitation once', tag: 'users', success: { status: 200, schema: InvitationAcceptedSchema, name: 'InvitationAccepted', html: true, description: 'Accepted (HTML for a form post)' }, extra: [410] },
  'POST /programs': { operationId: 'createProgram', summary: 'Create an incentive program', tag: 'incentives', success: { status: 201, schema: ProgramCreatedSchema, name: 'ProgramCreated', description: 'Created' } },
  'GET /programs': { operationId: 'listPrograms', summary: 'List every incentive program', tag: 'incentives', success: { status: 200, schema: ProgramListSchema, name: 'ProgramList', description: 'Programs as stored' } },
  'POST /partners/{partnerId}/sales': { operationId: 'postSales', summary: 'Report closed sales', tag: 'incentives', success: { status: 202, schema: SalesResultSchema, name: 'SalesResult', description: 'Accepted and duplicate deals' } },
  'DELETE /partners/{partnerId}/sales/{dealId}': { operationId: 'reverseSale', summary: 'Reverse a sale (a clawback if a run accrued it)', tag: 'incentives', success: { status: 200, schema: SaleReversedSchema, name: 'SaleReversed', description: 'Reversed' } },
  'POST /payout-runs': { operationId: 'startPayoutRun', summary: 'Start the payout run of a month', tag: 'payouts', success: { status: 202, schema: RunStartedSchema, name: 'RunStarted', description: 'Accepted; the run calculates' } },
  'GET /payout-runs/{runId}': { operationId: 'getPayoutRun', summary: 'Read a payout run: totals, held payments, history', tag: 'payouts', success: { status: 200, schema: PayoutRunSchema, description: 'The run' } },
  'GET /payout-runs/{runId}/export.csv': { operationId: 'getPayoutExport', summary: 'Download the payments CSV of an approved run', tag: 'payouts', success: { status: 302, redirect: true, description: 'Redirect to a download URL of the stored CSV, valid 5 minutes' } },
  'GET /payout-runs/{runId}/lines.csv': { operationId: 'getPayoutLines', summary: 'Download the lines CSV of an approved run', tag: 'payouts', success: { status: 302, redirect: true, description: 'Redirect to a download URL of the stored CSV, valid 5 minutes' } },
  'POST /payout-runs/{runId}/payments': { operationId: 'confirmPayments', summary: "Confirm payments of an approved run as paid", tag: 'payouts', success: { status: 200, schema: PaymentsResultSchema, name: 'PaymentsResult', description: 'What was confirmed' } },
};

const IDEMPOTENT = new Set(['POST /applications', 'POST /partners/{partnerId}/fund-requests', 'POST /partners/{partnerId}/claims', 'POST /programs', 'POST /partners/{partnerId}/sales', 'POST /payout-runs']);

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Bad request: validation_failed, invalid_text, invalid_json, invalid_path or a route-specific code',
  401: 'No valid bearer token (unauthorized, invalid_groups_claim); deployed, API Gateway answers with its own body',
  403: 'forbidden (missing role, or an approval link token missing or forged), foreign_origin',
  404: 'not_found: no such record or route, or another partner\'s record',
  409: 'Conflict: concurrent_update, idempotency_key_reused, or a route-specific state code',
  410: 'Gone: approval_expired, approval_escalated',
  413: 'payload_too_large: body over 256 KiB',
  415: 'unsupported_media_type',
  500: 'internal_error: a bug, logged',
};

/** Examples from the demo data (local/demo.ts): the partner `npm start` seeds. */
const DEMO_PARTNER = { partnerId: 'ptr_01KBNDEMO0000000000000000', legalName: 'Demo Reseller GmbH', country: 'DE', partnerType: 'reseller', tier: 'gold', status: 'ACTIVE', createdAt: '2026-12-04T21:03:33.123Z' };
const EXAMPLES: Record<string, unknown> = {
  'GET /health': { status: 'ok' },
  'POST /applications': { applicationId: 'app_01KBNDEMO0000000000000000', status: 'SUBMITTED' },
  'GET /partners/{partnerId}': DEMO_PARTNER,
  'PUT /partners/{partnerId}/payee': { ...DEMO_PARTNER, payeeReference: 'DE89 3704 0044 0532 0130 00' },
  'PUT /partners/{partnerId}/budgets/{period}': {
    partnerId: DEMO_PARTNER.partnerId,
    period: '2026-Q4',
    allocated: { amount: 5_000_000, currency: 'USD' },
    reserved: { amount: 0, currency: 'USD' },
    approved: { amount: 0, currency: 'USD' },
    paid: { amount: 0, currency: 'USD' },
    available: { amount: 5_000_000, currency: 'USD' },
  },
  'POST /partners/{partnerId}/fund-requests': { fundRequestId: 'frq_01KBNDEMO0000000000000000', status: 'SUBMITTED' },
  'POST /programs': { programId: 'prg_01KBNDEMO0000000000000000' },
  'POST /payout-runs': { runId: 'run_01KBNDEMO0000000000000000', status: 'CALCULATING' },
};
const REQUEST_EXAMPLES: Record<string, unknown> = {
  'POST /applications': {
    company: { legalName: 'Demo Reseller GmbH', website: 'https://demo-reseller.example', country: 'DE', taxId: 'DE999999999' },
    contact: { name: 'Dana Demo', email: 'dana@demo-reseller.example' },
    partnerType: 'reseller',
    businessPlan: { targetSegments: ['smb'], projectedAnnualRevenue: { amount: 200_000_000, currency: 'USD' }, marketingPlan: 'Webinars' },
  },
  'PUT /partners/{partnerId}/payee': { payeeReference: 'DE89 3704 0044 0532 0130 00' },
  'PUT /partners/{partnerId}/budgets/{period}': { allocated: { amount: 5_000_000, currency: 'USD' } },
  'POST /payout-runs': { period: '2026-11' },
};

function clean(schema: Record<string, unknown>) {
  const { $schema: _s, $id: _i, ...rest } = schema;
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errorResponse = (status: number) => ({ $ref: `#/components/responses/Error${status}` });

export function buildOpenApi() {
  // Every response schema is named in the global registry (nested ones carry .meta({ id }) already).
  for (const op of Object.values(OPERATIONS)) {
    const s = op.success;
    if (s.schema && !z.globalRegistry.get(s.schema)?.id) s.schema = s.schema.meta({ id: s.name ?? op.operationId });
  }
  const named = z.toJSONSchema(z.globalRegistry, { uri: (id) => `#/components/schemas/${id}`, io: 'output', unrepresentable: 'any' }) as { schemas: Record<string, Record<string, unknown>> };
  const schemas = Object.fromEntries(Object.entries(named.schemas).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, clean(v)]));

  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const key = routeKey(route);
    const op = OPERATIONS[key];
    if (!op) throw new Error(`No OPERATIONS entry for ${key}`);
    const body = REQUEST_BODIES[key];
    const html = key.startsWith('GET /approvals/') || key === 'POST /approvals/{approvalId}/decision';
    const parameters: unknown[] = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    if (key === 'GET /approvals/{approvalId}') parameters.push({ name: 't', in: 'query', required: false, description: 'The link token from the email (a missing one answers 403)', schema: { type: 'string' } });
    for (const q of op.query ?? []) parameters.push({ name: q.name, in: 'query', required: false, description: q.description, schema: { type: 'string', enum: q.values } });
    if (IDEMPOTENT.has(key)) parameters.push({ $ref: '#/components/parameters/IdempotencyKey' });

    const s = op.success;
    const successContent: Record<string, unknown> = {};
    if (s.schema) successContent['application/json'] = { schema: ref(z.globalRegistry.get(s.schema)!.id!), ...(EXAMPLES[key] ? { example: EXAMPLES[key] } : {}) };
    if (s.html) successContent['text/html'] = { schema: { type: 'string' } };
    const success = {
      description: s.description,
      ...(s.redirect ? { headers: { Location: { description: 'A presigned download URL of the CSV file', schema: { type: 'string', format: 'uri' } } } } : {}),
      ...(Object.keys(successContent).length ? { content: successContent } : {}),
    };

    const statuses = new Set<number>([400, 404, 409, 413, 500, ...(op.extra ?? [])]);
    if (route.auth === 'jwt' || html) statuses.add(403);
    if (route.auth === 'jwt') statuses.add(401);
    if (body) statuses.add(415);
    if (key === 'GET /health') for (const st of [400, 409, 413]) statuses.delete(st);
    const responses: Record<string, unknown> = { [String(s.status)]: success };
    for (const st of [...statuses].sort()) responses[String(st)] = html ? { $ref: `#/components/responses/HtmlOrError${st}` } : errorResponse(st);
    // Re-inviting the same person is idempotent: the existing user, no second invitation.
    if (key === 'POST /partners/{partnerId}/users') responses['200'] = { ...success, description: 'Already a user of this partner: that user (no second invitation)' };

    const requestContent: Record<string, unknown> = {};
    if (body) {
      const schema = z.toJSONSchema(body, { io: 'input', unrepresentable: 'any' });
      requestContent['application/json'] = { schema: clean(schema as Record<string, unknown>), ...(REQUEST_EXAMPLES[key] ? { example: REQUEST_EXAMPLES[key] } : {}) };
      if (key === 'POST /approvals/{approvalId}/decision') requestContent['application/x-www-form-urlencoded'] = { schema: { type: 'object', additionalProperties: { type: 'string' } } };
    }

    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = {
      operationId: op.operationId,
      summary: op.summary,
      tags: [op.tag],
      security: route.auth === 'jwt' ? [{ cognito: [] }] : [],
      ...(parameters.length ? { parameters } : {}),
      ...(body ? { requestBody: { required: true, content: requestContent } } : {}),
      responses,
    };
  }

  const used = JSON.stringify(paths);
  const responses: Record<string, unknown> = {};
  for (const [st, description] of Object.entries(ERROR_DESCRIPTIONS)) {
    if (used.includes(`"#/components/responses/Error${st}"`)) responses[`Error${st}`] = { description, content: { 'application/json': { schema: ref('Error'), example: { error: { code: exampleCode(Number(st)), message: 'A sentence for a person' } } } } };
    if (used.includes(`"#/components/responses/HtmlOrError${st}"`)) responses[`HtmlOrError${st}`] = { description: `${description} (an HTML page for the browser routes)`, content: { 'application/json': { schema: ref('Error') }, 'text/html': { schema: { type: 'string' } } } };
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'PRM API',
      version: '0.1.0',
      description: 'Partner relationship management: applications, approvals, MDF budgets, fund requests and claims, incentives and payouts. Generated from functions/catalog.ts and the zod schemas (`npm run openapi`); the prose contract is docs/api.md.',
      license: { name: 'Proprietary', url: 'https://example.invalid/license' },
    },
    servers: [
      { url: 'http://127.0.0.1:3000', description: 'Local (`npm start`)' },
      { url: 'https://{apiId}.execute-api.{region}.amazonaws.com', description: 'Deployed (API Gateway HTTP API of the stack)', variables: { apiId: { default: 'api-id', description: 'The HTTP API id (stack output)' }, region: { default: 'eu-central-1' } } },
    ],
    tags: [
      { name: 'health', description: 'Liveness' },
      { name: 'applications', description: 'Partner applications (workflow partner-application)' },
      { name: 'partners', description: 'Partners and their payee reference' },
      { name: 'users', description: 'Partner users, invitations, roles and channel managers' },
      { name: 'approvals', description: 'Emailed approval links and the decisions they take' },
      { name: 'mdf', description: 'MDF budgets, fund requests and claims' },
      { name: 'incentives', description: 'Incentive programs and sales' },
      { name: 'payouts', description: 'Payout runs, their exports and payment confirmations' },
    ],
    paths,
    components: {
      securitySchemes: { cognito: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A Cognito ID token of the stack\'s user pool (locally: POST /_local/token)' } },
      parameters: {
        IdempotencyKey: { name: 'Idempotency-Key', in: 'header', required: false, description: '1–128 characters; a repeat of the same request answers the first reply again', schema: { type: 'string', minLength: 1, maxLength: 128 } },
      },
      responses,
      schemas,
    },
  };
}

function exampleCode(status: number) {
  return ({ 400: 'validation_failed', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 409: 'concurrent_update', 410: 'approval_expired', 413: 'payload_too_large', 415: 'unsupported_media_type', 500: 'internal_error' } as Record<number, string>)[status];
}

export const OPENAPI_TYPES_FILE = 'test/support/openapi-types.ts';

/** test/support/openapi-types.ts: openapi-typescript's output for the document. */
export async function buildOpenApiTypes(doc = buildOpenApi()): Promise<string> {
  const { default: openapiTS, astToString } = await import('openapi-typescript');
  const ast = await openapiTS(JSON.parse(JSON.stringify(doc)));
  return `/* Generated by \`npm run openapi\` (openapi-typescript) from docs/openapi.json. Do not edit. */\n${astToString(ast)}`;
}

if (process.argv[1]?.endsWith('openapi.ts')) {
  const doc = buildOpenApi();
  writeFileSync('docs/openapi.json', `${JSON.stringify(doc, null, 2)}\n`);
  writeFileSync(OPENAPI_TYPES_FILE, await buildOpenApiTypes(doc));
  console.log(`wrote docs/openapi.json and ${OPENAPI_TYPES_FILE}`);
}
