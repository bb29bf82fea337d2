import { createHash } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { config } from './config.ts';
import { ddb, tableName } from './ddb.ts';
import { badRequest, conflict, isConditionFailure } from './errors.ts';

export interface StoredReply {
  status: number;
  json?: unknown;
  headers?: Record<string, string>;
}

/** Canonical JSON: object keys sorted, so the same body in another key order is the same request. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function fingerprint(method: string, path: string, body: unknown): string {
  return createHash('sha256').update(`${method} ${path}\n${canonicalJson(body)}`).digest('hex');
}

export function validateKey(key: string): void {
  if (key.length < 1 || key.length > 128) {
    throw badRequest('invalid_idempotency_key', 'Idempotency-Key must be 1 to 128 characters');
  }
}

/**
 * Runs `run` at most once per (scope, key). A repeat with the same fingerprint gets the first reply
 * again; a repeat with another fingerprint is refused with 409 idempotency_key_reused. Records expire
 * through the table's TTL. A run that throws releases the key so the caller can correct and retry.
 */
export async function once(
  scope: string,
  key: string,
  requestFingerprint: string,
  run: () => Promise<StoredReply>,
): Promise<StoredReply & { replayed?: boolean }> {
  validateKey(key);
  const pk = `IDEM#${scope}#${key}`;
  const nowSeconds = Math.floor(Date.now() / 1000);
  try {
    await ddb().send(
      new PutCommand({
        TableName: tableName(),
        Item: { pk, sk: 'IDEM', status: 'IN_PROGRESS', fingerprint: requestFingerprint, expiresAt: nowSeconds + config().idempotencyTtlSeconds },
        ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
        ExpressionAttributeValues: { ':now': nowSeconds },
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const existing = (await ddb().send(new GetCommand({ TableName: tableName(), Key: { pk, sk: 'IDEM' }, ConsistentRead: true }))).Item;
    if (!existing) throw conflict('idempotency_request_in_progress', 'A request with this Idempotency-Key is being processed; retry shortly');
    if (existing.fingerprint !== requestFingerprint) {
      throw conflict('idempotency_key_reused', 'This Idempotency-Key was already used with a different request');
    }
    if (existing.status !== 'COMPLETED') {
      throw conflict('idempotency_request_in_progress', 'A request with this Idempotency-Key is being processed; retry shortly');
    }
    return { ...(existing.reply as StoredReply), replayed: true };
  }
  let reply: StoredReply;
  try {
    reply = await run();
  } catch (error) {
    await ddb().send(new DeleteCommand({ TableName: tableName(), Key: { pk, sk: 'IDEM' } }));
    throw error;
  }
  await ddb().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: { pk, sk: 'IDEM' },
      UpdateExpression: 'SET #s = :done, reply = :reply',
      ExpressionAttributeNames: { '#s': 'status' },
      ExpressionAttributeValues: { ':done': 'COMPLETED', ':reply': reply },
    }),
  );
  return reply;
}
