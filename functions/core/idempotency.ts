import { createHash, randomUUID } from 'node:crypto';
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

/** A scope of its own for anonymous callers, derived from what identifies them in the body (hashed). */
export function anonymousScope(...identity: string[]): string {
  return `anon-${createHash('sha256').update(identity.join('\n')).digest('hex').slice(0, 32)}`;
}

export interface OnceOptions {
  /**
   * How long the IN_PROGRESS record holds the key: the time left until the function's deadline
   * (after it the request cannot still be running). Default: config().idempotencyInProgressSeconds.
   */
  inProgressMs?: number;
}

/**
 * Runs `run` at most once per (scope, key). A repeat with the same fingerprint gets the first reply
 * again; a repeat with another fingerprint is refused with 409 idempotency_key_reused. Records expire
 * through the table's TTL. A run that throws releases the key so the caller can correct and retry.
 * An IN_PROGRESS record holds the key only until `inProgressExpiry` (the function's deadline): a
 * request that crashed or timed out does not block its key for the TTL, a retry after that takes
 * over. Each attempt marks the record with its own `attempt` id and completes or releases it only
 * while it still holds it, so an attempt that was taken over cannot replace the newer reply.
 */
export async function once(
  scope: string,
  key: string,
  requestFingerprint: string,
  run: () => Promise<StoredReply>,
  options: OnceOptions = {},
): Promise<StoredReply & { replayed?: boolean }> {
  validateKey(key);
  const pk = `IDEM#${scope}#${key}`;
  const nowMs = Date.now();
  const nowSeconds = Math.floor(nowMs / 1000);
  const inProgressMs = Math.max(0, options.inProgressMs ?? config().idempotencyInProgressSeconds * 1000);
  const attempt = randomUUID();
  try {
    await ddb().send(
      new PutCommand({
        TableName: tableName(),
        Item: {
          pk,
          sk: 'IDEM',
          status: 'IN_PROGRESS',
          attempt,
          fingerprint: requestFingerprint,
          inProgressExpiry: nowMs + inProgressMs,
          expiresAt: nowSeconds + config().idempotencyTtlSeconds,
        },
        // A new key, an expired record, or an IN_PROGRESS one whose request is past its deadline.
        ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now OR (#s = :inProgress AND fingerprint = :fp AND inProgressExpiry < :nowMs)',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':now': nowSeconds, ':nowMs': nowMs, ':inProgress': 'IN_PROGRESS', ':fp': requestFingerprint },
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
  const stillMine = { ConditionExpression: 'attempt = :attempt', ExpressionAttributeValues: { ':attempt': attempt } };
  const ignoreTakenOver = (error: unknown) => {
    if (!isConditionFailure(error)) throw error;
  };
  let reply: StoredReply;
  try {
    reply = await run();
  } catch (error) {
    await ddb()
      .send(new DeleteCommand({ TableName: tableName(), Key: { pk, sk: 'IDEM' }, ...stillMine }))
      .catch(ignoreTakenOver);
    throw error;
  }
  await ddb()
    .send(
      new UpdateCommand({
        TableName: tableName(),
        Key: { pk, sk: 'IDEM' },
        UpdateExpression: 'SET #s = :done, reply = :reply REMOVE inProgressExpiry',
        ConditionExpression: stillMine.ConditionExpression,
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':done': 'COMPLETED', ':reply': reply, ...stillMine.ExpressionAttributeValues },
      }),
    )
    .catch(ignoreTakenOver);
  return reply;
}
