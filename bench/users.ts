import { ulid } from 'ulid';
import { resetDdbClient } from '../functions/core/ddb.ts';
import { newId } from '../functions/core/ids.ts';
import { mailer } from '../functions/notifications/mailer.ts';
import { inviteUser } from '../functions/users/service.ts';
import { listUsers } from '../functions/users/store.ts';
import { ensureTable, startDynamoDbLocal } from '../local/dynamodb.ts';
import { atMost, heading, percentile, round, table, targetsTable, type PartResult } from './lib/report.ts';

/**
 * Users at scale: PARTNERS × USERS_PER_PARTNER partner users invited through the same service the
 * API calls (one transaction each: user, email lock, invitation, audit entry), on DynamoDB Local,
 * then a partner's first page of users read back many times. Prints the time, the write cost per
 * user, and the list's p50/p99. Emails go to a counting stand-in (SES is priced in the cost part).
 */
const PARTNERS = Number(process.env.BENCH_USERS_PARTNERS ?? 10_000);
const USERS_PER_PARTNER = Number(process.env.BENCH_USERS_PER_PARTNER ?? 5);
const CONCURRENCY = 32;
const LIST_SAMPLES = 500;
/** On-demand writes: a transaction costs 2 WRU per item (≤ 1 KB): 4 items per invitation. */
const WRU_PER_INVITE = 8;
const WRU_PRICE_PER_MILLION = 0.625;

export async function run(): Promise<PartResult> {
  const started = performance.now();
  const dynamo = await startDynamoDbLocal();
  process.env.DDB_ENDPOINT = dynamo.endpoint;
  process.env.TABLE_NAME = `bench-users-${ulid().toLowerCase()}`;
  resetDdbClient();
  await ensureTable(dynamo.endpoint, process.env.TABLE_NAME);
  let emails = 0;
  mailer.set({ send: async () => void emails++ });
  try {
    const partnerIds = Array.from({ length: PARTNERS }, () => newId('partner'));
    const jobs = partnerIds.flatMap((partnerId, p) =>
      Array.from({ length: USERS_PER_PARTNER }, (_, u) => ({ partnerId, email: `user${u}@p${p}.example`, role: u === 0 ? ('partner_admin' as const) : u % 2 ? ('partner_sales' as const) : ('partner_finance' as const) })),
    );
    const createStart = performance.now();
    let next = 0;
    let done = 0;
    const progressEvery = Math.max(1, Math.floor(jobs.length / 10));
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < jobs.length) {
          const job = jobs[next++]!;
          await inviteUser({ ...job, actor: 'bench' });
          if (++done % progressEvery === 0) console.log(`  users: ${done.toLocaleString('en-US')} / ${jobs.length.toLocaleString('en-US')} invited`);
        }
      }),
    );
    const createSeconds = (performance.now() - createStart) / 1000;

    const samples: number[] = [];
    for (let i = 0; i < LIST_SAMPLES; i++) {
      const partnerId = partnerIds[Math.floor(Math.random() * partnerIds.length)]!;
      const t = performance.now();
      const page = await listUsers(partnerId, 50);
      samples.push(performance.now() - t);
      if (page.users.length !== USERS_PER_PARTNER) throw new Error(`partner ${partnerId} lists ${page.users.length} users, not ${USERS_PER_PARTNER}`);
    }
    samples.sort((a, b) => a - b);
    const p50 = round(percentile(samples, 50), 1);
    const p99 = round(percentile(samples, 99), 1);
    const writeCostPerUser = (WRU_PER_INVITE * WRU_PRICE_PER_MILLION) / 1e6;

    heading(`users: ${jobs.length.toLocaleString('en-US')} partner users (${PARTNERS.toLocaleString('en-US')} partners × ${USERS_PER_PARTNER})`);
    console.log(
      table(
        ['measure', 'value'],
        [
          ['invited', jobs.length],
          ['time to invite all (DynamoDB Local, 32 at a time)', `${round(createSeconds, 1)} s`],
          ['invitations per second', round(jobs.length / createSeconds, 0)],
          ['invitation emails', emails],
          ['DynamoDB writes per invitation (WRU)', WRU_PER_INVITE],
          ['DynamoDB write cost per user (once)', `$${writeCostPerUser.toFixed(7)}`],
          ["a partner's user list (first page) p50", `${p50} ms`],
          ["a partner's user list (first page) p99", `${p99} ms`],
        ],
        ['l', 'r'],
      ),
    );
    const targets = [atMost("partner's user list p99 (DynamoDB Local)", p99, 100, 'ms')];
    console.log(targetsTable(targets));
    return {
      part: 'users',
      targets,
      raw: { users: jobs.length, partners: PARTNERS, createSeconds: round(createSeconds, 1), emails, listP50Ms: p50, listP99Ms: p99, writeCostPerUser },
      notes: ['Cognito MAU pricing per partner user-month is in the cost part.'],
      seconds: round((performance.now() - started) / 1000, 1),
    };
  } finally {
    mailer.set(undefined);
    await dynamo.stop();
  }
}
