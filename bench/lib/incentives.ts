import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { ulid } from 'ulid';
import { FUNCTIONS, ROUTES, STATE_MACHINES, routeKey, type FunctionSpec } from '../../functions/catalog.ts';
import { ROOT } from '../../local/definitions.ts';
import { APPROVERS, decide, expectStatus, finished, monthNow, until, type Bench, type Partner } from './system.ts';

/**
 * Sales and payout runs (functions/incentives, workflows/payout-run.asl.json), driven through the
 * public API as docs/api.md defines it. The cost and scale parts use them only when the
 * catalog has the routes and the code exists; otherwise they report "not measured yet".
 */
const NEEDED_ROUTES = ['POST /payout-runs', 'POST /partners/{partnerId}/sales', 'POST /programs', 'GET /payout-runs/{runId}/export.csv'];

export function incentivesAvailability(): { available: true } | { available: false; reason: string } {
  const keys = new Set(ROUTES.map(routeKey));
  const missing = NEEDED_ROUTES.filter((r) => !keys.has(r));
  if (missing.length) return { available: false, reason: `not built yet: functions/catalog.ts ROUTES has no ${missing.join(', ')}` };
  const machine = (STATE_MACHINES as Record<string, { file: string }>)['payout-run'];
  if (!machine) return { available: false, reason: 'not built yet: no payout-run state machine in functions/catalog.ts' };
  if (!existsSync(join(ROOT, machine.file))) return { available: false, reason: `not built yet: ${machine.file} does not exist` };
  for (const route of ROUTES.filter((r) => NEEDED_ROUTES.includes(routeKey(r)))) {
    const spec = (FUNCTIONS as Record<string, FunctionSpec>)[route.fn];
    if (!spec || !existsSync(join(ROOT, spec.entry))) return { available: false, reason: `not built yet: ${spec?.entry ?? route.fn} does not exist` };
  }
  return { available: true };
}

export async function createRebateProgram(b: Bench, rateBps = 200): Promise<string> {
  const admin = await b.token(['admin'], 'admin@example.com');
  const year = new Date().getUTCFullYear();
  const res = await b.call('POST', '/programs', {
    token: admin,
    headers: { 'idempotency-key': randomUUID() },
    body: { name: 'Bench rebate', kind: 'rebate', currency: 'USD', startDate: `${year}-01-01`, endDate: `${year}-12-31`, rebate: { rateBps } },
  });
  return expectStatus(res, 201, 'POST /programs').body.programId as string;
}

export async function setPayee(b: Bench, p: Partner): Promise<void> {
  expectStatus(await b.call('PUT', `/partners/${p.partnerId}/payee`, { token: p.token, body: { payeeReference: `IBAN-${p.partnerId.slice(-10)}` } }), 200, 'PUT payee');
}

export const saleLine = () => ({ dealId: `D-${ulid()}`, closedOn: new Date().toISOString().slice(0, 10), sku: 'SKU-100', quantity: 1, revenue: { amount: 100_000, currency: 'USD' } });

/** Reports `count` sales for a partner, `perRequest` sales a request. */
export async function postSales(b: Bench, p: Partner, count: number, perRequest: number): Promise<number> {
  let requests = 0;
  for (let done = 0; done < count; done += perRequest) {
    const sales = Array.from({ length: Math.min(perRequest, count - done) }, saleLine);
    const res = expectStatus(await b.call('POST', `/partners/${p.partnerId}/sales`, { token: p.token, headers: { 'idempotency-key': randomUUID() }, body: { sales } }), 202, 'POST sales');
    if (res.body.accepted !== sales.length) throw new Error(`POST sales accepted ${res.body.accepted} of ${sales.length}`);
    requests++;
  }
  return requests;
}

/** Why a run failed: the failure email (failRun's reason) and the failed states' errors. */
function failureOf(b: Bench, runId: string, e: { error?: unknown; events: { type: string; [k: string]: unknown }[] }): string {
  const mail = b.system.outbox.all().find((m) => m.subject.includes(runId) && /failed/i.test(m.subject));
  const failed = e.events
    .filter((x) => /Failed|TimedOut|Retried/.test(x.type))
    .slice(-5)
    .map((x) => {
      const { state, ...rest } = x as { state?: { name?: string } };
      return JSON.stringify({ ...rest, ...(state ? { state: state.name } : {}) }).slice(0, 1200);
    });
  // When each state was first entered, from the execution's event log.
  const t0 = e.events[0]?.timestamp as number | undefined;
  const firsts = new Map<string, number>();
  for (const x of e.events) {
    const name = (x as { state?: { name?: string } }).state?.name;
    if (x.type === 'StateEntered' && name && !firsts.has(name)) firsts.set(name, x.timestamp as number);
  }
  const timeline = t0 === undefined ? '' : `states first entered at: ${[...firsts].map(([n, t]) => `${n} +${((t - t0) / 1000).toFixed(1)} s`).join(', ')}`;
  const timedOut = e.events.some((x) => x.type === 'StateFailed' && x.Error === 'States.Timeout');
  const why = timedOut
    ? `States.Timeout on a Task without TimeoutSeconds: the local engine (aws-local-stepfunctions, TaskStateAction DEFAULT_TIMEOUT_SECONDS = 60) stops such a task after 60 s; deployed, the only limit is the Lambda's timeout (incentivesTasks: ${(FUNCTIONS as Record<string, FunctionSpec>).incentivesTasks?.timeoutSeconds ?? 10} s)`
    : '';
  return [JSON.stringify(e.error ?? {}), mail ? `email: ${mail.text.replace(/\s+/g, ' ').slice(0, 800)}` : '', ...failed, timeline, why].filter(Boolean).join('\n  ');
}

export interface RunOutcome {
  runId: string;
  /** POST /payout-runs until finance is asked to approve (the calculation). */
  calculationMs: number;
  transitions: number;
  status: string;
}

/** What finance does in a month: starts the run and approves it by the emailed link once calculated. */
export async function payoutRun(b: Bench, hooks: { beforeRun?: () => void; calculated?: () => void; timeoutMs?: number } = {}): Promise<RunOutcome> {
  const finance = await b.token(['finance'], APPROVERS.finance);
  hooks.beforeRun?.();
  const started = performance.now();
  const res = expectStatus(await b.call('POST', '/payout-runs', { token: finance, headers: { 'idempotency-key': randomUUID() }, body: { period: monthNow() } }), 202, 'POST /payout-runs');
  const runId = res.body.runId as string;
  const timeoutMs = hooks.timeoutMs ?? 600_000;
  await until(
    () => {
      const e = b.system.engine.list().find((x) => x.name === runId);
      if (e && e.status !== 'RUNNING') throw new Error(`payout run ${runId} ended ${e.status} before approval: ${failureOf(b, runId, e)}`);
      return b.system.outbox.all().some((m) => m.to.includes(APPROVERS.finance) && m.text.includes(runId));
    },
    `payout run ${runId} to be calculated`,
    timeoutMs,
  );
  const calculationMs = performance.now() - started;
  hooks.calculated?.();
  expectStatus((await decide(b, APPROVERS.finance, runId, { decision: 'approve' })).res, 200, 'approve payout run');
  const execution = await finished(b, runId, timeoutMs);
  if (execution.status !== 'SUCCEEDED') throw new Error(`payout run ${runId} ended ${execution.status}: ${failureOf(b, runId, execution)}`);
  return { runId, calculationMs, transitions: execution.stateTransitions, status: execution.status };
}

export interface ExportOutcome {
  status: number;
  ms: number;
  csv: string;
  payments: number;
  lines: number;
  bytes: number;
  error?: string;
}

/** Finance downloads the run's export (GET export.csv, which redirects to the file). */
export async function exportRun(b: Bench, runId: string): Promise<ExportOutcome> {
  const finance = await b.token(['finance'], APPROVERS.finance);
  const started = performance.now();
  const res = await b.call('GET', `/payout-runs/${runId}/export.csv`, { token: finance });
  const ms = performance.now() - started;
  if (res.status !== 200) return { status: res.status, ms, csv: '', payments: 0, lines: 0, bytes: 0, error: res.text.slice(0, 300) };
  const rows = res.text.split('\r\n').filter((l) => l.length > 0);
  // line_count is the last column, so a quoted comma in an earlier cell cannot shift it.
  if (!rows[0]?.endsWith('line_count')) throw new Error(`export.csv header is not as docs/api.md says: ${rows[0]}`);
  const lines = rows.slice(1).reduce((sum, r) => sum + (Number(r.split(',').at(-1)) || 0), 0);
  return { status: res.status, ms, csv: res.text, payments: Math.max(0, rows.length - 1), lines, bytes: Buffer.byteLength(res.text) };
}

/** Finance confirms every payment of the export as paid (500 a request, the API's limit). */
export async function confirmPayments(b: Bench, runId: string, exportCsv: string): Promise<number> {
  const finance = await b.token(['finance'], APPROVERS.finance);
  const ids = exportCsv
    .split('\r\n')
    .slice(1)
    .filter(Boolean)
    .map((r) => r.split(',')[0]!);
  for (let i = 0; i < ids.length; i += 500) {
    const payments = ids.slice(i, i + 500).map((paymentId) => ({ paymentId, paidOn: new Date().toISOString().slice(0, 10), bankReference: `BANK-${paymentId.slice(-8)}` }));
    expectStatus(await b.call('POST', `/payout-runs/${runId}/payments`, { token: finance, body: { payments } }), 200, 'POST payments');
  }
  return ids.length;
}
