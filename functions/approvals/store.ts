import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { auditPut } from '../core/audit.ts';
import { ddb, queryAll, tableName, transactUnlessRefused } from '../core/ddb.ts';
import { isConditionFailure } from '../core/errors.ts';
import type { Money } from '../core/money.ts';
import type { Approval, ApprovalStatus } from './model.ts';

/*
 * Access patterns
 * - approval by id:                 pk = APR#<approvalId>, sk = META
 * - approvals by status/approver:   gsi1pk = APPROVALS#<status>, gsi1sk = <approverEmail>#<createdAt>#<approvalId>
 *   (admin lists the whole status partition; an approver the prefix of its own email)
 * - approval history:               pk = APR#<approvalId>, sk begins_with HIST#
 * - a subject's current approval:   pk = APRSUBJ#<subjectType>#<subjectId>, sk = CURRENT  ({ approvalId }; rewritten
 *   with every new approval of the subject, so the escalation loop finds whom the subject waits for)
 */
const key = (approvalId: string) => ({ pk: `APR#${approvalId}`, sk: 'META' });
const gsi = (status: ApprovalStatus, a: Pick<Approval, 'approverEmail' | 'createdAt' | 'approvalId'>) => ({
  gsi1pk: `APPROVALS#${status}`,
  gsi1sk: `${a.approverEmail}#${a.createdAt}#${a.approvalId}`,
});

function fromItem(item: Record<string, unknown>): Approval {
  const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, type: _t, ...rest } = item;
  return rest as unknown as Approval;
}

const subjectKey = (a: Pick<Approval, 'subjectType' | 'subjectId'>) => ({ pk: `APRSUBJ#${a.subjectType}#${a.subjectId}`, sk: 'CURRENT' });

/** The new approval, the subject's pointer to it and its audit entry, as transaction items. */
function approvalPuts(approval: Approval, actor: string, comment?: string) {
  return [
    { Put: { TableName: tableName(), Item: { ...subjectKey(approval), type: 'approvalPointer', approvalId: approval.approvalId } } },
    {
      Put: {
        TableName: tableName(),
        Item: { ...key(approval.approvalId), ...gsi('PENDING', approval), type: 'approval', ...approval },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
    auditPut(key(approval.approvalId).pk, {
      at: approval.createdAt,
      actor,
      action: 'approval_requested',
      fromStatus: null,
      toStatus: 'PENDING',
      comment: comment ?? `Sent to ${approval.approverEmail}${approval.previousApprovalId ? ` after ${approval.previousApprovalId} was approved` : ''}`,
    }),
  ];
}

export async function createApproval(approval: Approval): Promise<void> {
  await ddb().send(new TransactWriteCommand({ TransactItems: approvalPuts(approval, 'workflow') }));
}

export async function getApproval(approvalId: string): Promise<Approval | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: tableName(), Key: key(approvalId), ConsistentRead: true }));
  return out.Item ? fromItem(out.Item) : undefined;
}

/** The approval the subject currently waits for (the newest one created for it), if any. */
export async function currentApproval(subjectType: Approval['subjectType'], subjectId: string): Promise<Approval | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: tableName(), Key: subjectKey({ subjectType, subjectId }), ConsistentRead: true }));
  return out.Item ? getApproval(String(out.Item.approvalId)) : undefined;
}

const pendingOnly = { ConditionExpression: '#s = :pending', ExpressionAttributeNames: { '#s': 'status' } };

/**
 * Points a still pending approval at the workflow's new task token (the waiting state was re-entered);
 * with `remindedAt`, also records the half-time reminder. False when it was no longer pending.
 */
export async function bindApproval(approvalId: string, taskToken: string, remindedAt?: string): Promise<boolean> {
  try {
    await ddb().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: key(approvalId),
        UpdateExpression: `SET taskToken = :token${remindedAt ? ', remindedAt = :reminded' : ''}`,
        ...pendingOnly,
        ExpressionAttributeValues: { ':token': taskToken, ':pending': 'PENDING', ...(remindedAt ? { ':reminded': remindedAt } : {}) },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** Records the half-time reminder of a pending approval (and its audit entry); false when no longer pending. */
export async function markReminded(approval: Approval, now: Date): Promise<boolean> {
  const at = now.toISOString();
  return transactUnlessRefused([
    {
      Update: {
        TableName: tableName(),
        Key: key(approval.approvalId),
        UpdateExpression: 'SET remindedAt = :at',
        ...pendingOnly,
        ExpressionAttributeValues: { ':at': at, ':pending': 'PENDING' },
      },
    },
    auditPut(key(approval.approvalId).pk, { at, actor: 'workflow', action: 'reminded', fromStatus: 'PENDING', toStatus: 'PENDING', comment: `Reminded ${approval.approverEmail} at half time` }),
  ]);
}

/**
 * Hands a pending approval nobody decided to the next rung in one transaction: the old one becomes
 * ESCALATED (its link decides nothing), the new one is created and becomes the subject's current
 * approval. False when the old one was decided in the meantime.
 */
export async function escalateApproval(from: Approval, to: Approval): Promise<boolean> {
  const at = to.createdAt;
  return transactUnlessRefused([
    {
      Update: {
        TableName: tableName(),
        Key: key(from.approvalId),
        UpdateExpression: 'SET #s = :escalated, escalatedTo = :to, gsi1pk = :g1, gsi1sk = :g2',
        ...pendingOnly,
        ExpressionAttributeValues: {
          ':escalated': 'ESCALATED',
          ':pending': 'PENDING',
          ':to': to.approvalId,
          ':g1': gsi('ESCALATED', from).gsi1pk,
          ':g2': gsi('ESCALATED', from).gsi1sk,
        },
      },
    },
    auditPut(key(from.approvalId).pk, { at, actor: 'workflow', action: 'escalated', fromStatus: 'PENDING', toStatus: 'ESCALATED', comment: `Not decided in time; escalated to ${to.approverEmail}` }),
    ...approvalPuts(to, 'workflow', `Escalated from ${from.approverEmail} (${from.approvalId}), who did not decide in time`),
  ]);
}

/** Marks an approval whose email could not be delivered (listed by GET /approvals, alerted to admins). */
export async function markUndelivered(approvalId: string, now: Date, reason: string): Promise<void> {
  const at = now.toISOString();
  await ddb().send(
    new TransactWriteCommand({
      TransactItems: [
        {
          Update: {
            TableName: tableName(),
            Key: key(approvalId),
            UpdateExpression: 'SET undelivered = :reason, undeliveredAt = :at',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeValues: { ':reason': reason, ':at': at },
          },
        },
        auditPut(key(approvalId).pk, { at, actor: 'workflow', action: 'email_undelivered', fromStatus: null, toStatus: null, comment: reason }),
      ],
    }),
  );
}

export interface DecisionRecord {
  status: ApprovalStatus;
  decidedBy: string;
  comment?: string;
  approvedAmount?: Money;
  tier?: string;
  now: Date;
  /** The next level of an approval chain, created in the same transaction (see nextInChain). */
  handOverTo?: Approval;
}

/**
 * Consumes a pending approval with one conditional write (and its audit entry): it succeeds once,
 * and only before the deadline; a hand-over to the chain's next level commits with it or not at all.
 * Returns false when the approval was no longer pending.
 */
export async function consumeApproval(approval: Approval, decision: DecisionRecord): Promise<boolean> {
  const decidedAt = decision.now.toISOString();
  const sets = ['#s = :status', 'decidedAt = :at', 'decidedBy = :by', 'gsi1pk = :g1', 'gsi1sk = :g2'];
  const values: Record<string, unknown> = {
    ':status': decision.status,
    ':pending': 'PENDING',
    ':at': decidedAt,
    ':by': decision.decidedBy,
    ':now': decidedAt,
    ':g1': gsi(decision.status, approval).gsi1pk,
    ':g2': gsi(decision.status, approval).gsi1sk,
  };
  if (decision.comment) (sets.push('#c = :comment'), (values[':comment'] = decision.comment));
  if (decision.approvedAmount) (sets.push('approvedAmount = :amount'), (values[':amount'] = decision.approvedAmount));
  if (decision.tier) (sets.push('tier = :tier'), (values[':tier'] = decision.tier));
  try {
    await ddb().send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: tableName(),
              Key: key(approval.approvalId),
              UpdateExpression: `SET ${sets.join(', ')}`,
              ConditionExpression: '#s = :pending AND deadline > :now',
              ExpressionAttributeNames: { '#s': 'status', ...(decision.comment ? { '#c': 'comment' } : {}) },
              ExpressionAttributeValues: values,
            },
          },
          auditPut(key(approval.approvalId).pk, {
            at: decidedAt,
            actor: decision.decidedBy,
            action: 'decided',
            fromStatus: 'PENDING',
            toStatus: decision.status,
            ...(decision.comment ? { comment: decision.comment } : {}),
          }),
          ...(decision.handOverTo ? approvalPuts(decision.handOverTo, decision.decidedBy) : []),
        ],
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

export async function listApprovals(status: ApprovalStatus, approverEmail: string | undefined): Promise<Approval[]> {
  const items = await queryAll({
    IndexName: 'gsi1',
    KeyConditionExpression: approverEmail ? 'gsi1pk = :pk AND begins_with(gsi1sk, :email)' : 'gsi1pk = :pk',
    ExpressionAttributeValues: { ':pk': `APPROVALS#${status}`, ...(approverEmail ? { ':email': `${approverEmail}#` } : {}) },
  });
  return items.map(fromItem);
}
