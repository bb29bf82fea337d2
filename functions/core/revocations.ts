import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { ddb, tableName } from './ddb.ts';

/*
 * Subjects (token `sub`s) whose tokens the API refuses at once, before the token itself expires:
 * disabled users. Access pattern: pk = REVOKED#<sub>, sk = REVOKED. The users context writes the
 * item in the same transaction as the disable (revocationPut) and deletes it on re-enable.
 */
const key = (sub: string) => ({ pk: `REVOKED#${sub}`, sk: 'REVOKED' });

/**
 * How long a container trusts its last answer for a subject. A disabled user's next call is refused
 * within this time on every container (deployed, the ID token itself dies within 15 minutes);
 * it keeps the check at about one strongly consistent read per user per container per 10 s.
 */
export const REVOCATION_CACHE_MS = 10_000;
const cache = new Map<string, { revoked: boolean; until: number }>();
const MAX_CACHED = 10_000;

export function revocationPut(sub: string, at: string, reason: string) {
  return { Put: { TableName: tableName(), Item: { ...key(sub), type: 'revocation', sub, at, reason } } };
}

export function revocationDelete(sub: string) {
  return { Delete: { TableName: tableName(), Key: key(sub) } };
}

export async function isRevoked(sub: string, now = Date.now()): Promise<boolean> {
  const hit = cache.get(sub);
  if (hit && hit.until > now) return hit.revoked;
  const out = await ddb().send(new GetCommand({ TableName: tableName(), Key: key(sub), ConsistentRead: true, ProjectionExpression: 'pk' }));
  if (cache.size >= MAX_CACHED) cache.clear();
  const revoked = Boolean(out.Item);
  cache.set(sub, { revoked, until: now + REVOCATION_CACHE_MS });
  return revoked;
}

/** Forgets cached answers (the local runtime disables and tests at once; tests). */
export function forgetRevocations(): void {
  cache.clear();
}
