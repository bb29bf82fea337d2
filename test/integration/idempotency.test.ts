import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import { beforeAll, describe, expect, it } from 'vitest';
import { ddb, tableName } from '../../functions/core/ddb.ts';
import { once, type StoredReply } from '../../functions/core/idempotency.ts';
import { useFreshTable } from '../support/table.ts';

beforeAll(async () => {
  await useFreshTable();
});

const reply = (id: string): StoredReply => ({ status: 202, json: { applicationId: id } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An IN_PROGRESS record holds its key only until the function's deadline: a crashed request does not block it for the TTL. */
describe('idempotency: IN_PROGRESS records expire at the deadline', () => {
  it('a retry after the deadline of a request that never finished takes over; the late finisher does not overwrite its reply', async () => {
    const key = `k-${ulid()}`;
    let release!: () => void;
    const hung = once('anon-x', key, 'fp-1', () => new Promise<StoredReply>((r) => (release = () => r(reply('app_crashed')))), { inProgressMs: 300 });

    await sleep(50);
    await expect(once('anon-x', key, 'fp-1', async () => reply('app_too_early'), { inProgressMs: 300 })).rejects.toMatchObject({
      status: 409,
      code: 'idempotency_request_in_progress',
    });

    await sleep(400);
    const takeover = await once('anon-x', key, 'fp-1', async () => reply('app_retry'), { inProgressMs: 300 });
    expect(takeover).toEqual(reply('app_retry'));

    // The first run was not dead after all: its completion must not replace the reply the retry stored.
    release();
    await hung;
    expect(await once('anon-x', key, 'fp-1', async () => reply('app_third'))).toEqual({ ...reply('app_retry'), replayed: true });
    const item = (await ddb().send(new GetCommand({ TableName: tableName(), Key: { pk: `IDEM#anon-x#${key}`, sk: 'IDEM' } }))).Item;
    expect(item).toMatchObject({ status: 'COMPLETED', reply: reply('app_retry') });
  });

  it('without a deadline given, an IN_PROGRESS record expires after the configured maximum, not the 24 h TTL', async () => {
    const key = `k-${ulid()}`;
    let release!: () => void;
    const hung = once('anon-y', key, 'fp-1', () => new Promise<StoredReply>((r) => (release = () => r(reply('app_1')))));
    await sleep(50);
    const item = (await ddb().send(new GetCommand({ TableName: tableName(), Key: { pk: `IDEM#anon-y#${key}`, sk: 'IDEM' } }))).Item!;
    expect(item.status).toBe('IN_PROGRESS');
    expect(item.inProgressExpiry).toBeGreaterThan(Date.now());
    expect(item.inProgressExpiry).toBeLessThanOrEqual(Date.now() + 31_000);
    release();
    await hung;
  });
});
