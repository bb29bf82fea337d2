import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import { beforeAll, describe, expect, it } from 'vitest';
import { normaliseDomain, quarterOf, taxKey } from '../../functions/applications/model.ts';
import {
  appKey,
  closeApplication,
  createApplication,
  findDuplicate,
  getApplication,
  getPartner,
  markAwaitingApproval,
  provisionPartner,
  type ApplicationRecord,
  type PartnerRecord,
} from '../../functions/applications/store.ts';
import { readHistory } from '../../functions/core/audit.ts';
import { DEFAULT_CONFIG, type Tier } from '../../functions/core/config.ts';
import { ddb, tableName } from '../../functions/core/ddb.ts';
import { AppError } from '../../functions/core/errors.ts';
import { once } from '../../functions/core/idempotency.ts';
import { newId } from '../../functions/core/ids.ts';
import { money } from '../../functions/core/money.ts';
import { useFreshTable } from '../support/table.ts';

beforeAll(async () => {
  await useFreshTable();
});

const unique = () => ulid().toLowerCase().slice(-10);

function application(overrides: { website?: string; taxId?: string; country?: string; status?: ApplicationRecord['status'] } = {}): ApplicationRecord {
  const now = new Date().toISOString();
  const website = overrides.website ?? `https://store-${unique()}.example`;
  const country = overrides.country ?? 'US';
  const taxId = overrides.taxId ?? `TX-${unique()}`;
  return {
    applicationId: newId('application'),
    status: overrides.status ?? 'SUBMITTED',
    company: { legalName: 'Store Test Ltd', website, country, taxId },
    contact: { name: 'Grace Hopper', email: 'grace@store.example' },
    partnerType: 'reseller',
    businessPlan: { targetSegments: ['smb'], projectedAnnualRevenue: money(150_000_000, 'USD'), marketingPlan: 'Events' },
    taxKey: taxKey(country, taxId),
    domain: normaliseDomain(website),
    createdAt: now,
    updatedAt: now,
  };
}

function partnerFor(app: ApplicationRecord, tier: Tier): PartnerRecord {
  return {
    partnerId: newId('partner'),
    legalName: app.company.legalName,
    country: app.company.country,
    partnerType: app.partnerType,
    tier,
    status: 'ACTIVE',
    contactEmail: app.contact.email,
    contactName: app.contact.name,
    applicationId: app.applicationId,
    createdAt: new Date().toISOString(),
  };
}

const getItem = async (pk: string, sk: string) =>
  (await ddb().send(new GetCommand({ TableName: tableName(), Key: { pk, sk }, ConsistentRead: true }))).Item;

/** Every item in one partition (a lock partition holds at most its one LOCK item). */
async function itemsIn(prefix: string) {
  const out = await ddb().send(new QueryCommand({ TableName: tableName(), KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': prefix } }));
  return out.Items ?? [];
}

describe('applications store (DynamoDB Local)', () => {
  it('two concurrent approvals with the same tax id + country: exactly one partner, one lock, one budget', async () => {
    const taxId = `98-${unique()}`;
    // Both reached AWAITING_APPROVAL (written directly: screening would have stopped the second on its
    // open-application lock; this checks the partner locks, the guard of last resort, on their own).
    const a = application({ taxId, status: 'AWAITING_APPROVAL' });
    const b = application({ taxId: taxId.replace('-', ' '), status: 'AWAITING_APPROVAL' });
    expect(b.taxKey).toBe(a.taxKey);
    expect(b.domain).not.toBe(a.domain);
    await createApplication(a);
    await createApplication(b);

    const tier: Tier = 'gold';
    const period = quarterOf(new Date());
    const allocated = money(DEFAULT_CONFIG.tierQuarterlyBudget[tier], DEFAULT_CONFIG.budgetCurrency);
    const decision = { by: 'channel.manager@example.com', at: new Date().toISOString(), comment: 'ok' };
    const candidates = [a, b].map((app) => ({ app, partner: partnerFor(app, tier) }));

    const outcomes = await Promise.all(candidates.map(({ app, partner }) => provisionPartner(app, partner, { period, allocated }, decision)));

    const winners = outcomes.filter((o) => o.ok);
    const losers = outcomes.filter((o) => !o.ok);
    expect(winners).toHaveLength(1);
    expect(losers).toEqual([{ ok: false, duplicateOn: 'taxId' }]);
    const winnerIndex = outcomes.findIndex((o) => o.ok);
    const winner = candidates[winnerIndex]!;
    const loser = candidates[1 - winnerIndex]!;

    // One partner lock on the tax id, owned by the winner; the loser's domain lock was never written.
    const taxLocks = await itemsIn(`LOCK#PARTNER#TAX#${a.taxKey}`);
    expect(taxLocks).toHaveLength(1);
    expect(taxLocks[0]!.ownerId).toBe(winner.partner.partnerId);
    expect(await getItem(`LOCK#PARTNER#DOMAIN#${winner.app.domain}`, 'LOCK')).toMatchObject({ ownerId: winner.partner.partnerId });
    expect(await getItem(`LOCK#PARTNER#DOMAIN#${loser.app.domain}`, 'LOCK')).toBeUndefined();

    expect(await getPartner(winner.partner.partnerId)).toMatchObject({ partnerId: winner.partner.partnerId, status: 'ACTIVE', tier });
    expect(await getPartner(loser.partner.partnerId)).toBeUndefined();
    expect(await getItem(`PTR#${loser.partner.partnerId}`, `BUDGET#${period}`)).toBeUndefined();

    const budget = await getItem(`PTR#${winner.partner.partnerId}`, `BUDGET#${period}`);
    expect(budget).toMatchObject({ partnerId: winner.partner.partnerId, period, currency: 'USD', allocated: 5_000_000, reserved: 0, approved: 0, paid: 0 });

    expect(await getApplication(winner.app.applicationId)).toMatchObject({ status: 'APPROVED', partnerId: winner.partner.partnerId, tier });
    expect((await getApplication(loser.app.applicationId))!.status).toBe('AWAITING_APPROVAL');

    const history = await readHistory(appKey(winner.app.applicationId).pk);
    expect(history.at(-1)).toMatchObject({ fromStatus: 'AWAITING_APPROVAL', toStatus: 'APPROVED', actor: decision.by, action: 'approved' });
    expect((await readHistory(appKey(loser.app.applicationId).pk)).map((h) => h.toStatus)).not.toContain('APPROVED');
  });

  it('provisioning an already approved application again is refused and creates nothing', async () => {
    const app = application({ status: 'AWAITING_APPROVAL' });
    await createApplication(app);
    const period = quarterOf(new Date());
    const allocated = money(500_000, 'USD');
    const decision = { by: 'cm@example.com', at: new Date().toISOString() };
    expect((await provisionPartner(app, partnerFor(app, 'registered'), { period, allocated }, decision)).ok).toBe(true);
    const again = partnerFor(app, 'registered');
    // Same application, so the partner locks fail first: reported on the tax id, nothing new written.
    expect(await provisionPartner(app, again, { period, allocated }, decision)).toMatchObject({ ok: false });
    expect(await getPartner(again.partnerId)).toBeUndefined();
  });

  it('markAwaitingApproval takes the open locks; closeApplication releases them', async () => {
    const website = `https://www.release-${unique()}.example/home`;
    const first = application({ website });
    await createApplication(first);
    expect(await markAwaitingApproval(first, new Date().toISOString())).toBe(true);
    const open = (await getApplication(first.applicationId))!;
    expect(open.status).toBe('AWAITING_APPROVAL');

    const later = application({ website: website.replace('https://www.', 'http://') });
    expect(later.domain).toBe(first.domain);
    expect(await findDuplicate(later)).toEqual({ kind: 'application', id: first.applicationId, matchedOn: 'domain' });
    // The holder itself is not its own duplicate.
    expect(await findDuplicate(open)).toBeUndefined();

    const now = new Date().toISOString();
    expect(await closeApplication(open, 'REJECTED', { actor: 'cm@example.com', action: 'rejected', comment: 'No', now, decision: { by: 'cm@example.com', at: now, comment: 'No' } })).toBe(true);
    expect(await getApplication(first.applicationId)).toMatchObject({ status: 'REJECTED', decision: { by: 'cm@example.com', comment: 'No' } });
    expect(await getItem(`LOCK#OPENAPP#DOMAIN#${first.domain}`, 'LOCK')).toBeUndefined();
    expect(await getItem(`LOCK#OPENAPP#TAX#${first.taxKey}`, 'LOCK')).toBeUndefined();
    expect(await findDuplicate(later)).toBeUndefined();
    expect((await readHistory(appKey(first.applicationId).pk)).map((h) => h.toStatus)).toEqual(['SUBMITTED', 'AWAITING_APPROVAL', 'REJECTED']);

    // A closed application cannot be closed again.
    expect(await closeApplication(open, 'EXPIRED', { actor: 'workflow', action: 'expired', now: new Date().toISOString() })).toBe(false);
    expect((await getApplication(first.applicationId))!.status).toBe('REJECTED');
  });

  it('a duplicate of an open application (never screened in) can be closed REJECTED, leaving the open one its locks', async () => {
    const website = `https://twin-${unique()}.example`;
    const open = application({ website });
    await createApplication(open);
    expect(await markAwaitingApproval(open, new Date().toISOString())).toBe(true);

    const dup = application({ website });
    await createApplication(dup);
    expect(await markAwaitingApproval(dup, new Date().toISOString())).toBe(false);
    const duplicate = await findDuplicate(dup);
    expect(duplicate).toEqual({ kind: 'application', id: open.applicationId, matchedOn: 'domain' });

    // What screening does with a duplicate (functions/applications/tasks.ts `screen`).
    const now = new Date().toISOString();
    const closed = await closeApplication(dup, 'REJECTED', { actor: 'screening', action: 'rejected_duplicate', comment: 'dup', now, decision: { by: 'screening', at: now, comment: 'dup' } });
    expect((await getApplication(dup.applicationId))!.status).toBe('REJECTED');
    expect(closed).toBe(true);
    expect(await getItem(`LOCK#OPENAPP#DOMAIN#${open.domain}`, 'LOCK')).toMatchObject({ ownerId: open.applicationId });
  });
});

describe('idempotency (functions/core/idempotency.ts once)', () => {
  const reply = (id: string) => ({ status: 202, json: { applicationId: id, status: 'SUBMITTED' } });

  it('the same key and fingerprint runs once and replays the first reply', async () => {
    const key = `k-${unique()}`;
    let runs = 0;
    const run = async () => reply(`app_${++runs}`);
    const first = await once('POST /applications', key, 'fp-1', run);
    const second = await once('POST /applications', key, 'fp-1', run);
    expect(runs).toBe(1);
    expect(first).toEqual(reply('app_1'));
    expect(first.replayed).toBeUndefined();
    expect(second).toEqual({ ...reply('app_1'), replayed: true });
  });

  it('the same key with another fingerprint is refused with 409 idempotency_key_reused', async () => {
    const key = `k-${unique()}`;
    let runs = 0;
    await once('POST /applications', key, 'fp-1', async () => reply(`app_${++runs}`));
    const error = await once('POST /applications', key, 'fp-2', async () => reply(`app_${++runs}`)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ status: 409, code: 'idempotency_key_reused' });
    expect(runs).toBe(1);
    // Scopes are separate: the same key elsewhere is a new request.
    expect(await once('POST /other', key, 'fp-2', async () => reply(`app_${++runs}`))).toEqual(reply('app_2'));
  });

  it('a run that throws releases the key', async () => {
    const key = `k-${unique()}`;
    await expect(
      once('POST /applications', key, 'fp-1', async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await getItem(`IDEM#POST /applications#${key}`, 'IDEM')).toBeUndefined();
    let runs = 0;
    expect(await once('POST /applications', key, 'fp-1', async () => reply(`app_${++runs}`))).toEqual(reply('app_1'));
    expect(runs).toBe(1);
  });

  it('concurrent first uses of a key run once; the others are told it is in progress or get the replay', async () => {
    const key = `k-${unique()}`;
    let runs = 0;
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () =>
        once('POST /applications', key, 'fp-1', async () => {
          runs++;
          await new Promise((r) => setTimeout(r, 100));
          return reply('app_once');
        }),
      ),
    );
    expect(runs).toBe(1);
    for (const r of results) {
      if (r.status === 'fulfilled') expect(r.value).toMatchObject(reply('app_once'));
      else expect(r.reason).toMatchObject({ status: 409, code: 'idempotency_request_in_progress' });
    }
  });

  it('refuses an empty or over-long key', async () => {
    await expect(once('s', '', 'fp', async () => reply('x'))).rejects.toMatchObject({ status: 400, code: 'invalid_idempotency_key' });
    await expect(once('s', 'x'.repeat(129), 'fp', async () => reply('x'))).rejects.toMatchObject({ status: 400 });
  });
});
