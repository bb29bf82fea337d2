import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { auditPut } from '../core/audit.ts';
import { ddb, queryAll, tableName } from '../core/ddb.ts';
import { isConditionFailure } from '../core/errors.ts';
import type { Money } from '../core/money.ts';
import type { Approval, ApprovalStatus } from './model.ts';

/*
 * Access patterns
 * - approval by id:                 pk = APR#<approvalId>, sk = META
 * - approvals by status/approver:   gsi1pk = APPROVALS#<status>, gsi1sk = <approverEmail>#<createdAt>#<approvalId>
 *   (admin lists the whole status partition; an approver the prefix of its own email)
 * - approval history:               pk = APR#<approvalId>, sk begins_with HIST#
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

/** The new approval and its audit entry, as transaction items. */
function approvalPuts(approval: Approval, actor: string) {
  return [
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
      comment: `Sent to ${approval.approverEmail}${approval.previousApprovalId ? ` after ${approval.previousApprovalId} was approved` : ''}`,
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
