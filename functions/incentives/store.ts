import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { auditPut } from '../core/audit.ts';
import { ddb, queryAll, tableName, transactUnlessRefused } from '../core/ddb.ts';
import { isConditionFailure } from '../core/errors.ts';
import type { Money } from '../core/money.ts';
import { canonicalIdentifier } from '../core/text.ts';
import { budgetKey, claimKey } from '../mdf/store.ts';
import type { Line, PaymentStatus, Program, Sale } from './model.ts';

/*
 * Access patterns
 * - programs:            pk = PROGRAMS, sk = PRG#<id>             (few; one Query lists them)
 * - sale:                pk = PTR#<partnerId>, sk = SALE#<canonical dealId> (dealId unique per partner by key)
 * - clawback:            pk = PTR#<partnerId>, sk = CLAWBACK#<dealId>
 * - carried balance:     pk = PTR#<partnerId>, sk = CARRY#<runId>#<currency>
 * - partners in pages:   gsi1pk = PARTNERS, gsi1sk = <partnerId>   (set on partner items)
 * - payout run:          pk = RUN#<runId>, sk = META               history pk = RUN#<runId>, sk HIST#
 * - one run per period:  pk = RUNPERIOD#<YYYY-MM>, sk = LOCK (runId; a REJECTED run's lock may be taken over)
 * - payment (+ lines):   pk = RUN#<runId>, sk = PAY#<paymentId>   (the export reads them in key order)
 * A source (claim, clawback, carried balance, late sale) joins a run by a conditional `payoutRunId`
 * write, so it can be in one live run only; on-time sales belong to their period's single run.
 */
export type RunStatus = 'CALCULATING' | 'AWAITING_APPROVAL' | 'APPROVED' | 'REJECTED' | 'PAID' | 'FAILED';

export interface RunRecord {
  runId: string;
  period: string;
  status: RunStatus;
  createdAt: string;
  createdBy: string;
  /** The run takes the sales posted before this instant (see config salesSettleSeconds); absent: createdAt. */
  salesCutoff?: string;
  totals?: { currency: string; amount: number; payments: number }[];
  heldCount?: number;
  pendingPayments?: number;
}

export interface StoredLine extends Line {
  lineId: string;
  /** For mdf_claim lines: the budget quarter the claim's money sits in. */
  budgetPeriod?: string;
  /** For lines accruing late sales: the deals, released again if the run is rejected. */
  lateDealIds?: string[];
}

export interface PaymentRecord {
  paymentId: string;
  runId: string;
  period: string;
  partnerId: string;
  partnerLegalName: string;
  payeeReference?: string;
  currency: string;
  amount: number;
  status: PaymentStatus;
  lines: StoredLine[];
  lineCount: number;
  paidOn?: string;
  bankReference?: string;
  /** Why a HELD payment is held: no payee reference on file, or the partner's calculation failed. */
  heldReason?: HeldReason;
  /** For a calculation_error: what failed, for the finance team. */
  heldDetail?: string;
}

export type HeldReason = 'no_payee_reference' | 'calculation_error';

export interface SaleRecord extends Sale {
  partnerId: string;
  status: 'ACTIVE' | 'REVERSED';
  createdAt: string;
  /** For a late sale (posted after its period's run cut off sales): the run that accrued it (see joinRun). */
  payoutRunId?: string;
}

export const runKey = (runId: string) => ({ pk: `RUN#${runId}`, sk: 'META' });
const periodLockKey = (period: string) => ({ pk: `RUNPERIOD#${period}`, sk: 'LOCK' });
/** Deal ids compare canonically (core/text.ts): "D‐１" and "d-1" are the same deal. */
export const dealKey = (dealId: string) => canonicalIdentifier(dealId).toUpperCase();
export const saleKey = (partnerId: string, dealId: string) => ({ pk: `PTR#${partnerId}`, sk: `SALE#${dealKey(dealId)}` });
export const paymentKey = (runId: string, paymentId: string) => ({ pk: `RUN#${runId}`, sk: `PAY#${paymentId}` });

function strip<T>(item: Record<string, unknown> | undefined): T | undefined {
  if (!item) return undefined;
  const { pk: _pk, sk: _sk, type: _t, gsi1pk: _g1, gsi1sk: _g2, ...rest } = item;
  return rest as T;
}

const get = async <T>(key: { pk: string; sk: string }) =>
  strip<T>((await ddb().send(new GetCommand({ TableName: tableName(), Key: key, ConsistentRead: true }))).Item);

// ---------- programs and sales ----------

export async function createProgram(program: Program, actor: string): Promise<void> {
  const now = new Date().toISOString();
  const ok = await transactUnlessRefused([
    { Put: { TableName: tableName(), Item: { pk: 'PROGRAMS', sk: `PRG#${program.programId}`, type: 'program', ...program, createdAt: now }, ConditionExpression: 'attribute_not_exists(pk)' } },
    auditPut(`PRG#${program.programId}`, { at: now, actor, action: 'created', fromStatus: null, toStatus: 'ACTIVE' }),
  ]);
  if (!ok) throw new Error('Program id collision');
}

export async function listPrograms(): Promise<Program[]> {
  return (await queryAll({ KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)', ExpressionAttributeValues: { ':pk': 'PROGRAMS', ':p': 'PRG#' } })).map((i) => strip<Program>(i)!);
}

/** Stores each sale once per dealId (a conditional put); returns the deal ids that were already there. */
export async function putSales(partnerId: string, sales: Sale[], now: string): Promise<{ accepted: string[]; duplicates: string[] }> {
  const accepted: string[] = [];
  const duplicates: string[] = [];
  const seen = new Set<string>();
  const unique = sales.filter((s) => (seen.has(dealKey(s.dealId)) ? (duplicates.push(s.dealId), false) : (seen.add(dealKey(s.dealId)), true)));
  const CONCURRENCY = 16;
  for (let i = 0; i < unique.length; i += CONCURRENCY) {
    await Promise.all(
      unique.slice(i, i + CONCURRENCY).map(async (sale) => {
        try {
          await ddb().send(
            new PutCommand({
              TableName: tableName(),
              Item: { ...saleKey(partnerId, sale.dealId), type: 'sale', ...sale, partnerId, status: 'ACTIVE', createdAt: now },
              ConditionExpression: 'attribute_not_exists(pk)',
            }),
          );
          accepted.push(sale.dealId);
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
          duplicates.push(sale.dealId);
        }
      }),
    );
  }
  return { accepted, duplicates };
}

export const getSale = (partnerId: string, dealId: string) => get<SaleRecord>(saleKey(partnerId, dealId));

/**
 * Reverses a sale; when it was already paid, the clawback lines go in the same transaction. With
 * `untaken`, only while no run has taken it (for late sales: a run's joinRun and this race safely).
 */
export async function reverseSale(sale: SaleRecord, actor: string, clawback?: { compensatesRunId: string; lines: Line[] }, untaken = false): Promise<boolean> {
  const now = new Date().toISOString();
  return transactUnlessRefused([
    {
      Update: {
        TableName: tableName(),
        Key: saleKey(sale.partnerId, sale.dealId),
        UpdateExpression: 'SET #s = :rev, reversedAt = :now',
        ConditionExpression: untaken ? '#s = :active AND attribute_not_exists(payoutRunId)' : '#s = :active',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':rev': 'REVERSED', ':active': 'ACTIVE', ':now': now },
      },
    },
    ...(clawback
      ? [
          {
            Put: {
              TableName: tableName(),
              Item: { pk: `PTR#${sale.partnerId}`, sk: `CLAWBACK#${sale.dealId}`, type: 'clawback', dealId: sale.dealId, partnerId: sale.partnerId, status: 'PENDING', createdAt: now, ...clawback },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        ]
      : []),
    auditPut(`SALE#${sale.partnerId}#${sale.dealId}`, { at: now, actor, action: 'reversed', fromStatus: 'ACTIVE', toStatus: 'REVERSED', ...(clawback ? { comment: `Clawback of run ${clawback.compensatesRunId}` } : {}) }),
  ]);
}

// ---------- runs ----------

export const getRun = (runId: string) => get<RunRecord>(runKey(runId));
/** Sales posted before this instant are the run's period's own ("on time"); later ones are late. */
export const salesCutoffOf = (run: Pick<RunRecord, 'salesCutoff' | 'createdAt'>) => run.salesCutoff ?? run.createdAt;

/**
 * The sales of `period` that runs have accrued, from a partner's partition items: ACTIVE, posted
 * before the cut-off of the period's run, or late and taken by a run other than `exceptRunId`.
 */
export function accruedSales(items: Record<string, unknown>[], period: string, periodCutoff: string, exceptRunId?: string): SaleRecord[] {
  return items
    .filter((i) => String(i.sk).startsWith('SALE#') && i.status === 'ACTIVE' && String(i.closedOn).startsWith(period))
    .filter((i) => String(i.createdAt) < periodCutoff || (i.payoutRunId !== undefined && i.payoutRunId !== exceptRunId))
    .map((i) => strip<SaleRecord>(i)!);
}
export const getRunForPeriod = async (period: string) => {
  const lock = await get<{ runId: string }>(periodLockKey(period));
  return lock ? getRun(lock.runId) : undefined;
};

/** One live run per period: the period lock is taken with the run, or taken over from a REJECTED run. */
export async function createRun(run: RunRecord): Promise<'ok' | 'exists'> {
  const existing = await getRunForPeriod(run.period);
  if (existing && existing.status !== 'REJECTED' && existing.status !== 'FAILED') return 'exists';
  const ok = await transactUnlessRefused([
    {
      Put: {
        TableName: tableName(),
        Item: { ...periodLockKey(run.period), runId: run.runId },
        ConditionExpression: existing ? 'runId = :old' : 'attribute_not_exists(pk)',
        ...(existing ? { ExpressionAttributeValues: { ':old': existing.runId } } : {}),
      },
    },
    { Put: { TableName: tableName(), Item: { ...runKey(run.runId), type: 'payout_run', ...run }, ConditionExpression: 'attribute_not_exists(pk)' } },
    auditPut(runKey(run.runId).pk, { at: run.createdAt, actor: run.createdBy, action: 'started', fromStatus: null, toStatus: 'CALCULATING', comment: `Payout run for ${run.period}` }),
  ]);
  return ok ? 'ok' : 'exists';
}

export function transitionRun(runId: string, from: RunStatus[], to: RunStatus, actor: string, extra: Record<string, unknown> = {}, comment?: string): Promise<boolean> {
  const now = new Date().toISOString();
  const names: Record<string, string> = { '#s': 'status' };
  const values: Record<string, unknown> = { ':to': to, ':now': now };
  const sets = ['#s = :to', 'updatedAt = :now'];
  Object.entries(extra).forEach(([k, v], i) => {
    names[`#e${i}`] = k;
    values[`:e${i}`] = v;
    sets.push(`#e${i} = :e${i}`);
  });
  from.forEach((f, i) => (values[`:f${i}`] = f));
  return transactUnlessRefused([
    {
      Update: {
        TableName: tableName(),
        Key: runKey(runId),
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: `#s IN (${from.map((_, i) => `:f${i}`).join(', ')})`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    },
    auditPut(runKey(runId).pk, { at: now, actor, action: to.toLowerCase(), fromStatus: from.join('|'), toStatus: to, ...(comment ? { comment } : {}) }),
  ]);
}

/** Partners in id order, a page at a time (the payout run's Map works over these pages). */
export async function partnerIdsPage(after: string | null, limit: number): Promise<{ partnerIds: string[]; last: string | null }> {
  const out = await ddb().send(
    new QueryCommand({
      TableName: tableName(),
      IndexName: 'gsi1',
      KeyConditionExpression: after ? 'gsi1pk = :p AND gsi1sk > :after' : 'gsi1pk = :p',
      ExpressionAttributeValues: { ':p': 'PARTNERS', ...(after ? { ':after': after } : {}) },
      ProjectionExpression: 'gsi1sk',
      Limit: limit,
    }),
  );
  const partnerIds = (out.Items ?? []).map((i) => i.gsi1sk as string);
  return { partnerIds, last: out.LastEvaluatedKey ? (partnerIds.at(-1) ?? null) : null };
}

/** Everything in a partner's partition (profile, budgets, requests, claims, sales, clawbacks, balances). */
export async function partnerPartition(partnerId: string): Promise<Record<string, unknown>[]> {
  return queryAll({ KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `PTR#${partnerId}` } });
}

/**
 * Takes a source for a run: succeeds once per run, and never for a second live run. A sale is
 * taken only while ACTIVE (a reversal and a run race safely, see reverseSale).
 */
export async function joinRun(key: { pk: string; sk: string }, runId: string): Promise<boolean> {
  const isSale = key.sk.startsWith('SALE#');
  try {
    await ddb().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: key,
        UpdateExpression: 'SET payoutRunId = :run',
        ConditionExpression: `attribute_exists(pk) AND (attribute_not_exists(payoutRunId) OR payoutRunId = :run)${isSale ? ' AND #s = :active' : ''}`,
        ...(isSale ? { ExpressionAttributeNames: { '#s': 'status' } } : {}),
        ExpressionAttributeValues: { ':run': runId, ...(isSale ? { ':active': 'ACTIVE' } : {}) },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** Releases a source from a rejected run so a later run can take it. */
export async function leaveRun(key: { pk: string; sk: string }, runId: string): Promise<void> {
  try {
    await ddb().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: key,
        UpdateExpression: 'REMOVE payoutRunId',
        ConditionExpression: 'payoutRunId = :run',
        ExpressionAttributeValues: { ':run': runId },
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}

/** Writes a payment (and, for a negative net or a held payment, the balance carried to the next run) at most once. */
export async function putPayment(payment: PaymentRecord, carried?: Money): Promise<void> {
  const items = [
    { Put: { TableName: tableName(), Item: { ...paymentKey(payment.runId, payment.paymentId), type: 'payment', ...payment }, ConditionExpression: 'attribute_not_exists(pk)' } },
    ...(carried && carried.amount !== 0
      ? [
          {
            Put: {
              TableName: tableName(),
              Item: { pk: `PTR#${payment.partnerId}`, sk: `CARRY#${payment.runId}#${carried.currency}`, type: 'carry', fromRunId: payment.runId, partnerId: payment.partnerId, amount: carried, createdAt: new Date().toISOString() },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        ]
      : []),
  ];
  await transactUnlessRefused(items); // refused = written by an earlier attempt of this page
}

/**
 * A run's payments in key order, page by page (never all in memory). The `summary` and `export`
 * reads leave the lines out, for passes over thousands of payments.
 */
const PROJECTIONS = {
  full: undefined,
  summary: 'paymentId, partnerId, currency, amount, #s, heldReason, heldDetail',
  export: 'paymentId, runId, period, partnerId, partnerLegalName, payeeReference, currency, amount, lineCount, #s',
} as const;

export async function* runPayments(runId: string, read: keyof typeof PROJECTIONS = 'full'): AsyncGenerator<PaymentRecord> {
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await ddb().send(
      new QueryCommand({
        TableName: tableName(),
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
        ExpressionAttributeValues: { ':pk': `RUN#${runId}`, ':p': 'PAY#' },
        ...(PROJECTIONS[read] ? { ProjectionExpression: PROJECTIONS[read], ExpressionAttributeNames: { '#s': 'status' } } : {}),
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) yield strip<PaymentRecord>(item)!;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}

export const getPayment = (runId: string, paymentId: string) => get<PaymentRecord>(paymentKey(runId, paymentId));

/**
 * Confirms one payment in one transaction: the payment PAID, each MDF claim in it PAID with its
 * budget's `paid` moved (guarded by `unpaid`), the run's count of pending payments down by one.
 */
/** DynamoDB's limit on the items of one transaction. */
const MAX_TRANSACTION_ITEMS = 100;

/** Whether confirming a payment with these claims (from these many budget quarters) fits one transaction (confirmPayment). */
export const confirmationFits = (claims: number, budgetQuarters: number) => 2 + 2 * claims + budgetQuarters <= MAX_TRANSACTION_ITEMS;

export function confirmPayment(payment: PaymentRecord, paidOn: string, bankReference: string, actor: string): Promise<boolean> {
  const now = new Date().toISOString();
  const claimLines = payment.lines.filter((l) => l.sourceType === 'mdf_claim');
  return transactUnlessRefused([
    {
      Update: {
        TableName: tableName(),
        Key: paymentKey(payment.runId, payment.paymentId),
        UpdateExpression: 'SET #s = :paid, paidOn = :on, bankReference = :ref, confirmedAt = :now',
        ConditionExpression: '#s = :pending',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':paid': 'PAID', ':pending': 'PENDING', ':on': paidOn, ':ref': bankReference, ':now': now },
      },
    },
    {
      Update: {
        TableName: tableName(),
        Key: runKey(payment.runId),
        UpdateExpression: 'SET pendingPayments = pendingPayments - :one',
        ConditionExpression: 'pendingPayments >= :one',
        ExpressionAttributeValues: { ':one': 1 },
      },
    },
    ...claimLines.flatMap((line) => [
      {
        Update: {
          TableName: tableName(),
          Key: claimKey(payment.partnerId, line.sourceId),
          UpdateExpression: 'SET #s = :paid, paymentId = :pay, updatedAt = :now',
          ConditionExpression: '#s = :approved AND payoutRunId = :run',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':paid': 'PAID', ':approved': 'APPROVED', ':pay': payment.paymentId, ':run': payment.runId, ':now': now },
        },
      },
      auditPut(`CLM#${line.sourceId}`, { at: now, actor, action: 'paid', fromStatus: 'APPROVED', toStatus: 'PAID', comment: `Payment ${payment.paymentId}, ${bankReference}` }),
    ]),
    // One update per budget (a transaction may touch an item once), with the claims' sum.
    ...[...sumByBudget(claimLines)].map(([period, amount]) => ({
      Update: {
        TableName: tableName(),
        Key: budgetKey(payment.partnerId, period),
        UpdateExpression: 'SET paid = paid + :a, unpaid = unpaid - :a',
        ConditionExpression: 'unpaid >= :a',
        ExpressionAttributeValues: { ':a': amount },
      },
    })),
  ]);
}

function sumByBudget(lines: StoredLine[]): Map<string, number> {
  const sums = new Map<string, number>();
  for (const l of lines) sums.set(l.budgetPeriod!, (sums.get(l.budgetPeriod!) ?? 0) + l.amount.amount);
  return sums;
}

export { strip };
