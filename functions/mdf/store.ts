import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { auditPut } from '../core/audit.ts';
import { ddb, queryAll, tableName, transactUnlessRefused } from '../core/ddb.ts';
import { failedConditionIndexes, isConditionFailure } from '../core/errors.ts';
import type { Money } from '../core/money.ts';
import { monthOf, normaliseInvoice, reallocate, type Ledger } from './model.ts';
import type { FundRequestInput } from './schema.ts';

/*
 * Access patterns (all of a partner's MDF records share its partition, so a partner's lists are
 * one Query and another partner's ids simply are not there):
 * - budget:        pk = PTR#<partnerId>, sk = BUDGET#<YYYY-Qn>   history pk = BUDGET#<partnerId>#<period>
 * - fund request:  pk = PTR#<partnerId>, sk = FRQ#<id>           history pk = FRQ#<id>
 * - claim:         pk = PTR#<partnerId>, sk = CLM#<id>           history pk = CLM#<id>
 * - invoice lock:  pk = LOCK#INVOICE#<partnerId>#<invoice>, sk = LOCK (one claim per invoice number)
 * - approved claims by month (payout runs): gsi1pk = CLAIMS#APPROVED#<YYYY-MM>, gsi1sk = <partnerId>#<claimId>
 * - approved claim awaiting payment: pk = PTR#<partnerId>, sk = DUE#MDF#<approvedAt>#<claimId>, written with the
 *   approval, deleted with the payment's confirmation (what a payout run reads, see incentives/store.ts)
 * Money moves only in TransactWriteItems whose conditions guard `available`, `remaining`, `unpaid`.
 */
export type FundRequestStatus = 'SUBMITTED' | 'AWAITING_APPROVAL' | 'APPROVED' | 'REJECTED' | 'CHANGES_REQUESTED' | 'CLOSED';
export type ClaimStatus = 'SUBMITTED' | 'IN_REVIEW' | 'CHANGES_REQUESTED' | 'APPROVED' | 'REJECTED' | 'PAID';

export interface BudgetRecord extends Ledger {
  partnerId: string;
  period: string;
  currency: string;
  available: number;
  unpaid: number;
  version: number;
}

export interface FundRequestRecord {
  fundRequestId: string;
  partnerId: string;
  period: string;
  activity: FundRequestInput['activity'];
  requested: Money;
  status: FundRequestStatus;
  approvedAmount?: number;
  claimed: number;
  inClaim: number;
  remaining: number;
  /** While CHANGES_REQUESTED: the waiting workflow task the partner's PUT resumes. */
  resubmitToken?: string;
  createdAt: string;
  updatedAt: string;
}

export interface ProofFile {
  fileName: string;
  contentType: string;
  sha256: string;
  sizeBytes: number;
  key: string;
}

export interface ClaimRecord {
  claimId: string;
  partnerId: string;
  fundRequestId: string;
  period: string;
  invoiceNumber: string;
  amount: Money;
  approvedAmount?: Money;
  activityCompletedOn: string;
  files: ProofFile[];
  status: ClaimStatus;
  resubmitToken?: string;
  paymentId?: string;
  createdAt: string;
  updatedAt: string;
}

export const budgetKey = (partnerId: string, period: string) => ({ pk: `PTR#${partnerId}`, sk: `BUDGET#${period}` });
export const budgetHistoryPk = (partnerId: string, period: string) => `BUDGET#${partnerId}#${period}`;
export const fundRequestKey = (partnerId: string, id: string) => ({ pk: `PTR#${partnerId}`, sk: `FRQ#${id}` });
export const claimKey = (partnerId: string, id: string) => ({ pk: `PTR#${partnerId}`, sk: `CLM#${id}` });
export const claimDueKey = (partnerId: string, approvedAt: string, id: string) => ({ pk: `PTR#${partnerId}`, sk: `DUE#MDF#${approvedAt}#${id}` });
/** A claim's entry among what is due to its partner: the approved facts a payout run needs (they no longer change). */
export const claimDueItem = (claim: Pick<ClaimRecord, 'partnerId' | 'claimId' | 'invoiceNumber' | 'period'>, approved: Money, approvedAt: string) => ({
  ...claimDueKey(claim.partnerId, approvedAt, claim.claimId),
  type: 'claim_due',
  partnerId: claim.partnerId,
  claimId: claim.claimId,
  invoiceNumber: claim.invoiceNumber,
  period: claim.period,
  approvedAmount: approved,
  approvedAt,
});
const invoiceLockKey = (partnerId: string, invoice: string) => ({ pk: `LOCK#INVOICE#${partnerId}#${normaliseInvoice(invoice)}`, sk: 'LOCK' });

function strip<T>(item: Record<string, unknown> | undefined): T | undefined {
  if (!item) return undefined;
  const { pk: _pk, sk: _sk, type: _t, gsi1pk: _g1, gsi1sk: _g2, ...rest } = item;
  return rest as T;
}

async function get<T>(key: { pk: string; sk: string }): Promise<T | undefined> {
  return strip<T>((await ddb().send(new GetCommand({ TableName: tableName(), Key: key, ConsistentRead: true }))).Item);
}

async function queryPrefix<T>(pk: string, prefix: string): Promise<T[]> {
  const items = await queryAll({ KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)', ExpressionAttributeValues: { ':pk': pk, ':prefix': prefix } });
  return items.map((i) => strip<T>(i)!);
}

const T = () => tableName();

// ---------- budgets ----------

/** A fresh budget item (also written by partner provisioning, in its own transaction). */
export function newBudgetItem(partnerId: string, period: string, allocated: Money) {
  const record: BudgetRecord = {
    partnerId,
    period,
    currency: allocated.currency,
    allocated: allocated.amount,
    reserved: 0,
    approved: 0,
    paid: 0,
    available: allocated.amount,
    unpaid: 0,
    version: 1,
  };
  return { ...budgetKey(partnerId, period), type: 'budget', ...record };
}

export const getBudget = (partnerId: string, period: string) => get<BudgetRecord>(budgetKey(partnerId, period));

export type BudgetWrite = { ok: true; budget: BudgetRecord } | { ok: false; code: 'budget_below_committed' | 'currency_mismatch' | 'concurrent_change'; message: string };

/** Sets `allocated`; refused below what is already reserved and approved, or in another currency. */
export async function allocateBudget(partnerId: string, period: string, allocated: Money, actor: string): Promise<BudgetWrite> {
  const current = await getBudget(partnerId, period);
  const now = new Date().toISOString();
  if (current && current.currency !== allocated.currency) {
    return { ok: false, code: 'currency_mismatch', message: `This budget is in ${current.currency}` };
  }
  const base: Ledger = current ?? { allocated: 0, reserved: 0, approved: 0, paid: 0 };
  try {
    reallocate(base, allocated.amount); // refuses an allocation below what is committed
  } catch (error) {
    return { ok: false, code: 'budget_below_committed', message: (error as Error).message };
  }
  try {
    await ddb().send(
      new TransactWriteCommand({
        TransactItems: [
          current
            ? {
                Update: {
                  TableName: T(),
                  Key: budgetKey(partnerId, period),
                  // Reserve/settle move `reserved`/`approved` with `available` in lockstep, so shifting
                  // available by the allocation delta keeps the invariant; the guard keeps it ≥ 0.
                  UpdateExpression: 'SET allocated = :alloc, available = available + :delta, version = version + :one',
                  ConditionExpression: 'allocated = :old AND available >= :shrink',
                  ExpressionAttributeValues: {
                    ':alloc': allocated.amount,
                    ':old': current.allocated,
                    ':delta': allocated.amount - current.allocated,
                    ':shrink': current.allocated - allocated.amount,
                    ':one': 1,
                  },
                },
              }
            : {
                Put: {
                  TableName: T(),
                  Item: newBudgetItem(partnerId, period, allocated),
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              },
          auditPut(budgetHistoryPk(partnerId, period), { at: now, actor, action: 'allocated', fromStatus: null, toStatus: null, comment: `Allocated ${allocated.amount} ${allocated.currency} (was ${current?.allocated ?? 0})` }),
        ],
      }),
    );
  } catch (error) {
    if (isConditionFailure(error)) return { ok: false, code: 'concurrent_change', message: 'The budget changed meanwhile, or the new allocation is below what is committed' };
    throw error;
  }
  return { ok: true, budget: (await getBudget(partnerId, period))! };
}

// ---------- fund requests ----------

export const getFundRequest = (partnerId: string, id: string) => get<FundRequestRecord>(fundRequestKey(partnerId, id));
export const listFundRequests = (partnerId: string) => queryPrefix<FundRequestRecord>(`PTR#${partnerId}`, 'FRQ#');

export async function createFundRequest(record: FundRequestRecord, actor: string): Promise<void> {
  await ddb().send(
    new TransactWriteCommand({
      TransactItems: [
        { Put: { TableName: T(), Item: { ...fundRequestKey(record.partnerId, record.fundRequestId), type: 'fund_request', ...record }, ConditionExpression: 'attribute_not_exists(pk)' } },
        auditPut(`FRQ#${record.fundRequestId}`, { at: record.createdAt, actor, action: 'submitted', fromStatus: null, toStatus: 'SUBMITTED' }),
      ],
    }),
  );
}

export async function transitionFundRequest(
  frq: FundRequestRecord,
  from: FundRequestStatus,
  to: FundRequestStatus,
  change: { actor: string; action: string; comment?: string },
): Promise<boolean> {
  const now = new Date().toISOString();
  return transactUnlessRefused([
    {
      Update: {
        TableName: T(),
        Key: fundRequestKey(frq.partnerId, frq.fundRequestId),
        UpdateExpression: 'SET #s = :to, updatedAt = :now',
        ConditionExpression: '#s = :from',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':to': to, ':from': from, ':now': now },
      },
    },
    auditPut(`FRQ#${frq.fundRequestId}`, { at: now, actor: change.actor, action: change.action, fromStatus: from, toStatus: to, ...(change.comment ? { comment: change.comment } : {}) }),
  ]);
}

/** Changes requested: the fund request waits in CHANGES_REQUESTED, holding the token its PUT resumes. */
export function requestFundRequestChanges(frq: FundRequestRecord, token: string, change: { actor: string; comment?: string }): Promise<boolean> {
  const now = new Date().toISOString();
  return transactUnlessRefused([
    {
      Update: {
        TableName: T(),
        Key: fundRequestKey(frq.partnerId, frq.fundRequestId),
        UpdateExpression: 'SET #s = :to, updatedAt = :now, resubmitToken = :token',
        ConditionExpression: '#s = :from',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':to': 'CHANGES_REQUESTED', ':from': 'AWAITING_APPROVAL', ':now': now, ':token': token },
      },
    },
    auditPut(`FRQ#${frq.fundRequestId}`, { at: now, actor: change.actor, action: 'changes_requested', fromStatus: 'AWAITING_APPROVAL', toStatus: 'CHANGES_REQUESTED', ...(change.comment ? { comment: change.comment } : {}) }),
  ]);
}

/**
 * The partner's corrected fund request replaces activity, amount and period and goes back to
 * SUBMITTED (the workflow screens it and asks the channel manager again), with its audit entry, in
 * one transaction; only while it still waits on the same task.
 */
export function resubmitFundRequest(frq: FundRequestRecord, changes: Pick<FundRequestRecord, 'activity' | 'requested' | 'period'>, actor: string, comment?: string): Promise<boolean> {
  const now = new Date().toISOString();
  return transactUnlessRefused([
    {
      Update: {
        TableName: T(),
        Key: fundRequestKey(frq.partnerId, frq.fundRequestId),
        UpdateExpression: 'SET #s = :to, updatedAt = :now, activity = :activity, requested = :requested, period = :period REMOVE resubmitToken',
        ConditionExpression: '#s = :from AND resubmitToken = :token',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':to': 'SUBMITTED', ':from': 'CHANGES_REQUESTED', ':token': frq.resubmitToken, ':now': now, ':activity': changes.activity, ':requested': changes.requested, ':period': changes.period },
      },
    },
    auditPut(`FRQ#${frq.fundRequestId}`, { at: now, actor, action: 'resubmitted', fromStatus: 'CHANGES_REQUESTED', toStatus: 'SUBMITTED', ...(comment ? { comment } : {}) }),
  ]);
}

/** Not resubmitted in time: the fund request ends REJECTED (also one whose PUT raced the deadline). */
export function expireFundRequest(frq: FundRequestRecord, comment: string): Promise<boolean> {
  const now = new Date().toISOString();
  return transactUnlessRefused([
    {
      Update: {
        TableName: T(),
        Key: fundRequestKey(frq.partnerId, frq.fundRequestId),
        UpdateExpression: 'SET #s = :to, updatedAt = :now REMOVE resubmitToken',
        ConditionExpression: '#s = :from',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':to': 'REJECTED', ':from': frq.status, ':now': now },
      },
    },
    auditPut(`FRQ#${frq.fundRequestId}`, { at: now, actor: 'workflow', action: 'not_resubmitted', fromStatus: frq.status, toStatus: 'REJECTED', comment }),
  ]);
}

/**
 * Approves a fund request and reserves its amount in one transaction. The budget condition
 * `available >= amount` is what makes concurrent approvals unable to overspend.
 */
export async function approveFundRequest(
  frq: FundRequestRecord,
  amount: number,
  change: { actor: string; comment?: string },
): Promise<'ok' | 'insufficient_budget' | 'not_awaiting'> {
  const now = new Date().toISOString();
  try {
    await ddb().send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: T(),
              Key: fundRequestKey(frq.partnerId, frq.fundRequestId),
              UpdateExpression: 'SET #s = :to, updatedAt = :now, approvedAmount = :a, remaining = :a, claimed = :zero, inClaim = :zero',
              ConditionExpression: '#s = :from',
              ExpressionAttributeNames: { '#s': 'status' },
              ExpressionAttributeValues: { ':to': 'APPROVED', ':from': 'AWAITING_APPROVAL', ':now': now, ':a': amount, ':zero': 0 },
            },
          },
          {
            Update: {
              TableName: T(),
              Key: budgetKey(frq.partnerId, frq.period),
              UpdateExpression: 'SET reserved = reserved + :a, available = available - :a, version = version + :one',
              ConditionExpression: 'available >= :a AND currency = :cur',
              ExpressionAttributeValues: { ':a': amount, ':cur': frq.requested.currency, ':one': 1 },
            },
          },
          auditPut(`FRQ#${frq.fundRequestId}`, { at: now, actor: change.actor, action: 'approved', fromStatus: 'AWAITING_APPROVAL', toStatus: 'APPROVED', comment: change.comment ?? `Approved ${amount} ${frq.requested.currency}` }),
          auditPut(budgetHistoryPk(frq.partnerId, frq.period), { at: now, actor: change.actor, action: 'reserved', fromStatus: null, toStatus: null, comment: `Reserved ${amount} for ${frq.fundRequestId}` }),
        ],
      }),
    );
    return 'ok';
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    return failedConditionIndexes(error).includes(1) && !failedConditionIndexes(error).includes(0) ? 'insufficient_budget' : 'not_awaiting';
  }
}

/**
 * Closes an approved fund request: what is neither claimed nor in a claim under review goes back
 * from the budget's `reserved` to `available`, in one transaction, and no further claim is taken.
 */
export async function closeFundRequest(frq: FundRequestRecord, actor: string, comment?: string): Promise<boolean> {
  const now = new Date().toISOString();
  return transactUnlessRefused([
    {
      Update: {
        TableName: T(),
        Key: fundRequestKey(frq.partnerId, frq.fundRequestId),
        UpdateExpression: 'SET #s = :closed, remaining = :zero, releasedAmount = :r, updatedAt = :now',
        ConditionExpression: '#s = :approved AND remaining = :r AND inClaim = :zero',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':closed': 'CLOSED', ':approved': 'APPROVED', ':zero': 0, ':r': frq.remaining, ':now': now },
      },
    },
    {
      Update: {
        TableName: T(),
        Key: budgetKey(frq.partnerId, frq.period),
        UpdateExpression: 'SET reserved = reserved - :r, available = available + :r, version = version + :one',
        ConditionExpression: 'reserved >= :r',
        ExpressionAttributeValues: { ':r': frq.remaining, ':one': 1 },
      },
    },
    auditPut(`FRQ#${frq.fundRequestId}`, { at: now, actor, action: 'closed', fromStatus: 'APPROVED', toStatus: 'CLOSED', comment: comment ?? `Released ${frq.remaining} back to the budget` }),
    auditPut(budgetHistoryPk(frq.partnerId, frq.period), { at: now, actor, action: 'released', fromStatus: null, toStatus: null, comment: `${frq.remaining} released from ${frq.fundRequestId}` }),
  ]);
}

// ---------- claims ----------

export const getClaim = (partnerId: string, id: string) => get<ClaimRecord>(claimKey(partnerId, id));
export const listClaims = (partnerId: string) => queryPrefix<ClaimRecord>(`PTR#${partnerId}`, 'CLM#');

export type ClaimCreation = 'ok' | 'amount_exceeds_remaining' | 'fund_request_not_approved' | 'duplicate_invoice';

/** Creates a claim, takes its amount from the fund request's remaining, and locks the invoice number. */
export async function createClaim(claim: ClaimRecord, actor: string): Promise<ClaimCreation> {
  try {
    await ddb().send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: T(), Item: { ...claimKey(claim.partnerId, claim.claimId), type: 'claim', ...claim }, ConditionExpression: 'attribute_not_exists(pk)' } },
          {
            Update: {
              TableName: T(),
              Key: fundRequestKey(claim.partnerId, claim.fundRequestId),
              UpdateExpression: 'SET remaining = remaining - :a, inClaim = inClaim + :a',
              ConditionExpression: '#s = :approved AND remaining >= :a',
              ExpressionAttributeNames: { '#s': 'status' },
              ExpressionAttributeValues: { ':a': claim.amount.amount, ':approved': 'APPROVED' },
            },
          },
          { Put: { TableName: T(), Item: { ...invoiceLockKey(claim.partnerId, claim.invoiceNumber), ownerId: claim.claimId }, ConditionExpression: 'attribute_not_exists(pk)' } },
          auditPut(`CLM#${claim.claimId}`, { at: claim.createdAt, actor, action: 'submitted', fromStatus: null, toStatus: 'SUBMITTED' }),
        ],
      }),
    );
    return 'ok';
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const failed = failedConditionIndexes(error);
    if (failed.includes(2)) return 'duplicate_invoice';
    const frq = await getFundRequest(claim.partnerId, claim.fundRequestId);
    return frq?.status === 'APPROVED' ? 'amount_exceeds_remaining' : 'fund_request_not_approved';
  }
}

function claimUpdate(claim: ClaimRecord, from: ClaimStatus[], to: ClaimStatus, sets: Record<string, unknown>, removes: string[] = []) {
  const names: Record<string, string> = { '#s': 'status' };
  const values: Record<string, unknown> = { ':to': to, ':now': new Date().toISOString() };
  const assignments = ['#s = :to', 'updatedAt = :now'];
  Object.entries(sets).forEach(([field, value], i) => {
    names[`#f${i}`] = field;
    values[`:v${i}`] = value;
    assignments.push(`#f${i} = :v${i}`);
  });
  from.forEach((s, i) => (values[`:from${i}`] = s));
  return {
    Update: {
      TableName: T(),
      Key: claimKey(claim.partnerId, claim.claimId),
      UpdateExpression: `SET ${assignments.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
      ConditionExpression: `#s IN (${from.map((_, i) => `:from${i}`).join(', ')})`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    },
  };
}

const claimAudit = (claim: ClaimRecord, from: ClaimStatus, to: ClaimStatus, actor: string, action: string, comment?: string) =>
  auditPut(`CLM#${claim.claimId}`, { actor, action, fromStatus: from, toStatus: to, ...(comment ? { comment } : {}) });

export function startReview(claim: ClaimRecord): Promise<boolean> {
  return transactUnlessRefused([claimUpdate(claim, ['SUBMITTED'], 'IN_REVIEW', {}), claimAudit(claim, 'SUBMITTED', 'IN_REVIEW', 'workflow', 'review_started')]);
}

export function requestClaimChanges(claim: ClaimRecord, token: string, actor: string, comment: string): Promise<boolean> {
  return transactUnlessRefused([
    claimUpdate(claim, ['IN_REVIEW'], 'CHANGES_REQUESTED', { resubmitToken: token }),
    claimAudit(claim, 'IN_REVIEW', 'CHANGES_REQUESTED', actor, 'changes_requested', comment),
  ]);
}

/**
 * A proof file whose stored bytes are not the declared ones: recorded in the claim's history while
 * the claim is still in the review that found it (its status and updatedAt unchanged).
 */
export function recordProofMismatch(claim: ClaimRecord, comment: string): Promise<boolean> {
  return transactUnlessRefused([
    {
      ConditionCheck: {
        TableName: T(),
        Key: claimKey(claim.partnerId, claim.claimId),
        ConditionExpression: '#s = :s AND updatedAt = :u',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': claim.status, ':u': claim.updatedAt },
      },
    },
    claimAudit(claim, claim.status, claim.status, 'workflow', 'proof_mismatch', comment),
  ]);
}

/** The partner's corrected claim: amount changes move the fund request's remaining in the same transaction. */
export async function resubmitClaim(claim: ClaimRecord, changes: { amount: Money; activityCompletedOn: string; files: ProofFile[] }, actor: string, comment?: string): Promise<'ok' | 'amount_exceeds_remaining' | 'not_awaiting'> {
  const delta = changes.amount.amount - claim.amount.amount;
  try {
    await ddb().send(
      new TransactWriteCommand({
        TransactItems: [
          claimUpdate(claim, ['CHANGES_REQUESTED'], 'IN_REVIEW', { amount: changes.amount, activityCompletedOn: changes.activityCompletedOn, files: changes.files }, ['resubmitToken']),
          {
            Update: {
              TableName: T(),
              Key: fundRequestKey(claim.partnerId, claim.fundRequestId),
              UpdateExpression: 'SET remaining = remaining - :d, inClaim = inClaim + :d',
              ConditionExpression: 'remaining >= :d',
              ExpressionAttributeValues: { ':d': delta },
            },
          },
          claimAudit(claim, 'CHANGES_REQUESTED', 'IN_REVIEW', actor, 'resubmitted', comment),
        ] as never,
      }),
    );
    return 'ok';
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    return failedConditionIndexes(error).includes(1) ? 'amount_exceeds_remaining' : 'not_awaiting';
  }
}

/**
 * Approval settles in one transaction: claim APPROVED with its approved amount, the fund request's
 * in-claim amount becomes claimed (the unapproved part returns to remaining), and the budget moves
 * the approved amount from reserved to approved (and unpaid).
 */
export function settleClaim(claim: ClaimRecord, approved: Money, actor: string, comment?: string): Promise<boolean> {
  const now = new Date().toISOString();
  return transactUnlessRefused([
    {
      ...claimUpdate(claim, ['IN_REVIEW'], 'APPROVED', { approvedAmount: approved, approvedAt: now, gsi1pk: `CLAIMS#APPROVED#${monthOf(now)}`, gsi1sk: `${claim.partnerId}#${claim.claimId}` }),
    },
    {
      Update: {
        TableName: T(),
        Key: fundRequestKey(claim.partnerId, claim.fundRequestId),
        UpdateExpression: 'SET inClaim = inClaim - :a, claimed = claimed + :ok, remaining = remaining + :back',
        ConditionExpression: 'inClaim >= :a',
        ExpressionAttributeValues: { ':a': claim.amount.amount, ':ok': approved.amount, ':back': claim.amount.amount - approved.amount },
      },
    },
    {
      Update: {
        TableName: T(),
        Key: budgetKey(claim.partnerId, claim.period),
        UpdateExpression: 'SET reserved = reserved - :a, approved = approved + :a, unpaid = unpaid + :a, version = version + :one',
        ConditionExpression: 'reserved >= :a AND currency = :cur',
        ExpressionAttributeValues: { ':a': approved.amount, ':cur': approved.currency, ':one': 1 },
      },
    },
    { Put: { TableName: T(), Item: claimDueItem(claim, approved, now), ConditionExpression: 'attribute_not_exists(pk)' } },
    claimAudit(claim, 'IN_REVIEW', 'APPROVED', actor, 'approved', comment ?? `Approved ${approved.amount} of ${claim.amount.amount} ${approved.currency}`),
    auditPut(budgetHistoryPk(claim.partnerId, claim.period), { at: now, actor, action: 'claim_approved', fromStatus: null, toStatus: null, comment: `${approved.amount} reserved → approved for ${claim.claimId}` }),
  ]);
}

/** Rejection returns the claimed amount to the fund request and frees the invoice number. */
export function rejectClaim(claim: ClaimRecord, actor: string, comment?: string): Promise<boolean> {
  return transactUnlessRefused([
    claimUpdate(claim, ['SUBMITTED', 'IN_REVIEW', 'CHANGES_REQUESTED'], 'REJECTED', {}, ['resubmitToken']),
    {
      Update: {
        TableName: T(),
        Key: fundRequestKey(claim.partnerId, claim.fundRequestId),
        UpdateExpression: 'SET inClaim = inClaim - :a, remaining = remaining + :a',
        ConditionExpression: 'inClaim >= :a',
        ExpressionAttributeValues: { ':a': claim.amount.amount },
      },
    },
    {
      Delete: {
        TableName: T(),
        Key: invoiceLockKey(claim.partnerId, claim.invoiceNumber),
        ConditionExpression: 'ownerId = :me',
        ExpressionAttributeValues: { ':me': claim.claimId },
      },
    },
    claimAudit(claim, claim.status, 'REJECTED', actor, 'rejected', comment),
  ]);
}
