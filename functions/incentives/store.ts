import { BatchGetCommand, DeleteCommand, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { auditPut } from '../core/audit.ts';
import { ddb, queryAll, tableName, transactUnlessRefused } from '../core/ddb.ts';
import { failedConditionIndexes, isConditionFailure } from '../core/errors.ts';
import type { Money } from '../core/money.ts';
import { canonicalIdentifier } from '../core/text.ts';
import { budgetKey, claimDueKey, claimKey } from '../mdf/store.ts';
import { confirmationChunks as chunkClaims, type Line, type PaymentStatus, type Program, type Sale } from './model.ts';

/*
 * Access patterns. A payout page reads, per partner, only what the run can pay: each read below is
 * ONE Query whose key condition selects it (no FilterExpression, never the whole partition).
 * - programs:            pk = PROGRAMS, sk = PRG#<id>             (few; one Query lists them)
 * - sale:                pk = PTR#<partnerId>, sk = SALE#<closedOn YYYY-MM-DD>#<canonical dealId>
 *                        a period's sales: begins_with(sk, SALE#<YYYY-MM>-)            (periodSales)
 * - deal id lock:        pk = PTR#<partnerId>, sk = DEAL#<canonical dealId> -> closedOn (one sale
 *                        per dealId, written in the sale's transaction; getSale by dealId reads it)
 * - clawback:            pk = PTR#<partnerId>, sk = CLAWBACK#<dealId>
 * - carried balance:     pk = PTR#<partnerId>, sk = CARRY#<runId>#<currency>
 * - sources due:         pk = PTR#<partnerId>, sk = DUE#BAL#<the clawback's or carried balance's sk>  (pointer)
 *                                                   sk = DUE#LATE#<closedOn>#<canonical dealId>  late sale (pointer)
 *                                                   sk = DUE#MDF#<approvedAt>#<claimId>      approved MDF claim
 *                        Written with the balance / the sale / the claim's approval; a claim's is deleted with
 *                        its payment's confirmation, a pointer once a run finds it stale (what it points at was
 *                        settled, or can never be paid): only what may still be owed is there. ONE Query,
 *                        sk BETWEEN DUE#BAL# AND DUE#MDF#<bound>, reads all balances and late sales and the
 *                        claims approved before <bound> (BAL < LATE < MDF in key order).            (dueSources)
 * - partners in pages:   gsi1pk = PARTNERS, gsi1sk = <partnerId>   (set on partner items)
 * - payout run:          pk = RUN#<runId>, sk = META               history pk = RUN#<runId>, sk HIST#
 * - one run per period:  pk = RUNPERIOD#<YYYY-MM>, sk = LOCK (runId; a REJECTED run's lock may be taken over)
 * - payment (+ lines):   pk = RUN#<runId>, sk = PAY#<paymentId>   (the export reads them in key order)
 * A source (claim, clawback, carried balance, late sale) joins a run by a conditional `payoutRunId`
 * write, so it can be in one live run only; on-time sales belong to their period's single run.
 *
 * Late sales. A sale is late when it was posted at or after its period's run cut off sales. Its
 * DUE#LATE# entry is what lets a later run find it without reading older periods: the sale's own
 * transaction writes it when the period already has a run lock, and otherwise checks (ConditionCheck)
 * that there is none; a sale committed before the lock and posted within the settle time before the
 * run (so late all the same) is seen by that run's page, which writes its entry. The entry is only a
 * pointer: the run that takes the sale checks the sale itself, and drops entries that are stale (on
 * time after all, reversed, or taken by a settled run).
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
  /** For mdf_claim lines: the budget quarter the claim's money sits in, and when it was approved (its DUE#MDF# key). */
  budgetPeriod?: string;
  approvedAt?: string;
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
  /** The chunks of its MDF claims a confirmation has committed so far (confirmPayment), while PENDING. */
  confirmedChunks?: Set<number>;
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
export const saleKey = (partnerId: string, closedOn: string, dealId: string) => ({ pk: `PTR#${partnerId}`, sk: `SALE#${closedOn}#${dealKey(dealId)}` });
export const dealLockKey = (partnerId: string, dealId: string) => ({ pk: `PTR#${partnerId}`, sk: `DEAL#${dealKey(dealId)}` });
export const balanceDueKey = (partnerId: string, sk: string) => ({ pk: `PTR#${partnerId}`, sk: `DUE#BAL#${sk}` });
const balanceDuePut = (partnerId: string, sk: string) => ({ Put: { TableName: tableName(), Item: { ...balanceDueKey(partnerId, sk), type: 'balance_due', partnerId, ref: sk } } });
export const lateSaleDueKey = (partnerId: string, closedOn: string, dealId: string) => ({ pk: `PTR#${partnerId}`, sk: `DUE#LATE#${closedOn}#${dealKey(dealId)}` });
/** The item that says a sale may be late (see the header): a pointer, rewritten with the same content. */
export const lateSaleDueItem = (partnerId: string, sale: Pick<Sale, 'dealId' | 'closedOn'>) => ({ ...lateSaleDueKey(partnerId, sale.closedOn, sale.dealId), type: 'late_sale_due', partnerId, dealId: sale.dealId, closedOn: sale.closedOn });
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

/**
 * Stores each sale once per dealId, in one transaction per sale: the deal id lock (conditional), the
 * sale under its period's key and, when its period's run lock exists, its DUE#LATE# entry; when the
 * lock does not exist, a ConditionCheck that it still does not (a run created meanwhile makes the
 * sale try again, with the entry). Returns the deal ids that were already there.
 */
export async function putSales(partnerId: string, sales: Sale[], now: string): Promise<{ accepted: string[]; duplicates: string[] }> {
  const accepted: string[] = [];
  const duplicates: string[] = [];
  const seen = new Set<string>();
  const unique = sales.filter((s) => (seen.has(dealKey(s.dealId)) ? (duplicates.push(s.dealId), false) : (seen.add(dealKey(s.dealId)), true)));
  const locked = new Map<string, Promise<boolean>>();
  const periodLocked = (period: string) => {
    if (!locked.has(period)) locked.set(period, ddb().send(new GetCommand({ TableName: tableName(), Key: periodLockKey(period), ConsistentRead: true, ProjectionExpression: 'pk' })).then((o) => Boolean(o.Item)));
    return locked.get(period)!;
  };
  const CONCURRENCY = 16;
  for (let i = 0; i < unique.length; i += CONCURRENCY) {
    await Promise.all(
      unique.slice(i, i + CONCURRENCY).map(async (sale) => {
        const period = sale.closedOn.slice(0, 7);
        for (let attempt = 0; ; attempt++) {
          const late = await periodLocked(period);
          try {
            await ddb().send(
              new TransactWriteCommand({
                TransactItems: [
                  { Put: { TableName: tableName(), Item: { ...dealLockKey(partnerId, sale.dealId), type: 'deal_lock', dealId: sale.dealId, closedOn: sale.closedOn }, ConditionExpression: 'attribute_not_exists(pk)' } },
                  { Put: { TableName: tableName(), Item: { ...saleKey(partnerId, sale.closedOn, sale.dealId), type: 'sale', ...sale, partnerId, status: 'ACTIVE', createdAt: now } } },
                  late
                    ? { Put: { TableName: tableName(), Item: lateSaleDueItem(partnerId, sale) } }
                    : { ConditionCheck: { TableName: tableName(), Key: periodLockKey(period), ConditionExpression: 'attribute_not_exists(pk)' } },
                ],
              }),
            );
            accepted.push(sale.dealId);
            return;
          } catch (error) {
            const failed = failedConditionIndexes(error);
            if (failed.includes(0)) return void duplicates.push(sale.dealId);
            // The period's run lock appeared (or the transaction met the run's own): again, as late.
            const conflict = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons?.some((r) => r.Code === 'TransactionConflict');
            if ((failed.includes(2) || conflict) && attempt < 5) {
              locked.delete(period);
              await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
              continue;
            }
            throw error;
          }
        }
      }),
    );
  }
  return { accepted, duplicates };
}

/** The sale of a deal id (via its lock, which knows the sale's date). */
export async function getSale(partnerId: string, dealId: string): Promise<SaleRecord | undefined> {
  const lock = await get<{ closedOn: string }>(dealLockKey(partnerId, dealId));
  return lock ? get<SaleRecord>(saleKey(partnerId, lock.closedOn, dealId)) : undefined;
}

/** The sales of one period (ACTIVE and REVERSED, with their keys): one Query on the period's key range. */
export function periodSales(partnerId: string, period: string): Promise<Record<string, unknown>[]> {
  return queryAll({ KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)', ExpressionAttributeValues: { ':pk': `PTR#${partnerId}`, ':p': `SALE#${period}-` }, ConsistentRead: true });
}

/** What is due to a partner (see the header): every DUE#BAL# and DUE#LATE# entry and the DUE#MDF# claims approved before `before`. */
export function dueSources(partnerId: string, before: string): Promise<Record<string, unknown>[]> {
  return queryAll({ KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to', ExpressionAttributeValues: { ':pk': `PTR#${partnerId}`, ':from': 'DUE#BAL#', ':to': `DUE#MDF#${before}` }, ConsistentRead: true });
}

/** The item a DUE# pointer names (with its keys), or undefined. */
export async function pointedItem(partnerId: string, sk: string): Promise<Record<string, unknown> | undefined> {
  return (await ddb().send(new GetCommand({ TableName: tableName(), Key: { pk: `PTR#${partnerId}`, sk }, ConsistentRead: true }))).Item;
}

/** The partners' profiles (META items) of a page, in one BatchGetItem per 100, strongly consistent. */
export async function partnerProfiles(partnerIds: string[]): Promise<Map<string, Record<string, unknown>>> {
  const out = new Map<string, Record<string, unknown>>();
  for (let i = 0; i < partnerIds.length; i += 100) {
    let keys: Record<string, unknown>[] = partnerIds.slice(i, i + 100).map((id) => ({ pk: `PTR#${id}`, sk: 'META' }));
    for (let attempt = 0; keys.length; attempt++) {
      if (attempt) await new Promise((r) => setTimeout(r, Math.min(1_000, 25 * 2 ** attempt)));
      const res = await ddb().send(new BatchGetCommand({ RequestItems: { [tableName()]: { Keys: keys, ConsistentRead: true } } }));
      for (const item of res.Responses?.[tableName()] ?? []) out.set(String(item.partnerId), item);
      keys = (res.UnprocessedKeys?.[tableName()]?.Keys ?? []) as Record<string, unknown>[];
    }
  }
  return out;
}

/** A sale posted at or after its period's run cut off sales is late: its DUE#LATE# entry (idempotent). */
export async function markLate(partnerId: string, sale: Pick<Sale, 'dealId' | 'closedOn'>): Promise<void> {
  await ddb().send(new PutCommand({ TableName: tableName(), Item: lateSaleDueItem(partnerId, sale) }));
}

/** Drops a DUE# entry that no longer points at anything owed. */
export async function dropDue(key: { pk: string; sk: string }): Promise<void> {
  await ddb().send(new DeleteCommand({ TableName: tableName(), Key: { pk: key.pk, sk: key.sk } }));
}


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
        Key: saleKey(sale.partnerId, sale.closedOn, sale.dealId),
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
          balanceDuePut(sale.partnerId, `CLAWBACK#${sale.dealId}`),
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
 * The sales of `period` that runs have accrued, from its sales (periodSales): ACTIVE, posted
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

/** Everything in a partner's partition: for inspection and tests; the payout reads only the bounded queries above. */
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
          balanceDuePut(payment.partnerId, `CARRY#${payment.runId}#${carried.currency}`),
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

/** DynamoDB's limit on the items of one transaction. */
const MAX_TRANSACTION_ITEMS = 100;

const isTransactionConflict = (error: unknown) => {
  const e = error as { name?: string; CancellationReasons?: { Code?: string }[] };
  return e?.name === 'TransactionConflictException' || (e?.name === 'TransactionCanceledException' && (e.CancellationReasons ?? []).some((r) => r.Code === 'TransactionConflict'));
};

/** transactUnlessRefused, tried again when it met another transaction on the same items (two confirmations at once): the conditions then decide. */
async function transactDecided(items: Parameters<typeof transactUnlessRefused>[0]): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await transactUnlessRefused(items);
    } catch (error) {
      if (!isTransactionConflict(error) || attempt >= 6) throw error;
      await new Promise((r) => setTimeout(r, Math.random() * 25 * 2 ** attempt));
    }
  }
}

/** The chunks a payment's confirmation commits (model.ts confirmationChunks, within DynamoDB's 100 items a transaction). */
export const confirmationChunks = (payment: Pick<PaymentRecord, 'lines'>): StoredLine[][] => chunkClaims(payment.lines, MAX_TRANSACTION_ITEMS);

/** The writes that pay a chunk's claims: each claim PAID (only if APPROVED and in this run), its due entry gone, budgets moved. */
function claimChunkWrites(payment: PaymentRecord, lines: StoredLine[], bankReference: string, actor: string, now: string) {
  return [
    ...lines.flatMap((line) => [
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
      // Claims paid before due entries existed have none: deleting a missing item is a no-op.
      { Delete: { TableName: tableName(), Key: claimDueKey(payment.partnerId, line.approvedAt ?? '', line.sourceId) } },
    ]),
    // One update per budget (a transaction may touch an item once), with the chunk's claims' sum.
    ...[...sumByBudget(lines)].map(([period, amount]) => ({
      Update: {
        TableName: tableName(),
        Key: budgetKey(payment.partnerId, period),
        UpdateExpression: 'SET paid = paid + :a, unpaid = unpaid - :a',
        ConditionExpression: 'unpaid >= :a',
        ExpressionAttributeValues: { ':a': amount },
      },
    })),
  ];
}

/**
 * Commits chunk `index` (not the last) of a payment's confirmation: its claims paid and the index
 * added to the payment's `confirmedChunks`, under the condition that the payment is PENDING and the
 * chunk is not in it yet. A retry, or a second confirmation at the same time, is refused: `false`.
 */
export function confirmChunk(payment: PaymentRecord, index: number, bankReference: string, actor: string): Promise<boolean> {
  const chunk = confirmationChunks(payment)[index]!;
  const now = new Date().toISOString();
  return transactDecided([
    {
      Update: {
        TableName: tableName(),
        Key: paymentKey(payment.runId, payment.paymentId),
        UpdateExpression: 'ADD confirmedChunks :c',
        ConditionExpression: '#s = :pending AND (attribute_not_exists(confirmedChunks) OR NOT contains(confirmedChunks, :i))',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':c': new Set([index]), ':i': index, ':pending': 'PENDING' },
      },
    },
    ...claimChunkWrites(payment, chunk, bankReference, actor, now),
  ]);
}

/**
 * Confirms one payment: its MDF claims in chunks (confirmationChunks) of one transaction each; the
 * last chunk goes with the payment PAID and the run's count of pending payments down by one, under
 * the condition that every earlier chunk is committed. Each claim is PAID once (its condition), each
 * budget moves by exactly the claims paid with it, the payment turns PAID once, after all of them.
 * A confirmation that stopped half-way is completed by the next one (chunks already in are skipped).
 * `false`: the payment was already PAID (or not PENDING).
 */
export async function confirmPayment(payment: PaymentRecord, paidOn: string, bankReference: string, actor: string): Promise<boolean> {
  const chunks = confirmationChunks(payment);
  const last = chunks.length - 1;
  for (let index = 0; index < last; index++) {
    if (payment.confirmedChunks?.has(index)) continue;
    if (await confirmChunk(payment, index, bankReference, actor)) continue;
    const latest = await getPayment(payment.runId, payment.paymentId);
    if (latest?.status !== 'PENDING') return false;
    if (!latest.confirmedChunks?.has(index)) throw new Error(`Payment ${payment.paymentId}: chunk ${index} of its claims could not be marked paid`);
  }
  const now = new Date().toISOString();
  return transactDecided([
    {
      Update: {
        TableName: tableName(),
        Key: paymentKey(payment.runId, payment.paymentId),
        UpdateExpression: 'SET #s = :paid, paidOn = :on, bankReference = :ref, confirmedAt = :now',
        ConditionExpression: last > 0 ? '#s = :pending AND size(confirmedChunks) = :chunks' : '#s = :pending',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':paid': 'PAID', ':pending': 'PENDING', ':on': paidOn, ':ref': bankReference, ':now': now, ...(last > 0 ? { ':chunks': last } : {}) },
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
    ...claimChunkWrites(payment, chunks[last]!, bankReference, actor, now),
  ]);
}

function sumByBudget(lines: StoredLine[]): Map<string, number> {
  const sums = new Map<string, number>();
  for (const l of lines) sums.set(l.budgetPeriod!, (sums.get(l.budgetPeriod!) ?? 0) + l.amount.amount);
  return sums;
}

export { strip };
