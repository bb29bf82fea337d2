import type { ApprovalSummary } from '../approvals/model.ts';
import { getPartner } from '../applications/store.ts';
import { approvalTimeouts, config } from '../core/config.ts';
import { logger } from '../core/log.ts';
import { publishEvent } from '../core/events.ts';
import { newId } from '../core/ids.ts';
import { formatDisplay, money, type Money } from '../core/money.ts';
import { isTransient, taskHandler } from '../core/tasks.ts';
import { workflows } from '../core/workflow-client.ts';
import type { Tier } from '../core/config.ts';
import { claimKey } from '../mdf/store.ts';
import { sendEmail } from '../notifications/email.ts';
import { ensureExport } from './exports.ts';
import { accrualLines, derivedId, lateSaleLines, netByCurrency, paymentStatusFor, periodBounds, previousMonth, type Line, type Program } from './model.ts';
import {
  accruedSales,
  partnerProfiles,
  pointedItem,
  createRun,
  dropDue,
  dueSources,
  getRun,
  getRunForPeriod,
  getSale,
  joinRun,
  markLate,
  leaveRun,
  listPrograms,
  partnerIdsPage,
  periodSales,
  putPayment,
  runPayments,
  saleKey,
  salesCutoffOf,
  strip,
  transitionRun,
  type RunRecord,
  type SaleRecord,
  type PaymentRecord,
  type StoredLine,
} from './store.ts';
import { recordMetric } from '../core/metrics.ts';

export const PAGE_SIZE = 100;

const PARTNER_CONCURRENCY = 8;

/** Starts a payout run (used by POST /payout-runs and by the monthly schedule). */
export async function startRun(period: string, actor: string): Promise<{ ok: true; runId: string } | { ok: false }> {
  const runId = newId('payoutRun');
  const now = Date.now();
  const salesCutoff = new Date(now - config().salesSettleSeconds * 1000).toISOString();
  const created = await createRun({ runId, period, status: 'CALCULATING', createdAt: new Date(now).toISOString(), createdBy: actor, salesCutoff });
  if (created === 'exists') return { ok: false };
  await workflows.get().start('payout-run', { runId, period, timeouts: approvalTimeouts() }, runId);
  return { ok: true, runId };
}

/** Page boundaries only (a partner id per page), so the Map's input stays a few KB at 10,000 partners. */
async function prepareRun(input: { runId: string }) {
  const pages: { index: number; after: string | null }[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await partnerIdsPage(after, PAGE_SIZE);
    if (!page.partnerIds.length) break;
    pages.push({ index: pages.length, after });
    if (!page.last) break;
    after = page.last;
  }
  return { runId: input.runId, pages };
}

/** Per page: the status of runs by id, and the live run of each period (few distinct ones). */
function runLookups() {
  const statuses = new Map<string, Promise<string | undefined>>();
  const byPeriod = new Map<string, Promise<RunRecord | undefined>>();
  return {
    status: (runId: string) => {
      if (!statuses.has(runId)) statuses.set(runId, getRun(runId).then((r) => r?.status));
      return statuses.get(runId)!;
    },
    forPeriod: (period: string) => {
      if (!byPeriod.has(period)) byPeriod.set(period, getRunForPeriod(period));
      return byPeriod.get(period)!;
    },
  };
}
type RunLookups = ReturnType<typeof runLookups>;

const SETTLED_RUN = new Set(['APPROVED', 'PAID']);

/** A partner's claims go into one payment item (at most 400 KB): beyond this, oldest first, the next run pays the rest. */
export const MAX_CLAIMS_PER_PAYMENT = 500;

const isSale = (i: Record<string, unknown>) => String(i.sk).startsWith('SALE#') && i.status === 'ACTIVE';
const isLateDue = (i: Record<string, unknown>) => String(i.sk).startsWith('DUE#LATE#');
const isClaimDue = (i: Record<string, unknown>) => String(i.sk).startsWith('DUE#MDF#');
const keyOf = (i: Record<string, unknown>) => ({ pk: i.pk as string, sk: i.sk as string });

/** The first instant after a period (its claims are those approved before it). */
const afterPeriod = (period: string) => {
  const [y, m] = period.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m, 1)).toISOString();
};

/**
 * What a run reads of one partner, each one Query bounded by its key (store.ts header): the profile,
 * the period's own sales, what is due (late sales, claims approved before the period ended and
 * before the run started: a retried page sees exactly what the first attempt saw), and balances.
 */
async function gather(run: RunRecord, partnerId: string, runs: RunLookups) {
  const end = afterPeriod(run.period);
  const [sales, due] = await Promise.all([periodSales(partnerId, run.period), dueSources(partnerId, run.createdAt < end ? run.createdAt : end)]);
  return { sales, due, balances: await balancesDue(run, partnerId, due, runs) };
}

/** A run that will never pay what it wrote (its carried balance, or the clawback of what it paid). */
const DEAD_RUN = new Set(['REJECTED', 'FAILED']);

/**
 * The clawbacks and carried balances the DUE#BAL# pointers name; a pointer whose balance is settled
 * (taken by an APPROVED or PAID run, a clawback no longer PENDING) or can never be paid (it comes
 * from a rejected or failed run) is dropped.
 */
async function balancesDue(run: RunRecord, partnerId: string, due: Record<string, unknown>[], runs: RunLookups): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (const pointer of due.filter((i) => String(i.sk).startsWith('DUE#BAL#'))) {
    const item = await pointedItem(partnerId, String(pointer.ref));
    const takenBy = item?.payoutRunId as string | undefined;
    const origin = item ? String(item.fromRunId ?? item.compensatesRunId) : '';
    const stale =
      !item ||
      (item.type === 'clawback' && item.status !== 'PENDING') ||
      (takenBy !== undefined && takenBy !== run.runId && SETTLED_RUN.has((await runs.status(takenBy)) ?? '')) ||
      DEAD_RUN.has((await runs.status(origin)) ?? '');
    if (stale) await dropDue(keyOf(pointer));
    else out.push(item);
  }
  return out;
}

/**
 * Late sales this run accrues: ACTIVE sales of earlier periods posted after their period's run cut
 * off sales, once that run is settled (APPROVED or PAID: never rejected any more), posted before
 * this run's own cut-off, and not taken by another run. They are found through their DUE#LATE#
 * entries; each period with one is read (its sales: one Query) to check the sale itself and to
 * know what the period accrued. Each is taken with a conditional write; the lines are the
 * difference the taken ones make to their period's accrual (lateSaleLines). Entries that point at
 * nothing owed any more (the sale was on time after all, reversed, or paid by a settled run) are dropped.
 */
async function lateSaleLinesFor(run: RunRecord, partnerId: string, tier: Tier, due: Record<string, unknown>[], programs: Program[], runs: RunLookups): Promise<(Line & { lateDealIds: string[] })[]> {
  const { start } = periodBounds(run.period);
  const cutoff = salesCutoffOf(run);
  const byPeriod = new Map<string, Record<string, unknown>[]>();
  for (const entry of due) {
    if (!isLateDue(entry) || String(entry.closedOn) >= start) continue;
    const period = String(entry.closedOn).slice(0, 7);
    byPeriod.set(period, [...(byPeriod.get(period) ?? []), entry]);
  }
  const out: (Line & { lateDealIds: string[] })[] = [];
  for (const [period, entries] of byPeriod) {
    const periodRun = await runs.forPeriod(period);
    if (!periodRun || !SETTLED_RUN.has(periodRun.status)) continue;
    const periodCutoff = salesCutoffOf(periodRun);
    const sales = await periodSales(partnerId, period);
    const bySk = new Map(sales.map((i) => [String(i.sk), i]));
    const candidates: Record<string, unknown>[] = [];
    for (const entry of entries) {
      const s = bySk.get(saleKey(partnerId, String(entry.closedOn), String(entry.dealId)).sk);
      const takenBy = s?.payoutRunId as string | undefined;
      const stale = !s || s.status !== 'ACTIVE' || String(s.createdAt) < periodCutoff || (takenBy !== undefined && takenBy !== run.runId && SETTLED_RUN.has((await runs.status(takenBy)) ?? ''));
      if (stale) await dropDue(keyOf(entry));
      else if (String(s.createdAt) < cutoff && (takenBy === undefined || takenBy === run.runId)) candidates.push(s);
    }
    const taken: Record<string, unknown>[] = [];
    for (const i of candidates) if (await joinRun(keyOf(i), run.runId)) taken.push(i);
    if (!taken.length) continue;
    const lines = lateSaleLines(programs, tier, partnerId, period, accruedSales(sales, period, periodCutoff, run.runId), taken.map((i) => strip<SaleRecord>(i)!));
    const lateDealIds = taken.map((i) => String(i.dealId));
    for (const l of lines) out.push({ ...l, lateDealIds });
  }
  return out;
}

/** One partner's share of a run: gather, take the sources for this run, net per currency, write payments. */
async function processPartner(run: RunRecord, partnerId: string, profile: Record<string, unknown> | undefined, programs: Program[], runs: RunLookups) {
  if (!profile) return;
  const { sales: periodItems, due, balances: held } = await gather(run, partnerId, runs);
  const tier = profile.tier as Tier;
  const mine = (i: Record<string, unknown>) => i.payoutRunId === undefined || i.payoutRunId === run.runId;
  const lines: StoredLine[] = [];
  const line = (l: Line, extra: Partial<StoredLine> = {}): StoredLine => ({ lineId: derivedId('lin', run.runId, partnerId, l.sourceType, l.sourceId), ...l, ...extra });
  // Only what existed when the run started: a retried page then sees exactly what the first attempt saw.
  const beforeRun = (at: unknown) => String(at) < run.createdAt;

  // Approved claims awaiting payment, oldest first (key order), as many as one payment item holds;
  // past that, any this run took in an earlier attempt is let go again, so none is left stranded.
  let taken = 0;
  for (const claim of due.filter(isClaimDue)) {
    const key = claimKey(partnerId, claim.claimId as string);
    if (taken >= MAX_CLAIMS_PER_PAYMENT) {
      await leaveRun(key, run.runId);
      continue;
    }
    if (!(await joinRun(key, run.runId))) continue;
    taken++;
    lines.push(line({ sourceType: 'mdf_claim', sourceId: claim.claimId as string, description: `MDF claim, invoice ${String(claim.invoiceNumber)}`, amount: claim.approvedAmount as Money }, { budgetPeriod: claim.period as string, approvedAt: claim.approvedAt as string }));
  }
  // The period's own sales: posted before the run's cut-off (never taken by a run: only late ones are).
  // Those posted since (within the settle time before the run started) are late: give each its entry.
  const cutoff = salesCutoffOf(run);
  const sales: SaleRecord[] = [];
  for (const i of periodItems.filter((x) => isSale(x) && x.payoutRunId === undefined)) {
    if (String(i.createdAt) < cutoff) sales.push(strip<SaleRecord>(i)!);
    else await markLate(partnerId, strip<SaleRecord>(i)!);
  }
  lines.push(...accrualLines(programs, tier, partnerId, run.period, sales).map((l) => line(l)));
  for (const { lateDealIds, ...l } of await lateSaleLinesFor(run, partnerId, tier, due, programs, runs)) lines.push(line(l, { lateDealIds }));
  for (const clawback of held.filter((i) => String(i.sk).startsWith('CLAWBACK#') && i.status === 'PENDING' && mine(i) && beforeRun(i.createdAt))) {
    if (!SETTLED_RUN.has((await runs.status(clawback.compensatesRunId as string)) ?? '')) continue;
    if (!(await joinRun(keyOf(clawback), run.runId))) continue;
    for (const l of clawback.lines as Line[]) lines.push(line({ ...l, sourceType: 'clawback', sourceId: `${l.sourceId}:${String(clawback.dealId)}` }));
  }
  for (const carry of held.filter((i) => String(i.sk).startsWith('CARRY#') && i.fromRunId !== run.runId && mine(i) && beforeRun(i.createdAt))) {
    if (!SETTLED_RUN.has((await runs.status(carry.fromRunId as string)) ?? '')) continue;
    if (!(await joinRun(keyOf(carry), run.runId))) continue;
    lines.push(line({ sourceType: 'carry_forward', sourceId: `${String(carry.fromRunId)}:${(carry.amount as Money).currency}`, description: `Balance carried from run ${String(carry.fromRunId)}`, amount: carry.amount as Money }));
  }
  for (const [currency, { net, lines: currencyLines }] of netByCurrency(lines)) {
    const payeeReference = profile.payeeReference as string | undefined;
    const status = paymentStatusFor(net, Boolean(payeeReference));
    const claimLines = (currencyLines as StoredLine[]).filter((l) => l.sourceType === 'mdf_claim');
    // A held payment's claims go back to the pool, so a later run pays them as claims (and marks
    // them PAID); the rest of what is held (accruals, clawbacks) carries forward as a balance.
    const carried =
      status === 'CARRIED_FORWARD' ? net : status === 'HELD' ? claimLines.reduce((rest, l) => ({ ...rest, amount: rest.amount - l.amount.amount }), net) : undefined;
    await putPayment(
      {
        paymentId: derivedId('pay', run.runId, partnerId, currency),
        runId: run.runId,
        period: run.period,
        partnerId,
        partnerLegalName: profile.legalName as string,
        ...(payeeReference ? { payeeReference } : {}),
        currency,
        amount: net.amount,
        status,
        ...(status === 'HELD' ? { heldReason: 'no_payee_reference' as const } : {}),
        lines: currencyLines as StoredLine[],
        lineCount: currencyLines.length,
      },
      carried,
    );
    if (status === 'HELD') for (const l of claimLines) await leaveRun(claimKey(partnerId, l.sourceId), run.runId);
  }
}

/** A Map iteration: one page of partners. Safe to run twice: ids are derived and writes conditional. */
async function processPage(input: { runId: string; page: { index: number; after: string | null } }) {
  const run = await getRun(input.runId);
  if (!run || run.status !== 'CALCULATING') return { skipped: true };
  const [{ partnerIds }, programs] = await Promise.all([partnerIdsPage(input.page.after, PAGE_SIZE), listPrograms()]);
  const profiles = await partnerProfiles(partnerIds);
  const runs = runLookups();
  for (let i = 0; i < partnerIds.length; i += PARTNER_CONCURRENCY) {
    await Promise.all(partnerIds.slice(i, i + PARTNER_CONCURRENCY).map((id) => processPartner(run, id, profiles.get(id), programs, runs).catch((error) => holdPartner(run, id, error, runs))));
  }
  return { partners: partnerIds.length };
}

/** Currency code of a payment that holds no money (ISO 4217 "no currency"). */
export const NO_CURRENCY = 'XXX';

/**
 * One partner's failed calculation must not stop everyone's payout. An outage (throttling, a 5xx)
 * is retried by the workflow as before; anything else (an overflow, a corrupt record) releases what
 * this run took from the partner and records a HELD payment with reason calculation_error, which
 * finance sees in the run and in its email. The next run tries the partner again.
 */
async function holdPartner(run: RunRecord, partnerId: string, error: unknown, runs: RunLookups): Promise<void> {
  if (isTransient(error)) throw error;
  const message = `${(error as Error)?.name ?? 'Error'}: ${String((error as Error)?.message ?? error).slice(0, 300)}`;
  logger.error('partner calculation failed; payment held', { runId: run.runId, partnerId, error: message });
  // What this run may have taken from the partner: its claims and late sales (through what is due) and balances.
  const { due, balances: held } = await gather(run, partnerId, runs);
  for (const entry of due) {
    if (isClaimDue(entry)) await leaveRun(claimKey(partnerId, entry.claimId as string), run.runId);
    else if (isLateDue(entry)) await leaveRun(saleKey(partnerId, String(entry.closedOn), String(entry.dealId)), run.runId);
  }
  for (const item of held) if (item.payoutRunId === run.runId) await leaveRun(keyOf(item), run.runId);
  const profile = await getPartner(partnerId);
  await putPayment({
    paymentId: derivedId('pay', run.runId, partnerId, NO_CURRENCY),
    runId: run.runId,
    period: run.period,
    partnerId,
    partnerLegalName: profile?.legalName ?? partnerId,
    currency: NO_CURRENCY,
    amount: 0,
    status: 'HELD',
    heldReason: 'calculation_error',
    heldDetail: message,
    lines: [],
    lineCount: 0,
  });
}

/** Totals per currency of what is to be paid; held and carried amounts are counted apart. */
async function finalizeRun(input: { runId: string }) {
  const run = await getRun(input.runId);
  if (!run) throw Object.assign(new Error(`Run ${input.runId} not found`), { name: 'NotFound' });
  const totals = new Map<string, { currency: string; amount: number; payments: number }>();
  let heldCount = 0;
  let pendingPayments = 0;
  const failed: PaymentRecord[] = [];
  for await (const p of runPayments(run.runId, 'summary')) {
    if (p.status === 'HELD') heldCount++;
    if (p.heldReason === 'calculation_error') failed.push(p);
    if (p.status !== 'PENDING') continue;
    pendingPayments++;
    const t = totals.get(p.currency) ?? { currency: p.currency, amount: 0, payments: 0 };
    t.amount += p.amount;
    t.payments++;
    totals.set(p.currency, t);
  }
  const totalList = [...totals.values()].sort((a, b) => a.currency.localeCompare(b.currency));
  if (run.status === 'CALCULATING') {
    if (await transitionRun(run.runId, ['CALCULATING'], 'AWAITING_APPROVAL', 'workflow', { totals: totalList, heldCount, pendingPayments })) {
      recordMetric('PaymentsHeld', heldCount);
      for (const t of totalList) recordMetric('PayoutTotalMinor', t.amount, { currency: t.currency });
    }
  }
  const summary: ApprovalSummary = {
    title: `Payout run ${run.runId} for ${run.period}`,
    lines: [
      { label: 'Run', value: run.runId },
      { label: 'Period', value: run.period },
      ...totalList.map((t) => ({ label: `To pay in ${t.currency}`, value: `${formatDisplay(money(t.amount, t.currency))} in ${t.payments} payment(s)` })),
      { label: 'Held (no payee reference)', value: String(heldCount - failed.length) },
      ...(failed.length ? [{ label: 'Held (calculation error)', value: failed.map((p) => p.partnerId).join(', ') }] : []),
    ],
  };
  if (failed.length && run.status === 'CALCULATING') {
    await sendEmail({
      to: [config().approvers.finance],
      subject: `Payout run ${run.runId}: ${failed.length} partner(s) held on a calculation error`,
      paragraphs: [
        `The payout run ${run.runId} for ${run.period} could not calculate what these partners are owed; their payments are HELD (reason calculation_error), everyone else's are in the run. The next run tries them again once their data is corrected.`,
        ...failed.map((p) => `${p.partnerId}: ${p.heldDetail ?? 'unknown error'}`),
      ],
    });
  }
  return { summary };
}

async function releaseSources(runId: string) {
  for await (const payment of runPayments(runId)) {
    for (const l of payment.lines) {
      if (l.sourceType === 'mdf_claim') await leaveRun(claimKey(payment.partnerId, l.sourceId), runId);
      if (l.sourceType === 'clawback') await leaveRun({ pk: `PTR#${payment.partnerId}`, sk: `CLAWBACK#${l.sourceId.split(':').pop()}` }, runId);
      for (const dealId of l.lateDealIds ?? []) {
        const sale = await getSale(payment.partnerId, dealId);
        if (sale) await leaveRun(saleKey(payment.partnerId, sale.closedOn, sale.dealId), runId);
      }
      if (l.sourceType === 'carry_forward') {
        const [fromRunId, currency] = l.sourceId.split(':');
        await leaveRun({ pk: `PTR#${payment.partnerId}`, sk: `CARRY#${fromRunId}#${currency}` }, runId);
      }
    }
  }
}

async function decideRun(input: { runId: string; decision: { decision: string; decidedBy: string; comment: string | null } }) {
  const run = await getRun(input.runId);
  // A retry after the approval was recorded still owes the export files.
  if (run?.status === 'APPROVED' && input.decision.decision === 'approve') return { status: await writeExports(run) };
  if (!run || run.status !== 'AWAITING_APPROVAL') return { status: run?.status ?? 'UNKNOWN' };
  const cfg = config();
  if (input.decision.decision === 'approve') {
    await transitionRun(run.runId, ['AWAITING_APPROVAL'], 'APPROVED', input.decision.decidedBy, {}, input.decision.comment ?? undefined);
    await writeExports({ ...run, status: 'APPROVED' });
    await publishEvent('PayoutRunApproved', run.runId, 'APPROVED');
    await sendEmail({ to: [cfg.approvers.finance], subject: `Payout run ${run.runId} approved`, paragraphs: [`Payout run ${run.runId} for ${run.period} was approved. The exports are open: ${cfg.baseUrl}/payout-runs/${run.runId}/export.csv`] });
    return { status: 'APPROVED' };
  }
  await rejectRun(run.runId, input.decision.decidedBy, input.decision.comment ?? 'Rejected');
  return { status: 'REJECTED' };
}

/**
 * The exports are written once, here, where the task has minutes: an API request (29 s) could not
 * stream 10,000 payments and 200,000 lines. The routes then answer with a link to the stored files.
 */
async function writeExports(run: RunRecord): Promise<'APPROVED'> {
  await ensureExport(run, 'export');
  await ensureExport(run, 'lines');
  return 'APPROVED';
}

async function rejectRun(runId: string, actor: string, comment: string) {
  if (await transitionRun(runId, ['AWAITING_APPROVAL', 'CALCULATING'], 'REJECTED', actor, {}, comment)) await releaseSources(runId);
}

async function runTimedOut(input: { runId: string }) {
  await rejectRun(input.runId, 'workflow', 'No decision before the deadline');
  return { status: 'REJECTED' };
}

async function failRun(input: { runId: string; error?: { Error?: string; Cause?: string } }) {
  const reason = `${input.error?.Error ?? 'Error'}: ${String(input.error?.Cause ?? '').slice(0, 500)}`;
  if (await transitionRun(input.runId, ['CALCULATING', 'AWAITING_APPROVAL'], 'FAILED', 'workflow', {}, reason)) await releaseSources(input.runId);
  await sendEmail({ to: [config().approvers.escalation], subject: `Payout run ${input.runId} failed`, paragraphs: [`The payout run ${input.runId} stopped on an error and was marked FAILED; its claims are free for a new run.`, reason] });
  return { status: 'FAILED' };
}

/** The monthly EventBridge Scheduler target: a run for the previous month, unless one exists. */
async function scheduledRun() {
  const period = previousMonth();
  const started = await startRun(period, 'schedule');
  return started.ok ? { runId: started.runId, period } : { skipped: `a run for ${period} exists` };
}

export const handler = taskHandler({ prepareRun, processPage, finalizeRun, decideRun, runTimedOut, failRun, scheduledRun });
