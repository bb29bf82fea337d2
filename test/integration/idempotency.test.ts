import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import { beforeAll, describe, expect, it } from 'vitest';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import * as z from 'zod';
import { ddb, tableName } from '../../functions/core/ddb.ts';
import { httpApi } from '../../functions/core/http.ts';
import { once, type StoredReply } from '../../functions/core/idempotency.ts';
import { useFreshTable } from '../support/table.ts';

beforeAll(async () => {
  await useFreshTable();
});

const reply = (id: string): StoredReply => ({ status: 202, json: { applicationId: id } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const record = async (pk: string) => (await ddb().send(new GetCommand({ TableName: tableName(), Key: { pk, sk: 'IDEM' }, ConsistentRead: true }))).Item;
/** Waits until the IN_PROGRESS record of a started request is written. */
async function started(pk: string) {
  for (let i = 0; i < 200 && !(await record(pk)); i++) await sleep(10);
}

/** An IN_PROGRESS record holds its key only until the function's deadline: a crashed request does not block it for the TTL. */
describe('idempotency: IN_PROGRESS records expire at the deadline', () => {
  it('a retry after the deadline of a request that never finished takes over; the late finisher does not overwrite its reply', async () => {
    const key = `k-${ulid()}`;
    let release!: () => void;
    const hung = once('anon-x', key, 'fp-1', () => new Promise<StoredReply>((r) => (release = () => r(reply('app_crashed')))), { inProgressMs: 1_000 });
    await started(`IDEM#anon-x#${key}`);

    await expect(once('anon-x', key, 'fp-1', async () => reply('app_too_early'), { inProgressMs: 1_000 })).rejects.toMatchObject({
      status: 409,
      code: 'idempotency_request_in_progress',
    });

    await sleep(1_100);
    const takeover = await once('anon-x', key, 'fp-1', async () => reply('app_retry'), { inProgressMs: 1_000 });
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
    await started(`IDEM#anon-y#${key}`);
    const item = (await ddb().send(new GetCommand({ TableName: tableName(), Key: { pk: `IDEM#anon-y#${key}`, sk: 'IDEM' } }))).Item!;
    expect(item.status).toBe('IN_PROGRESS');
    expect(item.inProgressExpiry).toBeGreaterThan(Date.now());
    expect(item.inProgressExpiry).toBeLessThanOrEqual(Date.now() + 31_000);
    release();
    await hung;
  });

  it('the HTTP stack gives the record the invocation\'s remaining time: a retry after that deadline (+1 s) runs', async () => {
    const key = `k-${ulid()}`;
    let runs = 0;
    let release!: () => void;
    const handler = httpApi({
      'POST /things': {
        auth: 'public',
        idempotent: true,
        idempotencyScope: () => 'anon-http',
        body: z.object({ n: z.number() }),
        handle: async () => {
          if (++runs === 1) await new Promise<void>((r) => (release = r));
          return { status: 201, json: { run: runs } };
        },
      },
    }) as unknown as (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
    const event = {
      version: '2.0',
      routeKey: 'POST /things',
      rawPath: '/things',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({ n: 1 }),
      isBase64Encoded: false,
      requestContext: { requestId: 'r', domainName: 'api.example', http: { method: 'POST', path: '/things' } },
    } as unknown as APIGatewayProxyEventV2;
    const context = (remainingMs: number) => ({ getRemainingTimeInMillis: () => remainingMs }) as unknown as Context;

    const hung = handler(event, context(100));
    await started(`IDEM#anon-http#${key}`);
    expect((await handler(event, context(5_000))).statusCode).toBe(409);
    await sleep(1_200);
    const retry = await handler(event, context(5_000));
    expect(retry.statusCode).toBe(201);
    expect(JSON.parse(retry.body!)).toEqual({ run: 2 });
    release();
    await hung;
  });
});
