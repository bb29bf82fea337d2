import { BatchGetCommand, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { auditPut } from '../core/audit.ts';
import type { Tier } from '../core/config.ts';
import { ddb, tableName, transactUnlessRefused } from '../core/ddb.ts';
import { failedConditionIndexes, isConditionFailure } from '../core/errors.ts';
import type { Money } from '../core/money.ts';
import { budgetHistoryPk, newBudgetItem } from '../mdf/store.ts';
import type { ApplicationStatus, DuplicateFinding } from './model.ts';
import type { ApplicationInput } from './schema.ts';

/*
 * Access patterns
 * - application by id:        pk = APP#<id>, sk = META            (history: sk begins_with HIST#)
 * - partner by id:            pk = PTR#<id>, sk = META            (history: sk begins_with HIST#)
 * - all partners, in pages:   gsi1pk = PARTNERS, gsi1sk = <partnerId>
 * - partner budget by period: pk = PTR#<id>, sk = BUDGET#<YYYY-Qn> (owned by the MDF context)
 * - uniqueness locks:         pk = LOCK#PARTNER#TAX#<country>#<taxId> | LOCK#PARTNER#DOMAIN#<domain>
 *                             pk = LOCK#OPENAPP#TAX#…  | LOCK#OPENAPP#DOMAIN#…, sk = LOCK, ownerId
 *   Partner locks are written in the provisioning transaction with attribute_not_exists, so two
 *   partners with the same tax id + country (or domain) cannot exist even under concurrent approvals.
 */
export interface ApplicationRecord extends ApplicationInput {
  applicationId: string;
  status: ApplicationStatus;
  taxKey: string;
  domain: string;
  createdAt: string;
  updatedAt: string;
  partnerId?: string;
  tier?: Tier;
  decision?: { by: string; at: string; comment?: string };
}

export interface PartnerRecord {
  partnerId: string;
  legalName: string;
  country: string;
  partnerType: string;
  tier: Tier;
  status: 'ACTIVE' | 'SUSPENDED';
  payeeReference?: string;
  contactEmail: string;
  contactName: string;
  applicationId?: string;
  createdAt: string;
}

const META = 'META';
export const appKey = (id: string) => ({ pk: `APP#${id}`, sk: META });
export const partnerKey = (id: string) => ({ pk: `PTR#${id}`, sk: META });
const lockKey = (scope: 'PARTNER' | 'OPENAPP', kind: 'TAX' | 'DOMAIN', value: string) => ({ pk: `LOCK#${scope}#${kind}#${value}`, sk: 'LOCK' });

function strip<T>(item: Record<string, unknown> | undefined): T | undefined {
  if (!item) return undefined;
  const { pk: _pk, sk: _sk, type: _type, gsi1pk: _g1, gsi1sk: _g2, ...rest } = item;
  return rest as T;
}

export async function createApplication(record: ApplicationRecord): Promise<void> {
  await ddb().send(
    new TransactWriteCommand({
      TransactItems: [
        { Put: { TableName: tableName(), Item: { ...appKey(record.applicationId), type: 'application', ...record }, ConditionExpression: 'attribute_not_exists(pk)' } },
        auditPut(appKey(record.applicationId).pk, { at: record.createdAt, actor: record.contact.email, action: 'submitted', fromStatus: null, toStatus: 'SUBMITTED' }),
      ],
    }),
  );
}

export async function getApplication(id: string): Promise<ApplicationRecord | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: tableName(), Key: appKey(id), ConsistentRead: true }));
  return strip<ApplicationRecord>(out.Item);
}

export async function getPartner(id: string): Promise<PartnerRecord | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: tableName(), Key: partnerKey(id), ConsistentRead: true }));
  return strip<PartnerRecord>(out.Item);
}

/** Partners and open applications already holding this tax id or domain (other than `applicationId`). */
export async function findDuplicate(app: Pick<ApplicationRecord, 'applicationId' | 'taxKey' | 'domain'>): Promise<DuplicateFinding | undefined> {
  const candidates = [
    { key: lockKey('PARTNER', 'TAX', app.taxKey), kind: 'partner' as const, matchedOn: 'taxId' as const },
    { key: lockKey('PARTNER', 'DOMAIN', app.domain), kind: 'partner' as const, matchedOn: 'domain' as const },
    { key: lockKey('OPENAPP', 'TAX', app.taxKey), kind: 'application' as const, matchedOn: 'taxId' as const },
    { key: lockKey('OPENAPP', 'DOMAIN', app.domain), kind: 'application' as const, matchedOn: 'domain' as const },
  ];
  const out = await ddb().send(
    new BatchGetCommand({ RequestItems: { [tableName()]: { Keys: candidates.map((c) => c.key), ConsistentRead: true } } }),
  );
  const found = new Map((out.Responses?.[tableName()] ?? []).map((item) => [item.pk as string, item.ownerId as string]));
  for (const c of candidates) {
    const owner = found.get(c.key.pk);
    if (owner && owner !== app.applicationId) return { kind: c.kind, id: owner, matchedOn: c.matchedOn };
  }
  return undefined;
}

const openLockPuts = (app: ApplicationRecord) =>
  [lockKey('OPENAPP', 'TAX', app.taxKey), lockKey('OPENAPP', 'DOMAIN', app.domain)].map((key) => ({
    Put: {
      TableName: tableName(),
      Item: { ...key, ownerId: app.applicationId },
      ConditionExpression: 'attribute_not_exists(pk) OR ownerId = :me',
      ExpressionAttributeValues: { ':me': app.applicationId },
    },
  }));

const openLockDeletes = (app: ApplicationRecord) =>
  [lockKey('OPENAPP', 'TAX', app.taxKey), lockKey('OPENAPP', 'DOMAIN', app.domain)].map((key) => ({
    Delete: {
      TableName: tableName(),
      Key: key,
      ConditionExpression: 'attribute_not_exists(pk) OR ownerId = :me',
      ExpressionAttributeValues: { ':me': app.applicationId },
    },
  }));

/**
 * Screening passed: the application holds its tax id and domain as "open" and moves to
 * AWAITING_APPROVAL. Returns false when another application took a lock first (a duplicate).
 */
export async function markAwaitingApproval(app: ApplicationRecord, now: string): Promise<boolean> {
  if (app.status === 'AWAITING_APPROVAL') return true;
  try {
    await ddb().send(
      new TransactWriteCommand({
        TransactItems: [
          ...openLockPuts(app),
          {
            Update: {
              TableName: tableName(),
              Key: appKey(app.applicationId),
              UpdateExpression: 'SET #s = :to, updatedAt = :now',
              ConditionExpression: '#s = :from',
              ExpressionAttributeNames: { '#s': 'status' },
              ExpressionAttributeValues: { ':to': 'AWAITING_APPROVAL', ':from': 'SUBMITTED', ':now': now },
            },
          },
          auditPut(appKey(app.applicationId).pk, { at: now, actor: 'workflow', action: 'screened', fromStatus: 'SUBMITTED', toStatus: 'AWAITING_APPROVAL' }),
        ],
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error) && failedConditionIndexes(error).some((i) => i < 2)) return false;
    throw error;
  }
}

/** Ends an application without a partner (rejected, expired, failed), releasing its open locks. */
export async function closeApplication(
  app: ApplicationRecord,
  to: Exclude<ApplicationStatus, 'APPROVED' | 'SUBMITTED' | 'AWAITING_APPROVAL'>,
  change: { actor: string; action: string; comment?: string; now: string; decision?: ApplicationRecord['decision'] },
): Promise<boolean> {
  try {
    await ddb().send(
      new TransactWriteCommand({
        TransactItems: [
          // Only a screened application holds open locks; a duplicate's lock keys belong to another.
          ...(app.status === 'AWAITING_APPROVAL' ? openLockDeletes(app) : []),
          {
            Update: {
              TableName: tableName(),
              Key: appKey(app.applicationId),
              UpdateExpression: `SET #s = :to, updatedAt = :now${change.decision ? ', decision = :decision' : ''}`,
              ConditionExpression: '#s IN (:submitted, :awaiting)',
              ExpressionAttributeNames: { '#s': 'status' },
              ExpressionAttributeValues: {
                ':to': to,
                ':now': change.now,
                ':submitted': 'SUBMITTED',
                ':awaiting': 'AWAITING_APPROVAL',
                ...(change.decision ? { ':decision': change.decision } : {}),
              },
            },
          },
          auditPut(appKey(app.applicationId).pk, {
            at: change.now,
            actor: change.actor,
            action: change.action,
            fromStatus: app.status,
            toStatus: to,
            ...(change.comment ? { comment: change.comment } : {}),
          }),
        ],
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

export type ProvisionOutcome = { ok: true; partner: PartnerRecord } | { ok: false; duplicateOn: 'taxId' | 'domain' | 'status' };

/**
 * Approval in one transaction: partner ACTIVE with its tier, uniqueness locks, the quarter's MDF
 * budget, the application APPROVED, open locks released, and the audit entries of all three records.
 */
export async function provisionPartner(
  app: ApplicationRecord,
  partner: PartnerRecord,
  budget: { period: string; allocated: Money },
  decision: NonNullable<ApplicationRecord['decision']>,
): Promise<ProvisionOutcome> {
  const now = partner.createdAt;
  const items = [
    { Put: { TableName: tableName(), Item: { ...lockKey('PARTNER', 'TAX', app.taxKey), ownerId: partner.partnerId }, ConditionExpression: 'attribute_not_exists(pk)' } },
    { Put: { TableName: tableName(), Item: { ...lockKey('PARTNER', 'DOMAIN', app.domain), ownerId: partner.partnerId }, ConditionExpression: 'attribute_not_exists(pk)' } },
    {
      Update: {
        TableName: tableName(),
        Key: appKey(app.applicationId),
        UpdateExpression: 'SET #s = :to, updatedAt = :now, partnerId = :pid, tier = :tier, decision = :decision',
        ConditionExpression: '#s = :from',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':to': 'APPROVED', ':from': 'AWAITING_APPROVAL', ':now': now, ':pid': partner.partnerId, ':tier': partner.tier, ':decision': decision },
      },
    },
    ...openLockDeletes(app),
    { Put: { TableName: tableName(), Item: { ...partnerKey(partner.partnerId), gsi1pk: 'PARTNERS', gsi1sk: partner.partnerId, type: 'partner', ...partner }, ConditionExpression: 'attribute_not_exists(pk)' } },
    {
      Put: {
        TableName: tableName(),
        Item: newBudgetItem(partner.partnerId, budget.period, budget.allocated),
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
    auditPut(appKey(app.applicationId).pk, { at: now, actor: decision.by, action: 'approved', fromStatus: 'AWAITING_APPROVAL', toStatus: 'APPROVED', ...(decision.comment ? { comment: decision.comment } : {}) }),
    auditPut(partnerKey(partner.partnerId).pk, { at: now, actor: decision.by, action: 'provisioned', fromStatus: null, toStatus: 'ACTIVE', comment: `From application ${app.applicationId}, tier ${partner.tier}` }),
    auditPut(budgetHistoryPk(partner.partnerId, budget.period), { at: now, actor: decision.by, action: 'allocated', fromStatus: null, toStatus: 'ALLOCATED', comment: `${budget.allocated.amount} ${budget.allocated.currency} for ${budget.period}` }),
  ];
  try {
    await ddb().send(new TransactWriteCommand({ TransactItems: items }));
    return { ok: true, partner };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const failed = failedConditionIndexes(error);
    if (failed.includes(0)) return { ok: false, duplicateOn: 'taxId' };
    if (failed.includes(1)) return { ok: false, duplicateOn: 'domain' };
    return { ok: false, duplicateOn: 'status' };
  }
}

export async function setPayeeReference(partnerId: string, payeeReference: string, actor: string): Promise<PartnerRecord | undefined> {
  const now = new Date().toISOString();
  const updated = await transactUnlessRefused([
    {
      Update: {
        TableName: tableName(),
        Key: partnerKey(partnerId),
        UpdateExpression: 'SET payeeReference = :ref, updatedAt = :now',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':ref': payeeReference, ':now': now },
      },
    },
    auditPut(partnerKey(partnerId).pk, { at: now, actor, action: 'payee_changed', fromStatus: null, toStatus: null, comment: 'Payee reference updated' }),
  ]);
  return updated ? getPartner(partnerId) : undefined;
}
