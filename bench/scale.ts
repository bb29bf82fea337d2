import { provisionPartnerDirectly } from '../local/demo.ts';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchWriteCommand, DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { build } from 'esbuild';
import { ulid } from 'ulid';
import { newId } from '../functions/core/ids.ts';
import { BUNDLE_OPTIONS } from '../lib/bundling.ts';
import { ROOT } from '../local/definitions.ts';
import { localDynamoClient } from '../local/dynamodb.ts';
import { createRebateProgram, exportRun, incentivesAvailability, payoutRun, saleLine } from './lib/incentives.ts';
import { FUNCTIONS, type FunctionSpec } from '../functions/catalog.ts';
import { atMost, fmtNumber, heading, notMeasured, peakRssMb, pool, resetPeakRss, round, rssSampler, table, targetsTable, type PartResult, type Target } from './lib/report.ts';
import { expectStatus, startBench, type Bench } from './lib/system.ts';

/**
 * Scale: a payout run over PARTNERS partners with SALES sales lines each (seeded first, not timed),
 * its wall time (POST /payout-runs until finance is asked to approve) and the peak RSS of the
 * process running it; then the export of that run, timed over HTTP and, for its memory, as one
 * invocation of the bundled export handler in a process of its own (a Lambda's view of it).
 */
const PARTNERS = Number(process.env.BENCH_SCALE_PARTNERS ?? 10_000);
const SALES = Number(process.env.BENCH_SCALE_SALES ?? 20);
const SEED_CONCURRENCY = 8;
const RUN_BOUND_S = 120;
const EXPORT_BOUND_MB = 200;

/** Partners seeded through the applications store, as an approved application provisions them. */
async function seedPartner(i: number): Promise<string> {
  const { partnerId } = await provisionPartnerDirectly({ slug: `s${i}-${ulid().toLowerCase()}`, legalName: `Scale Partner ${i}`, payeeReference: `IBAN-${i}`, actor: 'bench-seed' });
  return partnerId;
}

/**
 * Seeding 10,000 partners through the API would take longer than the whole benchmark may, so one
 * partner is made the real way (the applications store as an approved application provisions it,
 * its sales through POST /partners/{id}/sales) and its partition (profile, budget, sales) is cloned
 * with new ids by BatchWriteItem. The run then reads exactly the items the system itself writes.
 */
async function seed(b: Bench) {
  const t0 = performance.now();
  await createRebateProgram(b);
  const admin = await b.token(['admin'], 'admin@example.com');
  const templateId = await seedPartner(0);
  const sales = Array.from({ length: SALES }, saleLine);
  const res = expectStatus(await b.call('POST', `/partners/${templateId}/sales`, { token: admin, body: { sales } }), 202, 'POST sales');
  if (res.body.accepted !== SALES) throw new Error(`template sales: accepted ${res.body.accepted} of ${SALES}`);

  const raw = DynamoDBDocumentClient.from(localDynamoClient(b.system.ddbEndpoint));
  const TableName = process.env.TABLE_NAME!;
  try {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await raw.send(new QueryCommand({ TableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `PTR#${templateId}` }, ExclusiveStartKey: startKey }));
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    const template = JSON.stringify(items);
    const dealIds = sales.map((s) => s.dealId);
    const clone = (i: number) => {
      let json = template.split(templateId).join(newId('partner')).split('Scale Partner 0"').join(`Scale Partner ${i}"`).split('"IBAN-0"').join(`"IBAN-${i}"`);
      for (const d of dealIds) json = json.split(d).join(`D-${ulid()}`);
      return JSON.parse(json) as Record<string, unknown>[];
    };
    const batches: Record<string, unknown>[][] = [];
    let batch: Record<string, unknown>[] = [];
    for (let i = 1; i < PARTNERS; i++) {
      for (const item of clone(i)) {
        batch.push(item);
        if (batch.length === 25) {
          batches.push(batch);
          batch = [];
        }
      }
    }
    if (batch.length) batches.push(batch);
    await pool(batches, SEED_CONCURRENCY, async (chunk) => {
      let requests: { PutRequest: { Item: Record<string, unknown> } }[] = chunk.map((Item) => ({ PutRequest: { Item } }));
      while (requests.length) {
        const out = await raw.send(new BatchWriteCommand({ RequestItems: { [TableName]: requests } }));
        requests = (out.UnprocessedItems?.[TableName] ?? []) as typeof requests;
      }
    });
    return { itemsPerPartner: items.length, seconds: round((performance.now() - t0) / 1000, 1) };
  } finally {
    raw.destroy();
  }
}

function exec(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * The export as deployed: the task that writes a run's CSVs once it is approved, bundled with the
 * deployed functions' options (lib/bundling.ts) and invoked once in a fresh process.
 */
async function isolatedExport(b: Bench, runId: string) {
  const work = mkdtempSync(join(tmpdir(), 'prm-export-lambda-'));
  try {
    await build({ ...BUNDLE_OPTIONS, entryPoints: { index: join(ROOT, 'bench', 'lib', 'export-lambda.ts') }, outdir: work, sourcemap: false, logLevel: 'silent' });
    const file = join(work, 'index.mjs');
    const env = {
      PATH: process.env.PATH,
      AWS_REGION: 'us-east-1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      DDB_ENDPOINT: b.system.ddbEndpoint,
      TABLE_NAME: process.env.TABLE_NAME,
      PRM_CONFIG: JSON.stringify({ baseUrl: b.system.url }),
      TMPDIR: work,
    };
    const r = await exec(process.execPath, [file, runId, join(work, 'blobs')], env, 600_000);
    if (r.code !== 0) throw new Error(`isolated export failed (exit ${r.code}): ${r.stderr.slice(-2000)}`);
    const out = JSON.parse(r.stdout) as { status: unknown; error?: string; ms: number; afterImportMb: number; peakAfterImportMb: number; peakMb: number; bytes: number; linesBytes: number; rows: number; db: { calls: number; ms: number; items: number; bytes: number } };
    if (out.status !== 'APPROVED') throw new Error(`isolated export answered ${JSON.stringify(out.status)}: ${out.error ?? ''}`);
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export async function run(): Promise<PartResult> {
  const t0 = performance.now();
  heading(`scale: payout run over ${PARTNERS.toLocaleString('en-US')} partners x ${SALES} sales lines, then its export`);
  const availability = incentivesAvailability();
  if (!availability.available) {
    console.log(`not available yet: ${availability.reason}`);
    const targets = [
      notMeasured(`payout run of ${PARTNERS} partners, wall time`, 's', `<= ${RUN_BOUND_S}`, availability.reason),
      notMeasured('export peak RSS', 'MB', `<= ${EXPORT_BOUND_MB}`, availability.reason),
    ];
    console.log(`\nTargets:\n${targetsTable(targets)}`);
    return { part: 'scale', targets, notes: [`not available yet: ${availability.reason}`], raw: { available: false, reason: availability.reason }, seconds: round((performance.now() - t0) / 1000, 1) };
  }

  const b = await startBench({ meter: false, config: { approvalTimeoutSeconds: 3600 } });
  try {
    const seeded = await seed(b);
    console.log(`seeded ${PARTNERS.toLocaleString('en-US')} partners with ${(PARTNERS * SALES).toLocaleString('en-US')} sales (${seeded.itemsPerPartner} items each: one made through the store and API, cloned) in ${seeded.seconds} s, not timed below`);

    let sampler: ReturnType<typeof rssSampler> | undefined;
    const begin = () => {
      const baselineMb = process.memoryUsage().rss / 2 ** 20;
      resetPeakRss();
      sampler = rssSampler();
      return baselineMb;
    };
    const end = (baselineMb: number) => ({ baselineMb, peakMb: peakRssMb() ?? 0, sampledPeakMb: sampler!.stop() });
    let runBaseline = 0;
    let runRss = { baselineMb: 0, peakMb: 0, sampledPeakMb: 0 };
    let outcome: Awaited<ReturnType<typeof payoutRun>>;
    try {
      outcome = await payoutRun(b, { timeoutMs: 15 * 60_000, beforeRun: () => (runBaseline = begin()), calculated: () => (runRss = end(runBaseline)) });
    } catch (error) {
      // The system failing at this size is a result, not a crash of the benchmark.
      sampler?.stop();
      const reason = `the payout run failed: ${(error as Error).message.slice(0, 1500)}`;
      console.log(reason);
      const targets = [notMeasured(`payout run of ${PARTNERS} partners x ${SALES} sales, wall time`, 's', `<= ${RUN_BOUND_S}`, 'the run failed'), notMeasured('export peak RSS (one Lambda invocation)', 'MB', `<= ${EXPORT_BOUND_MB}`, 'the run failed, nothing to export')];
      console.log(`\nTargets:\n${targetsTable(targets)}`);
      return { part: 'scale', targets, notes: [reason], raw: { partners: PARTNERS, salesPerPartner: SALES, seeded, failed: reason }, seconds: round((performance.now() - t0) / 1000, 1) };
    }
    // The export alone, as the deployed function would run it: a fresh process, the bundled handler.
    const lambda = await isolatedExport(b, outcome.runId);
    // And through the local API, as finance would download it.
    const exportBaseline = begin();
    const logged = b.serverErrors.length;
    const http = await exportRun(b, outcome.runId);
    if (http.status !== 200) http.error = `${http.error ?? ''} (the handler logged ${[...new Set(b.serverErrors.slice(logged))].join('; ') || 'nothing'})`;
    const exportRss = end(exportBaseline);
    const runSeconds = round(outcome.calculationMs / 1000, 1);
    const mb = (n: number) => fmtNumber(round(n, 1));
    // Deployed, the approving task (incentivesTasks) writes the exports; the routes link to the files.
    const timeout = (FUNCTIONS as Record<string, FunctionSpec>).incentivesTasks?.timeoutSeconds ?? 10;
    console.log(
      table(
        ['step', 'time s', 'peak RSS MB', 'RSS before MB', 'increase MB', 'what'],
        [
          ['payout run (calculation), this process', runSeconds, mb(runRss.peakMb), mb(runRss.baselineMb), mb(runRss.peakMb - runRss.baselineMb), `${PARTNERS.toLocaleString('en-US')} partners, ${outcome.transitions} state transitions`],
          ['exports as one Lambda invocation', round(lambda.ms / 1000, 2), mb(lambda.peakMb), mb(lambda.afterImportMb), mb(lambda.peakMb - lambda.peakAfterImportMb), `export.csv ${lambda.rows.toLocaleString('en-US')} payments (${fmtNumber(round(lambda.bytes / 2 ** 20, 2))} MB) + lines.csv (${fmtNumber(round(lambda.linesBytes / 2 ** 20, 2))} MB); fresh process, bundled task`],
          [
            'export over the local API (GET export.csv)',
            round(http.ms / 1000, 2),
            mb(exportRss.peakMb),
            mb(exportRss.baselineMb),
            mb(exportRss.peakMb - exportRss.baselineMb),
            http.status === 200 ? `${http.payments.toLocaleString('en-US')} payments, ${http.lines.toLocaleString('en-US')} lines` : `HTTP ${http.status}: ${http.error ?? ''}`,
          ],
        ],
        ['l', 'r', 'r', 'r', 'r', 'l'],
      ),
    );
    console.log(
      'The run executes in this process (local engine + task handlers), so its RSS includes the whole local system. The export is measured alone as the\n' +
        'deployed function runs it: the approving task of functions/incentives/tasks.ts (decideRun, both CSVs), bundled like lib/functions.ts, one invocation in a fresh node process\n' +
        `(its DynamoDB calls: ${lambda.db.calls}, ${round(lambda.db.ms / 1000, 1)} s, ${lambda.db.items.toLocaleString('en-US')} items, ${fmtNumber(round(lambda.db.bytes / 2 ** 20, 1))} MB as JSON) ` +
        `(peak = VmHWM, Node itself included), given all the time it needs; deployed, incentivesTasks has ${timeout} s. GET export.csv then answers 302 to the stored file.`,
    );
    const targets: Target[] = [atMost(`payout run of ${PARTNERS} partners x ${SALES} sales, wall time`, runSeconds, RUN_BOUND_S, 's'), atMost('export peak RSS (one Lambda invocation)', round(lambda.peakMb, 1), EXPORT_BOUND_MB, 'MB')];
    console.log(`\nTargets:\n${targetsTable(targets)}`);
    const notes: string[] = [];
    if (runSeconds > RUN_BOUND_S) notes.push(`payout run took ${runSeconds} s for ${PARTNERS} partners (${(PARTNERS * SALES).toLocaleString('en-US')} sales lines) on this ${cpus().length}-core machine with DynamoDB Local.`);
    if (lambda.peakMb > EXPORT_BOUND_MB) notes.push(`export peaked at ${mb(lambda.peakMb)} MB for ${lambda.rows} rows.`);
    if (lambda.ms / 1000 > timeout) {
      notes.push(
        `writing the exports took ${round(lambda.ms / 1000, 1)} s, beyond incentivesTasks' ${timeout} s timeout: ${round(lambda.db.ms / 1000, 1)} s of it waiting on ${lambda.db.calls} DynamoDB Local calls that returned ` +
          `${lambda.db.items.toLocaleString('en-US')} items, ${fmtNumber(round(lambda.db.bytes / 2 ** 20, 1))} MB.`,
      );
    }
    if (http.status !== 200) notes.push(`GET export.csv over the local API answered ${http.status} after ${round(http.ms / 1000, 1)} s: ${http.error ?? ''}`);
    for (const n of notes) console.log(`MISSED: ${n}`);
    return {
      part: 'scale',
      targets,
      notes,
      raw: {
        partners: PARTNERS,
        salesPerPartner: SALES,
        seeded,
        run: { runId: outcome.runId, seconds: runSeconds, transitions: outcome.transitions, rss: runRss },
        exportLambda: lambda,
        exportHttp: { status: http.status, seconds: round(http.ms / 1000, 2), payments: http.payments, lines: http.lines, bytes: http.bytes, rss: exportRss, ...(http.error ? { error: http.error } : {}) },
      },
      seconds: round((performance.now() - t0) / 1000, 1),
    };
  } finally {
    await b.stop();
  }
}
