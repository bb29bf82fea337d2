import { getPartner } from '../applications/store.ts';
import { actorOf, requirePartnerAccess } from '../core/auth.ts';
import { readHistory } from '../core/audit.ts';
import { blobs } from '../core/blobs.ts';
import { conflict, notFound, badRequest } from '../core/errors.ts';
import { httpApi, json } from '../core/http.ts';
import { newId } from '../core/ids.ts';
import type { Tier } from '../core/config.ts';
import { accrualDifference, accrualLines, currencyMismatches, derivedId, type Line, type Program } from './model.ts';
import { PaymentsConfirmationSchema, PayoutRunInputSchema, ProgramInputSchema, SalesBatchSchema, type ProgramInput, type SaleInput } from './schema.ts';
import {
  accruedSales,
  confirmPayment,
  createProgram,
  getPayment,
  getRun,
  getRunForPeriod,
  salesCutoffOf,
  getSale,
  listPrograms,
  periodSales,
  putSales,
  reverseSale,
  runKey,
  runPayments,
  transitionRun,
  type SaleRecord,
} from './store.ts';

const EXPORT_LINK_SECONDS = 300;
const INCLUDED_RUN = new Set(['CALCULATING', 'AWAITING_APPROVAL', 'APPROVED', 'PAID']);

/**
 * The clawback for a reversed sale that a run already accrued: the difference its removal makes to
 * its period's accrual, over the period's sales that runs accrued (those posted before the period's
 * run cut off sales, and late ones another run took). For rebates and SPIFFs that is the negative
 * of its own lines; for volume tiers the change in the period's tier accrual.
 */
async function clawbackLines(sale: SaleRecord, periodCutoff: string, tier: Tier): Promise<Line[]> {
  const programs = await listPrograms();
  const period = sale.closedOn.slice(0, 7);
  const accrued = accruedSales(await periodSales(sale.partnerId, period), period, periodCutoff);
  const before = accrualLines(programs, tier, sale.partnerId, period, accrued);
  const after = accrualLines(programs, tier, sale.partnerId, period, accrued.filter((s) => s.dealId !== sale.dealId));
  return accrualDifference(before, after).map(({ template, difference }) => ({
    sourceType: 'clawback',
    sourceId: template.sourceId,
    description: `Reversal of deal ${sale.dealId}: ${template.description}`,
    amount: difference,
  }));
}

/** What reversing the sale claws back, and from which run; refused while its run is mid-way through its partner. */
async function reversalOf(sale: SaleRecord, tier: Tier): Promise<{ clawback?: { compensatesRunId: string; lines: Line[] }; untaken: boolean }> {
  const periodRun = await getRunForPeriod(sale.closedOn.slice(0, 7));
  const onTime = periodRun !== undefined && sale.createdAt < salesCutoffOf(periodRun) && sale.payoutRunId === undefined;
  // A late sale is accrued by the run that took it; an on-time one by its period's run.
  const accruing = sale.payoutRunId ? await getRun(sale.payoutRunId) : onTime ? periodRun : undefined;
  if (!accruing || !INCLUDED_RUN.has(accruing.status)) return { untaken: !onTime };
  if (accruing.status === 'CALCULATING' && !(await pageDone(accruing.runId, sale))) {
    // On time: the page has not reached the partner, so it will skip the reversed sale. Late and
    // taken: the page took it and is about to write its payment; reversing now would lose track.
    if (onTime) return { untaken: false };
    throw conflict('run_calculating', `Payout run ${accruing.runId} is calculating this partner's payment; reverse the sale once it is done`);
  }
  const lines = await clawbackLines(sale, salesCutoffOf(periodRun!), tier);
  return { ...(lines.length ? { clawback: { compensatesRunId: accruing.runId, lines } } : {}), untaken: false };
}

/** While a run calculates, a sale was included only if its partner's page already wrote a payment with it. */
async function pageDone(runId: string, sale: SaleRecord): Promise<boolean> {
  const payment = await getPayment(runId, derivedId('pay', runId, sale.partnerId, sale.revenue.currency));
  return Boolean(payment?.lines.some((l) => l.sourceId.endsWith(`:${sale.dealId}`) || l.sourceType === 'volume_tier'));
}

export const handler = httpApi({
  'POST /programs': {
    auth: ['admin'],
    body: ProgramInputSchema,
    idempotent: true,
    handle: async (req) => {
      const input = req.body as ProgramInput;
      const program: Program = { programId: newId('program'), ...(input as Omit<Program, 'programId'>) };
      await createProgram(program, actorOf(req.caller));
      return json(201, { programId: program.programId });
    },
  },
  'GET /programs': {
    auth: ['partner', 'channel_manager', 'marketing_director', 'finance', 'admin'],
    handle: async () => json(200, { programs: await listPrograms() }),
  },
  'POST /partners/{partnerId}/sales': {
    auth: ['partner', 'admin'],
    body: SalesBatchSchema,
    idempotent: true,
    handle: async (req) => {
      const partnerId = req.params.partnerId!;
      requirePartnerAccess(req.caller, partnerId, ['admin']);
      const partner = await getPartner(partnerId);
      if (!partner) throw notFound('Partner');
      const { sales } = req.body as { sales: SaleInput[] };
      const result = await putSales(partnerId, sales, new Date().toISOString());
      const programs = await listPrograms();
      const accepted = new Set(result.accepted);
      const notAccrued = sales
        .filter((s) => accepted.has(s.dealId))
        .flatMap((s) => currencyMismatches(programs, partner.tier, s).map((m) => ({ dealId: s.dealId, ...m, reason: `sale in ${s.revenue.currency}, program in ${m.programCurrency}: not accrued` })));
      // Sales of a period whose run already started are late: the next run after it pays them.
      const periods = [...new Set(sales.filter((s) => accepted.has(s.dealId)).map((s) => s.closedOn.slice(0, 7)))];
      const runs = await Promise.all(periods.map((p) => getRunForPeriod(p)));
      const started = new Set(periods.filter((_, i) => runs[i] && INCLUDED_RUN.has(runs[i].status)));
      const lateDealIds = sales.filter((s) => accepted.has(s.dealId) && started.has(s.closedOn.slice(0, 7))).map((s) => s.dealId);
      return json(202, { accepted: result.accepted.length, duplicates: result.duplicates.length, duplicateDealIds: result.duplicates, notAccrued, lateDealIds });
    },
  },
  'DELETE /partners/{partnerId}/sales/{dealId}': {
    auth: ['partner', 'admin'],
    handle: async (req) => {
      const partnerId = req.params.partnerId!;
      const caller = requirePartnerAccess(req.caller, partnerId, ['admin'], { what: 'Sale' });
      const sale = await getSale(partnerId, req.params.dealId!);
      if (!sale) throw notFound('Sale');
      if (sale.status === 'REVERSED') throw conflict('sale_already_reversed', `Deal ${sale.dealId} was already reversed`);
      const partner = await getPartner(partnerId);
      if (!partner) throw notFound('Partner');
      const { clawback, untaken } = await reversalOf(sale, partner.tier);
      if (!(await reverseSale(sale, actorOf(caller), clawback, untaken))) {
        const latest = await getSale(partnerId, sale.dealId);
        if (latest?.status === 'REVERSED') throw conflict('sale_already_reversed', `Deal ${sale.dealId} was already reversed`);
        throw conflict('sale_taken_by_run', `A payout run took deal ${sale.dealId} just now; try again`);
      }
      const lines = clawback?.lines ?? [];
      return json(200, { dealId: sale.dealId, status: 'REVERSED', clawback: lines.map((l) => ({ sourceId: l.sourceId, amount: l.amount })) });
    },
  },
  'POST /payout-runs': {
    auth: ['finance', 'admin'],
    body: PayoutRunInputSchema,
    idempotent: true,
    handle: async (req) => {
      const { period } = req.body as { period: string };
      if (period > new Date().toISOString().slice(0, 7)) throw badRequest('future_period', 'A payout run can only cover the current or a past month');
      // Imported here, not at the top: tasks.ts brings the Step Functions client, and only this route
      // needs it (likewise exports.ts and its CSV writer in exportReply); init skips both.
      const { startRun } = await import('./tasks.ts');
      const started = await startRun(period, actorOf(req.caller));
      if (!started.ok) throw conflict('payout_run_exists', `A payout run for ${period} already exists`);
      return json(202, { runId: started.runId, status: 'CALCULATING' });
    },
  },
  'GET /payout-runs/{runId}': {
    auth: ['finance', 'admin'],
    handle: async (req) => {
      const run = await getRun(req.params.runId!);
      if (!run) throw notFound('Payout run');
      const held = [];
      for await (const p of runPayments(run.runId, 'summary')) {
        if (p.status === 'HELD') held.push({ partnerId: p.partnerId, currency: p.currency, amount: p.amount, reason: p.heldReason === 'calculation_error' ? 'calculation_error' : 'no payee reference', ...(p.heldDetail ? { detail: p.heldDetail } : {}) });
      }
      return json(200, {
        runId: run.runId,
        period: run.period,
        status: run.status,
        totals: run.totals ?? [],
        held,
        createdAt: run.createdAt,
        history: await readHistory(runKey(run.runId).pk),
      });
    },
  },
  'GET /payout-runs/{runId}/export.csv': { auth: ['finance', 'admin'], handle: (req) => exportReply(req.params.runId!, 'export') },
  'GET /payout-runs/{runId}/lines.csv': { auth: ['finance', 'admin'], handle: (req) => exportReply(req.params.runId!, 'lines') },
  'POST /payout-runs/{runId}/payments': {
    auth: ['finance'],
    body: PaymentsConfirmationSchema,
    handle: async (req) => {
      const run = await getRun(req.params.runId!);
      if (!run) throw notFound('Payout run');
      if (run.status !== 'APPROVED' && run.status !== 'PAID') throw conflict('run_not_approved', `Run ${run.runId} is ${run.status}; only an approved run's payments can be confirmed`);
      const { payments } = req.body as { payments: { paymentId: string; paidOn: string; bankReference: string }[] };
      const confirmed: string[] = [];
      const alreadyPaid: string[] = [];
      const unknown: string[] = [];
      const notPayable: { paymentId: string; status: string }[] = [];
      const seen = new Set<string>();
      for (const item of payments) {
        if (seen.has(item.paymentId)) {
          alreadyPaid.push(item.paymentId);
          continue;
        }
        seen.add(item.paymentId);
        const payment = await getPayment(run.runId, item.paymentId);
        if (!payment) unknown.push(item.paymentId);
        else if (payment.status === 'PAID') alreadyPaid.push(item.paymentId);
        else if (payment.status !== 'PENDING') notPayable.push({ paymentId: item.paymentId, status: payment.status });
        else if (await confirmPayment(payment, item.paidOn, item.bankReference, actorOf(req.caller))) confirmed.push(item.paymentId);
        else alreadyPaid.push(item.paymentId);
      }
      const latest = await getRun(run.runId);
      if (latest?.status === 'APPROVED' && latest.pendingPayments === 0) {
        await transitionRun(run.runId, ['APPROVED'], 'PAID', actorOf(req.caller), {}, 'Every payment confirmed');
      }
      return json(200, { runId: run.runId, confirmed, alreadyPaid, unknown, notPayable, status: (await getRun(run.runId))?.status });
    },
  },
});

async function exportReply(runId: string, kind: 'export' | 'lines') {
  const run = await getRun(runId);
  if (!run) throw notFound('Payout run');
  if (run.status !== 'APPROVED' && run.status !== 'PAID') throw conflict('run_not_approved', `Run ${run.runId} is ${run.status}; exports open once it is APPROVED`);
  const { ensureExport } = await import('./exports.ts');
  const key = await ensureExport(run, kind);
  const url = await blobs.get().presignGet(key, EXPORT_LINK_SECONDS);
  return { status: 302, headers: { location: url } };
}

