import { createReadStream } from 'node:fs';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { partnerKey } from '../../functions/applications/store.ts';
import { readHistory } from '../../functions/core/audit.ts';
import { TIERS } from '../../functions/core/config.ts';
import { ddb, tableName } from '../../functions/core/ddb.ts';
import { newId } from '../../functions/core/ids.ts';
import { accrualLines, type Program, type Sale } from '../../functions/incentives/model.ts';
import { createProgram, getRun, runKey, saleKey } from '../../functions/incentives/store.ts';
import type { LocalSystem } from '../../local/runtime.ts';
import type { EventLog } from '../../local/workflows.ts';
import { parseCsv } from '../support/csv.ts';
import { decide } from '../support/mdf.ts';
import { client, startTestSystem, tokenFor } from '../support/system.ts';
import { useFreshTable } from '../support/table.ts';

/**
 * 10,000 partners, 20 sales each in the period, one rebate program: a payout run through the real
 * ASL on the local system, approved by link, and its export checked against the run's totals.
 *
 * Not in the default run. `npx vitest run --config test/scale/vitest.config.ts`
 *
 * Seeding writes items of the same shape as applications/store.ts provisionPartner (the partner
 * META item with its gsi1 PARTNERS entry, plus a payee reference as setPayeeReference sets it) and
 * incentives/store.ts putSales, with BatchWriteItem: the transactional paths would take most of the
 * time budget and are not what is measured here.
 *
 * Timings go to stdout; the soft expectations on the HTTP pulls let the content checks run even
 * when a pull is refused, so one run reports everything.
 */
/** SCALE_PARTNERS overrides the count for a quicker try (e.g. 1000). */
const PARTNERS = Number(process.env.SCALE_PARTNERS ?? 10_000);
const SALES_EACH = 20;
const FINANCE = 'finance@example.com';
const BATCH = 25;
const WRITERS = 8;

function month(offset: number): string {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1)).toISOString().slice(0, 7);
}

/** A small deterministic PRNG (mulberry32), so a failing total can be reproduced. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

async function batchWrite(items: Record<string, unknown>[]) {
  let pending = items.map((Item) => ({ PutRequest: { Item } }));
  for (let attempt = 0; pending.length; attempt++) {
    if (attempt > 20) throw new Error('BatchWrite kept returning unprocessed items');
    if (attempt) await new Promise((r) => setTimeout(r, Math.min(1_000, 25 * 2 ** attempt)));
    const out = await ddb().send(new BatchWriteCommand({ RequestItems: { [tableName()]: pending } }));
    pending = (out.UnprocessedItems?.[tableName()] ?? []) as typeof pending;
  }
}

/** Writes items in batches of 25 with a few writers in parallel. */
async function writeAll(items: AsyncIterable<Record<string, unknown>> | Iterable<Record<string, unknown>>) {
  const inFlight = new Set<Promise<void>>();
  let batch: Record<string, unknown>[] = [];
  const flush = async () => {
    const p = batchWrite(batch).finally(() => inFlight.delete(p));
    batch = [];
    inFlight.add(p);
    if (inFlight.size >= WRITERS) await Promise.race(inFlight);
  };
  for await (const item of items) {
    batch.push(item);
    if (batch.length === BATCH) await flush();
  }
  if (batch.length) await flush();
  await Promise.all(inFlight);
}

/** Time spent in each state, from the execution's event log (ProcessPage: count, min–max, sum). */
function stateDurations(events: EventLog[]): string {
  const open = new Map<string, number[]>();
  const spent = new Map<string, number[]>();
  for (const e of events) {
    const name = e.state?.name;
    if (!name) continue;
    if (e.type === 'StateEntered') open.set(name, [...(open.get(name) ?? []), e.timestamp]);
    else if (e.type === 'StateExited' || e.type === 'StateFailed') {
      const [start, ...others] = open.get(name) ?? [];
      open.set(name, others);
      if (start !== undefined) spent.set(name, [...(spent.get(name) ?? []), e.timestamp - start]);
    }
  }
  return [...spent]
    .map(([name, ms]) => (ms.length === 1 ? `${name} ${secs(ms[0]!)}` : `${name} ×${ms.length} ${secs(Math.min(...ms))}–${secs(Math.max(...ms))} (Σ ${secs(ms.reduce((a, b) => a + b, 0))})`))
    .join(', ');
}

interface Pull {
  status: number;
  /** Until the HTTP answer. */
  httpMs: number;
  /** Until the file existed (the same as httpMs when the answer was 200). */
  generatedMs: number;
  body: AsyncIterable<Uint8Array | string>;
}

/** GET a run's CSV over HTTP; when that fails, wait for the file the handler is still writing. */
async function pull(system: LocalSystem, runId: string, kind: 'export' | 'lines', token: string): Promise<Pull> {
  const start = performance.now();
  const res = await fetch(`${system.url}/payout-runs/${runId}/${kind}.csv`, { headers: { authorization: `Bearer ${token}` } });
  const httpMs = performance.now() - start;
  if (res.status === 200) return { status: 200, httpMs, generatedMs: httpMs, body: res.body as unknown as AsyncIterable<Uint8Array> };
  const answer = await res.text();
  expect.soft(res.status, `GET ${kind}.csv answered after ${secs(httpMs)}: ${answer.slice(0, 300)}`).toBe(200);
  const key = `exports/${runId}/${kind}.csv`;
  while (!system.blobStore.pathOf(key)) {
    if (performance.now() - start > 10 * 60_000) throw new Error(`${kind}.csv was not written in 10 minutes`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { status: res.status, httpMs, generatedMs: performance.now() - start, body: createReadStream(system.blobStore.pathOf(key)!) };
}

const describePull = (p: Pull) =>
  p.status === 200 ? `HTTP 200 in ${secs(p.httpMs)}` : `HTTP ${p.status} after ${secs(p.httpMs)}; the file was complete after ${secs(p.generatedMs)}`;

async function text(body: AsyncIterable<Uint8Array | string>): Promise<string> {
  const decoder = new TextDecoder();
  let out = '';
  for await (const chunk of body) out += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
  return out + decoder.decode();
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

describe('payout run at scale', () => {
  let system: LocalSystem | undefined;
  afterAll(() => system?.stop());

  it(`${PARTNERS.toLocaleString('en')} partners × ${SALES_EACH} sales: right totals, export.csv rows and sums, time and memory`, async () => {
    let peakRss = 0;
    let phasePeak = 0;
    const sampler = setInterval(() => {
      const rss = process.memoryUsage().rss;
      peakRss = Math.max(peakRss, rss);
      phasePeak = Math.max(phasePeak, rss);
    }, 100);
    try {
      const table = await useFreshTable();
      const P = month(-1);
      const program: Program = { programId: newId('program'), name: 'Scale rebate', kind: 'rebate', currency: 'USD', startDate: `${P}-01`, endDate: '2099-12-31', rebate: { rateBps: 275 } };
      await createProgram(program, 'scale-test');

      // ---- seed ----
      const seedStart = performance.now();
      const random = prng(20_240_601);
      const createdAt = new Date().toISOString();
      const partnerIds: string[] = [];
      let expectedTotal = 0;
      let expectedLines = 0;
      function* items() {
        for (let i = 0; i < PARTNERS; i++) {
          const partnerId = newId('partner');
          partnerIds.push(partnerId);
          const tier = TIERS[i % TIERS.length]!;
          yield {
            ...partnerKey(partnerId),
            gsi1pk: 'PARTNERS',
            gsi1sk: partnerId,
            type: 'partner',
            partnerId,
            legalName: i % 97 === 0 ? `=Scale Partner ${i}` : `Scale Partner ${i}`,
            country: 'US',
            partnerType: 'reseller',
            tier,
            status: 'ACTIVE',
            contactEmail: `owner${i}@scale.example`,
            contactName: 'Scale Owner',
            createdAt,
            payeeReference: `IBAN SCALE ${String(i).padStart(5, '0')}`,
            updatedAt: createdAt,
          };
          const sales: Sale[] = [];
          for (let s = 0; s < SALES_EACH; s++) {
            const sale: Sale = {
              dealId: `D-${s}`,
              closedOn: `${P}-${String(1 + (s % 28)).padStart(2, '0')}`,
              sku: s % 3 ? 'HW-9' : 'SW-1',
              quantity: 1 + (s % 4),
              revenue: { amount: 1 + Math.floor(random() * 5_000_000), currency: 'USD' },
            };
            sales.push(sale);
            yield { ...saleKey(partnerId, sale.closedOn, sale.dealId), type: 'sale', ...sale, partnerId, status: 'ACTIVE', createdAt };
          }
          const lines = accrualLines([program], tier, partnerId, P, sales);
          expectedLines += lines.length;
          expectedTotal += lines.reduce((sum, l) => sum + l.amount.amount, 0);
        }
      }
      await writeAll(items());
      const seedMs = performance.now() - seedStart;
      console.log(`seeded ${PARTNERS} partners and ${PARTNERS * SALES_EACH} sales in ${secs(seedMs)} (peak RSS so far ${mib(peakRss)})`);

      // ---- the run ----
      system = await startTestSystem({ tableName: table });
      const api = client(system);
      const finance = await tokenFor(system, ['finance'], FINANCE);
      phasePeak = 0;
      const runStart = performance.now();
      const started = await api.post('/payout-runs', { period: P }, { token: finance });
      expect(started.status).toBe(202);
      const runId = started.body.runId as string;
      // Polled through the store: GET /payout-runs/{id} reads every payment (for `held`) on each call.
      for (;;) {
        const run = await getRun(runId);
        if (run?.status === 'AWAITING_APPROVAL') break;
        if (run?.status === 'FAILED' || run?.status === 'REJECTED') {
          const history = await readHistory(runKey(runId).pk);
          const events = system.engine.list().find((e) => e.name === runId)?.events ?? [];
          const trouble = events.filter((e) => /Failed|Retried|Caught/.test(e.type)).slice(0, 10);
          const failed = trouble.map((e) => `${e.type} ${e.state?.name ?? ''} ${JSON.stringify(e.error ?? e.Error ?? '')}`.slice(0, 300));
          throw new Error(`run ended ${run.status} after ${secs(performance.now() - runStart)}: ${JSON.stringify(history.at(-1))}\nstate durations: ${stateDurations(events)}\n${failed.join('\n')}`);
        }
        if (performance.now() - runStart > 10 * 60_000) throw new Error('run did not reach AWAITING_APPROVAL in 10 minutes');
        await new Promise((r) => setTimeout(r, 250));
      }
      const runMs = performance.now() - runStart;
      console.log(`run reached AWAITING_APPROVAL in ${secs(runMs)} (peak RSS ${mib(phasePeak)}): ${stateDurations(system.engine.list().find((e) => e.name === runId)!.events)}`);
      const runPeak = phasePeak;
      const calculated = (await getRun(runId))!;
      expect(calculated.totals).toEqual([{ currency: 'USD', amount: expectedTotal, payments: PARTNERS }]);
      expect(calculated.heldCount).toBe(0);

      await decide(system, api, FINANCE, runId, { decision: 'approve' });
      for (let i = 0; (await getRun(runId))?.status !== 'APPROVED'; i++) {
        if (i > 600) throw new Error('run not approved in time');
        await new Promise((r) => setTimeout(r, 100));
      }
      const execution = system.engine.list().find((e) => e.name === runId)!;
      const done = await system.engine.waitFor(execution.executionArn);
      expect(done.status).toBe('SUCCEEDED');

      // ---- export.csv ----
      // Pulled over HTTP as finance would. The local API gives a handler 30 s, as Lambda would
      // (deployed: 29 s); past that, middy answers 500 while the handler goes on writing the file. The
      // test then waits for that file, to time the whole generation and check the content anyway.
      phasePeak = 0;
      const exp = await pull(system, runId, 'export', finance);
      const exportPeak = phasePeak;
      console.log(`export.csv: ${describePull(exp)} (peak RSS ${mib(exportPeak)})`);
      const exportText = await text(exp.body);
      const [header, ...rows] = parseCsv(exportText);
      expect(header).toEqual(['payment_id', 'run_id', 'period', 'partner_id', 'partner_legal_name', 'payee_reference', 'currency', 'amount', 'amount_minor', 'line_count']);
      expect(rows).toHaveLength(PARTNERS);
      expect(rows.reduce((sum, r) => sum + Number(r[8]), 0)).toBe(expectedTotal);
      expect(new Set(rows.map((r) => r[3])).size).toBe(PARTNERS);
      expect(rows.filter((r) => r[4]!.startsWith("'=")).length).toBe(Math.ceil(PARTNERS / 97));
      expect(rows.reduce((n, r) => n + Number(r[9]), 0)).toBe(expectedLines);
      const againStart = performance.now();
      const again = await api.get(`/payout-runs/${runId}/export.csv`, finance);
      const againMs = performance.now() - againStart;
      expect(again.status).toBe(200);
      expect(again.text).toBe(exportText);

      // ---- lines.csv, streamed and summed without holding the file ----
      const lines = await pull(system, runId, 'lines', finance);
      console.log(`lines.csv: ${describePull(lines)}`);
      let rest = '';
      let lineRows = -1;
      let linesTotal = 0;
      const decoder = new TextDecoder();
      for await (const chunk of lines.body) {
        rest += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
        const records = rest.split('\r\n');
        rest = records.pop()!;
        for (const record of records) {
          lineRows++;
          if (lineRows > 0) linesTotal += Number(parseCsv(`${record}\r\n`)[0]![8]);
        }
      }
      expect(rest).toBe('');
      expect(lineRows).toBe(expectedLines);
      expect(linesTotal).toBe(expectedTotal);

      const summary = [
        `payout run, ${PARTNERS} partners × ${SALES_EACH} sales (${Math.ceil(PARTNERS / 100)} pages of 100):`,
        `  seeding (BatchWrite)                ${secs(seedMs)}`,
        `  run: start → AWAITING_APPROVAL      ${secs(runMs)}   (peak RSS in the run ${mib(runPeak)})`,
        `  export.csv, first pull              ${describePull(exp)}   (peak RSS in the export ${mib(exportPeak)}; ${(exportText.length / 1024 / 1024).toFixed(1)} MiB, ${rows.length} rows)`,
        `  export.csv, second pull (cached)    ${secs(againMs)}`,
        `  lines.csv, first pull               ${describePull(lines)}   (${lineRows} rows)`,
        `  state durations                     ${stateDurations(done.events)}`,
        `  state transitions                   ${done.stateTransitions}`,
        `  totals                              ${expectedTotal} USD minor units in ${PARTNERS} payments`,
        `  peak RSS of the test process (system in-process), sampled every 100 ms: ${mib(peakRss)}`,
      ];
      console.log(summary.join('\n'));
    } finally {
      clearInterval(sampler);
    }
  });
});
