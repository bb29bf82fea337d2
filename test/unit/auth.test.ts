import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { callerFromEvent } from '../../functions/core/auth.ts';
import { AppError } from '../../functions/core/errors.ts';

/** An API Gateway HTTP API v2 event with these JWT claims (API Gateway passes every claim as a string). */
const eventWith = (claims: Record<string, unknown>) =>
  ({ requestContext: { authorizer: { jwt: { claims: { sub: 'user-1', email: 'Ada@Acme.example', ...claims }, scopes: [] } } } }) as unknown as APIGatewayProxyEventV2;

const groupsOf = (raw: unknown) => callerFromEvent(eventWith({ 'cognito:groups': raw }))?.groups;

function refusal(raw: unknown): AppError {
  try {
    groupsOf(raw);
  } catch (error) {
    return error as AppError;
  }
  throw new Error(`${JSON.stringify(raw)} was accepted`);
}

/** cognito:groups as API Gateway delivers an array claim to Lambda: "[a b]", space separated. */
describe('group claim parsing', () => {
  it('reads the roles from the bracketed, space-separated form', () => {
    expect(groupsOf('[admin finance]')).toEqual(['admin', 'finance']);
    expect(groupsOf('[partner]')).toEqual(['partner']);
    expect(groupsOf('[channel_manager marketing_director]')).toEqual(['channel_manager', 'marketing_director']);
  });

  it('ignores safe group names that are not roles, and a token without groups has none', () => {
    expect(groupsOf('[partner:ptr_01 ops.eu-west partner]')).toEqual(['partner']);
    expect(groupsOf('[]')).toEqual([]);
    expect(callerFromEvent(eventWith({}))?.groups).toEqual([]);
  });

  it('does not split one group name with a comma into several roles: the token is refused', () => {
    for (const raw of ['[admin,finance]', '[partner,admin]', '[x,admin partner]']) {
      const error = refusal(raw);
      expect(error, raw).toBeInstanceOf(AppError);
      expect(error.status).toBe(401);
      expect(error.code).toBe('invalid_groups_claim');
    }
  });

  it('refuses group names with characters outside letters, digits, _ - : . and claims not in API Gateway form', () => {
    for (const raw of ['[admin;finance]', '[adm[in]', '[admin]finance]', '[admin  finance]', '[ admin]', '[admin\tfinance]', '[admin\nfinance]', 'admin finance', 'admin', ['admin']]) {
      const error = refusal(raw);
      expect(error.status, JSON.stringify(raw)).toBe(401);
      expect(error.code).toBe('invalid_groups_claim');
    }
  });
});
