import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { AppError, forbidden, notFound, unauthorized } from './errors.ts';

/**
 * `partner` is every right of its own partner (as before users existed; `partner_admin` means the
 * same); `partner_sales` and `partner_finance` hold part of them (PARTNER_ROUTE_ROLES).
 */
export const ROLES = ['partner', 'partner_admin', 'partner_sales', 'partner_finance', 'channel_manager', 'marketing_director', 'finance', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export const PARTNER_ROLES = ['partner_admin', 'partner_sales', 'partner_finance'] as const;
export type PartnerRole = (typeof PARTNER_ROLES)[number];
export const STAFF_ROLES = ['channel_manager', 'marketing_director', 'finance', 'admin'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

/**
 * Which roles inside a partner may use each route open to partners (routes absent here are staff
 * only, or open to every partner role when the route lists `partner`). `partner_admin` (and the
 * legacy `partner`) may use all of them.
 */
export const PARTNER_ROUTE_ROLES: Readonly<Record<string, readonly PartnerRole[]>> = {
  'GET /me': ['partner_admin', 'partner_sales', 'partner_finance'],
  'GET /partners/{partnerId}': ['partner_admin', 'partner_sales', 'partner_finance'],
  'PUT /partners/{partnerId}/payee': ['partner_admin', 'partner_finance'],
  'GET /partners/{partnerId}/budgets/{period}': ['partner_admin', 'partner_sales', 'partner_finance'],
  'POST /partners/{partnerId}/fund-requests': ['partner_admin', 'partner_sales'],
  'GET /partners/{partnerId}/fund-requests': ['partner_admin', 'partner_sales', 'partner_finance'],
  'GET /partners/{partnerId}/fund-requests/{fundRequestId}': ['partner_admin', 'partner_sales', 'partner_finance'],
  'PUT /partners/{partnerId}/fund-requests/{fundRequestId}': ['partner_admin', 'partner_sales'],
  'POST /partners/{partnerId}/fund-requests/{fundRequestId}/close': ['partner_admin', 'partner_sales'],
  'POST /partners/{partnerId}/claims': ['partner_admin', 'partner_sales'],
  'GET /partners/{partnerId}/claims': ['partner_admin', 'partner_sales', 'partner_finance'],
  'GET /partners/{partnerId}/claims/{claimId}': ['partner_admin', 'partner_sales', 'partner_finance'],
  'PUT /partners/{partnerId}/claims/{claimId}': ['partner_admin', 'partner_sales'],
  'GET /programs': ['partner_admin', 'partner_sales', 'partner_finance'],
  'POST /partners/{partnerId}/sales': ['partner_admin', 'partner_sales'],
  'DELETE /partners/{partnerId}/sales/{dealId}': ['partner_admin', 'partner_sales'],
  'POST /partners/{partnerId}/users': ['partner_admin'],
  'GET /partners/{partnerId}/users': ['partner_admin'],
  'PATCH /partners/{partnerId}/users/{userId}': ['partner_admin'],
  'DELETE /partners/{partnerId}/users/{userId}': ['partner_admin'],
};

/**
 * The caller as the route's handler sees it: a partner user whose role inside the partner may use
 * this route acts with the `partner` role (scoped to its own partnerId as always); one whose role
 * may not gets 403. Any partner caller (staff excepted) gets 404 for another partner's path.
 */
export function partnerCallerFor(caller: Caller | undefined, routeKey: string, pathPartnerId: string | undefined): Caller | undefined {
  if (!caller || hasRole(caller, STAFF_ROLES)) return caller;
  const held = caller.groups.filter((g): g is PartnerRole => (PARTNER_ROLES as readonly string[]).includes(g));
  if (held.length === 0 && !caller.groups.includes('partner')) return caller;
  // Another partner's path is not found, before its body is even read: no id of another tenant is confirmed.
  if (pathPartnerId !== undefined && pathPartnerId !== caller.partnerId) throw notFound('Partner');
  if (caller.groups.includes('partner')) return caller;
  const allowed = PARTNER_ROUTE_ROLES[routeKey] ?? [];
  if (held.includes('partner_admin') || held.some((r) => allowed.includes(r))) return { ...caller, groups: [...caller.groups, 'partner'] };
  throw forbidden(`Your role in the partner (${held.join(', ')}) does not allow this; it needs one of: ${['partner_admin', ...allowed.filter((r) => r !== 'partner_admin')].join(', ')}`);
}

export interface Caller {
  sub: string;
  email: string;
  groups: Role[];
  partnerId?: string;
}

type JwtClaims = Record<string, string | number | boolean | string[] | undefined>;

/** Group names this API accepts in a token: letters, digits, `_`, `-`, `:` and `.` (roles, partner groups). */
export const SAFE_GROUP_NAME = /^[A-Za-z0-9_:.-]+$/;

const invalidGroups = () => new AppError(401, 'invalid_groups_claim', 'The token\'s cognito:groups claim is malformed or has a group name with characters that are not allowed');

/**
 * `cognito:groups` exactly as API Gateway's JWT authorizer hands an array claim to Lambda: one string,
 * the names inside brackets separated by single spaces ("[partner admin]"; the local server does the
 * same). Nothing else is split: a name with a comma, bracket or other character outside
 * SAFE_GROUP_NAME (which would be read as several groups, or is not in that form) refuses the token.
 * Safe names that are not roles are ignored.
 */
export function parseGroups(raw: unknown): Role[] {
  if (raw === undefined) return [];
  if (typeof raw !== 'string') throw invalidGroups();
  const inner = /^\[(.*)\]$/s.exec(raw)?.[1];
  if (inner === undefined) throw invalidGroups();
  if (inner === '') return [];
  const names = inner.split(' ');
  if (!names.every((g) => SAFE_GROUP_NAME.test(g))) throw invalidGroups();
  return names.filter((g): g is Role => (ROLES as readonly string[]).includes(g));
}

export function callerFromEvent(event: APIGatewayProxyEventV2): Caller | undefined {
  const claims = (event.requestContext as { authorizer?: { jwt?: { claims?: JwtClaims } } }).authorizer?.jwt?.claims;
  if (!claims || typeof claims.sub !== 'string') return undefined;
  const partnerId = claims['custom:partnerId'];
  return {
    sub: claims.sub,
    email: typeof claims.email === 'string' ? claims.email.toLowerCase() : '',
    groups: parseGroups(claims['cognito:groups']),
    ...(typeof partnerId === 'string' && partnerId ? { partnerId } : {}),
  };
}

export function hasRole(caller: Caller, roles: readonly Role[]): boolean {
  return caller.groups.some((g) => roles.includes(g));
}

export function requireCaller(caller: Caller | undefined): Caller {
  if (!caller) throw unauthorized();
  return caller;
}

export function requireRole(caller: Caller | undefined, roles: readonly Role[]): Caller {
  const c = requireCaller(caller);
  if (!hasRole(c, roles)) throw forbidden(`This needs one of the roles: ${roles.join(', ')}`);
  return c;
}

/**
 * Partner scoping: a partner user reaches only its own partnerId, and anything else answers 404 so
 * that ids of other tenants cannot be probed. Staff in `staffRoles` reach every partner.
 */
export function requirePartnerAccess(
  caller: Caller | undefined,
  partnerId: string,
  staffRoles: readonly Role[],
  options: { partnerMayAct?: boolean; what?: string } = {},
): Caller {
  const c = requireCaller(caller);
  if (hasRole(c, staffRoles)) return c;
  if (c.groups.includes('partner') && (options.partnerMayAct ?? true)) {
    if (c.partnerId !== partnerId) throw notFound(options.what ?? 'Partner');
    return c;
  }
  if (c.groups.includes('partner')) throw c.partnerId === partnerId ? forbidden() : notFound(options.what ?? 'Partner');
  throw forbidden();
}

/** The label audit entries use for a caller. */
export function actorOf(caller: Caller | undefined): string {
  return caller ? caller.email || caller.sub : 'anonymous';
}
