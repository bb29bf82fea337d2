/**
 * What exists, in one place: the Lambda functions, the HTTP routes they serve, and the state
 * machines. The CDK stack (lib/) and the local runtime (local/) are both generated from this file,
 * so a route or a function cannot exist in one and not the other.
 */
export type Grant = 'table' | 'mail' | 'bucket' | 'linkSecret' | 'events' | 'taskCallbacks' | 'userDirectory';

export interface FunctionSpec {
  /** Path from the repository root to the module exporting `handler`. */
  entry: string;
  /** The ASL `${…}` substitution that names this function's ARN, for workflow task functions. */
  substitution?: string;
  grants: readonly Grant[];
  /** State machines this function starts. */
  starts?: readonly StateMachineName[];
  memoryMB?: number;
  timeoutSeconds?: number;
}

export const FUNCTIONS = {
  health: { entry: 'functions/core/health.ts', grants: [] },
  applicationsApi: {
    entry: 'functions/applications/api.ts',
    grants: ['table'],
    starts: ['partner-application'],
  },
  applicationsTasks: {
    entry: 'functions/applications/tasks.ts',
    substitution: 'ApplicationsTasksFunctionArn',
    grants: ['table', 'mail', 'events'],
  },
  approvalsApi: {
    entry: 'functions/approvals/api.ts',
    // mail: an approval chain emails the next approver when the first one approves.
    grants: ['table', 'linkSecret', 'taskCallbacks', 'bucket', 'mail'],
  },
  approvalsTasks: {
    entry: 'functions/approvals/tasks.ts',
    substitution: 'ApprovalsTasksFunctionArn',
    grants: ['table', 'mail', 'linkSecret'],
  },
  usersApi: {
    entry: 'functions/users/api.ts',
    // userDirectory: the Cognito admin actions of the user lifecycle, granted to this function only.
    grants: ['table', 'mail', 'userDirectory'],
  },
  mdfApi: {
    entry: 'functions/mdf/api.ts',
    grants: ['table', 'bucket', 'taskCallbacks'],
    starts: ['mdf-fund-request', 'mdf-claim-review'],
  },
  mdfTasks: {
    entry: 'functions/mdf/tasks.ts',
    substitution: 'MdfTasksFunctionArn',
    grants: ['table', 'mail', 'bucket', 'events'],
  },
  incentivesApi: {
    entry: 'functions/incentives/api.ts',
    grants: ['table', 'bucket'],
    starts: ['payout-run'],
    memoryMB: 1024,
    timeoutSeconds: 29,
  },
  incentivesTasks: {
    entry: 'functions/incentives/tasks.ts',
    substitution: 'IncentivesTasksFunctionArn',
    grants: ['table', 'mail', 'events', 'bucket'],
    starts: ['payout-run'],
    memoryMB: 1024,
    timeoutSeconds: 300,
  },
} as const satisfies Record<string, FunctionSpec>;

export type FunctionName = keyof typeof FUNCTIONS;

export interface RouteSpec {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  fn: FunctionName;
  /** 'jwt' routes sit behind the Cognito JWT authorizer; 'public' ones carry their own proof (or none). */
  auth: 'jwt' | 'public';
}

export const ROUTES: readonly RouteSpec[] = [
  { method: 'GET', path: '/health', fn: 'health', auth: 'public' },
  { method: 'POST', path: '/applications', fn: 'applicationsApi', auth: 'public' },
  { method: 'GET', path: '/applications/{applicationId}', fn: 'applicationsApi', auth: 'jwt' },
  { method: 'GET', path: '/partners/{partnerId}', fn: 'applicationsApi', auth: 'jwt' },
  { method: 'PUT', path: '/partners/{partnerId}/payee', fn: 'applicationsApi', auth: 'jwt' },
  { method: 'GET', path: '/me', fn: 'usersApi', auth: 'jwt' },
  { method: 'POST', path: '/partners/{partnerId}/users', fn: 'usersApi', auth: 'jwt' },
  { method: 'GET', path: '/partners/{partnerId}/users', fn: 'usersApi', auth: 'jwt' },
  { method: 'PATCH', path: '/partners/{partnerId}/users/{userId}', fn: 'usersApi', auth: 'jwt' },
  { method: 'DELETE', path: '/partners/{partnerId}/users/{userId}', fn: 'usersApi', auth: 'jwt' },
  { method: 'PUT', path: '/partners/{partnerId}/channel-manager', fn: 'usersApi', auth: 'jwt' },
  { method: 'GET', path: '/invitations/{invitationId}', fn: 'usersApi', auth: 'public' },
  { method: 'POST', path: '/invitations/{invitationId}/accept', fn: 'usersApi', auth: 'public' },
  { method: 'GET', path: '/approvals', fn: 'approvalsApi', auth: 'jwt' },
  { method: 'GET', path: '/approvals/{approvalId}', fn: 'approvalsApi', auth: 'public' },
  { method: 'POST', path: '/approvals/{approvalId}/decision', fn: 'approvalsApi', auth: 'public' },
  { method: 'PUT', path: '/partners/{partnerId}/budgets/{period}', fn: 'mdfApi', auth: 'jwt' },
  { method: 'GET', path: '/partners/{partnerId}/budgets/{period}', fn: 'mdfApi', auth: 'jwt' },
  { method: 'POST', path: '/partners/{partnerId}/fund-requests', fn: 'mdfApi', auth: 'jwt' },
  { method: 'GET', path: '/partners/{partnerId}/fund-requests', fn: 'mdfApi', auth: 'jwt' },
  { method: 'GET', path: '/partners/{partnerId}/fund-requests/{fundRequestId}', fn: 'mdfApi', auth: 'jwt' },
  { method: 'PUT', path: '/partners/{partnerId}/fund-requests/{fundRequestId}', fn: 'mdfApi', auth: 'jwt' },
  { method: 'POST', path: '/partners/{partnerId}/fund-requests/{fundRequestId}/close', fn: 'mdfApi', auth: 'jwt' },
  { method: 'POST', path: '/partners/{partnerId}/claims', fn: 'mdfApi', auth: 'jwt' },
  { method: 'GET', path: '/partners/{partnerId}/claims', fn: 'mdfApi', auth: 'jwt' },
  { method: 'GET', path: '/partners/{partnerId}/claims/{claimId}', fn: 'mdfApi', auth: 'jwt' },
  { method: 'PUT', path: '/partners/{partnerId}/claims/{claimId}', fn: 'mdfApi', auth: 'jwt' },
  { method: 'POST', path: '/programs', fn: 'incentivesApi', auth: 'jwt' },
  { method: 'GET', path: '/programs', fn: 'incentivesApi', auth: 'jwt' },
  { method: 'POST', path: '/partners/{partnerId}/sales', fn: 'incentivesApi', auth: 'jwt' },
  { method: 'DELETE', path: '/partners/{partnerId}/sales/{dealId}', fn: 'incentivesApi', auth: 'jwt' },
  { method: 'POST', path: '/payout-runs', fn: 'incentivesApi', auth: 'jwt' },
  { method: 'GET', path: '/payout-runs/{runId}', fn: 'incentivesApi', auth: 'jwt' },
  { method: 'GET', path: '/payout-runs/{runId}/export.csv', fn: 'incentivesApi', auth: 'jwt' },
  { method: 'GET', path: '/payout-runs/{runId}/lines.csv', fn: 'incentivesApi', auth: 'jwt' },
  { method: 'POST', path: '/payout-runs/{runId}/payments', fn: 'incentivesApi', auth: 'jwt' },
];

export const routeKey = (r: Pick<RouteSpec, 'method' | 'path'>) => `${r.method} ${r.path}`;

export const STATE_MACHINES = {
  'partner-application': { file: 'workflows/partner-application.asl.json', arnEnv: 'PARTNER_APPLICATION_STATE_MACHINE_ARN' },
  'mdf-fund-request': { file: 'workflows/mdf-fund-request.asl.json', arnEnv: 'MDF_FUND_REQUEST_STATE_MACHINE_ARN' },
  'mdf-claim-review': { file: 'workflows/mdf-claim-review.asl.json', arnEnv: 'MDF_CLAIM_REVIEW_STATE_MACHINE_ARN' },
  'payout-run': { file: 'workflows/payout-run.asl.json', arnEnv: 'PAYOUT_RUN_STATE_MACHINE_ARN' },
} as const;

export type StateMachineName = keyof typeof STATE_MACHINES;
