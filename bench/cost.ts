import { FUNCTIONS, type FunctionSpec } from '../functions/catalog.ts';
import type { ExecutionRecord } from '../local/workflows.ts';
import { DEFAULT_MEMORY_MB, PRICES, UNPRICED } from './prices.ts';
import { dominant, monthlyCost, perPartnerAndUser, type MonthlyUsage } from './lib/cost-model.ts';
import { diffUnits, totalUnits, type UnitsByOperation } from './lib/capacity.ts';
import { confirmPayments, createRebateProgram, exportRun, incentivesAvailability, payoutRun, postSales, setPayee } from './lib/incentives.ts';
import { atMost, fmtNumber, heading, median, round, table, targetsTable, usd, type PartResult, type Target } from './lib/report.ts';
import {
  APPROVERS,
  applyAndApprove,
  decide,
  expectStatus,
  finished,
  fundedRequest,
  proofFile,
  startBench,
  submitClaim,
  until,
  uploadAll,
  type Bench,
  type Partner,
} from './lib/system.ts';

/**
 * Cost model: a scenario driven through the local runtime (real ASL workflows, real handlers,
 * DynamoDB Local), counted from what happened and priced with bench/prices.ts.
 *
 * Phases run one after another, and within a phase one record at a time, so each phase's
 * counters (state transitions, Lambda invocations and durations, DynamoDB units, emails) belong
 * to that phase's records only and Lambda durations are not inflated by parallel work. A warm-up
 * round (one of everything) runs first and is not counted: cold starts are the coldstart part's.
 */

const N = Number(process.env.BENCH_COST_N ?? 8);
const CLAIM_TARGET_USD = 0.0005;
const SCENARIO = { partners: 10_000, claimsPerPartnerMonth: 2, salesPerPartnerMonth: 20, payoutRunsPerMonth: 1 };
/** Assumed share of claims per review route in the stated scenario (change here). */
const CLAIM_MIX: Record<ClaimRoute, number> = { auto: 0.5, single: 0.35, 'two-level': 0.1, 'request-changes loop': 0.05 };
const SALES_PER_REQUEST = 1;
/**
 * Assumptions of the all-services month (one place): users per partner (each signs in: one Cognito
 * MAU), proof size and months its files are kept, the share of link-signing invocations that are cold
 * (one GetSecretValue each: 1 = every one, an upper bound), one S3 GET per uploaded proof, one X-Ray
 * trace per API request and per execution (all sampled).
 */
const MONTH = { usersPerPartner: 1, proofBytes: 500_000, proofMonthsKept: 12, coldShareOfSecretFunctions: 1 };
const SECRET_FUNCTIONS = new Set(Object.entries(FUNCTIONS as Record<string, FunctionSpec>).filter(([, f]) => f.grants.includes('linkSecret')).map(([n]) => n));
/** Claim amounts in minor units, one per route (gold partner: auto <= 500.00, single <= 10,000.00). */
const CLAIM_AMOUNT = { auto: 50_000, single: 200_000, 'two-level': 1_200_000, 'request-changes loop': 200_000 } as const;
const FUND_REQUEST_AMOUNT = 4_000_000;
type ClaimRoute = keyof typeof CLAIM_AMOUNT;
const ROUTES: ClaimRoute[] = ['auto', 'single', 'two-level', 'request-changes loop'];
/**
 * The review routes of docs/api.md (claim review), each bound by the target. A request-changes round
 * is not a route but a second review of the same claim (the partner's resubmission), so the loop is
 * reported beside them, with its cost per review.
 */
const REVIEW_ROUTES: ClaimRoute[] = ['auto', 'single', 'two-level'];
/**
 * States a claim on each route must pass (checks the route really was taken; the second level of
 * a two-level claim decides inside AskApprovers, and claimOnRoute fails unless the director decided).
 */
const ROUTE_STATES: Record<ClaimRoute, { must: string[]; mustNot: string[] }> = {
  auto: { must: ['AutoApprove'], mustNot: ['AskApprovers'] },
  single: { must: ['AskApprovers', 'Settle'], mustNot: ['AskForChanges'] },
  'two-level': { must: ['AskApprovers', 'Settle'], mustNot: ['AskForChanges'] },
  'request-changes loop': { must: ['AskApprovers', 'AskForChanges', 'Settle'], mustNot: [] },
};

interface Snapshot {
  invocations: Map<string, { invocations: number; durations: number }>;
  units: UnitsByOperation;
  transitions: number;
  executionNames: Set<string>;
  emails: number;
  api: number;
  uploads: number;
  events: number;
  logBytes: number;
  logLines: number;
}

/**
 * Bytes the handlers write to stdout/stderr as structured (JSON) log lines: what CloudWatch Logs
 * ingests deployed, besides the Lambda platform lines (LAMBDA_PLATFORM_LOG_BYTES per invocation).
 */
const logged = { bytes: 0, lines: 0 };
/** START, END and REPORT lines of one invocation (with X-Ray's trace id in REPORT): an assumption. */
export const LAMBDA_PLATFORM_LOG_BYTES = 320;
function countLogs(): () => void {
  const streams = [process.stdout, process.stderr] as const;
  const writes = streams.map((stream) => stream.write);
  for (const stream of streams) {
    const original = stream.write;
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      for (const line of text.split('\n')) {
        if (line.startsWith('{"')) {
          logged.bytes += Buffer.byteLength(line) + 1;
          logged.lines++;
        }
      }
      return (original as (...a: unknown[]) => boolean).call(stream, chunk, ...rest);
    }) as typeof stream.write;
  }
  return () => streams.forEach((stream, i) => (stream.write = writes[i]!));
}

export interface PhaseCounts {
  count: number;
  unit: string;
  transitions: number;
  executions: { name: string; machine: string; transitions: number; uploadPolls: number; status: string }[];
  lambda: Record<string, { invocations: number; durationsMs: number[]; memoryMB: number; gbSeconds: number }>;
  dynamodb: UnitsByOperation;
  emails: number;
  apiRequests: number;
  uploads: number;
  events: number;
  logBytes: number;
  logLines: number;
}

export interface Cost {
  stepFunctions: number;
  lambdaRequests: number;
  lambdaDuration: number;
  dynamodbReads: number;
  dynamodbWrites: number;
  email: number;
  total: number;
}

const memoryOf = (fn: string) => (FUNCTIONS as Record<string, FunctionSpec>)[fn]?.memoryMB ?? DEFAULT_MEMORY_MB;
const transitionsOf = (b: Bench) => b.system.engine.list().reduce((s, e) => s + e.stateTransitions, 0);

async function snapshot(b: Bench): Promise<Snapshot> {
  return {
    invocations: new Map([...b.system.invocations].map(([fn, s]) => [fn, { invocations: s.invocations, durations: s.durationsMs.length }])),
    units: await b.meter.snapshot(),
    transitions: transitionsOf(b),
    executionNames: new Set(b.system.engine.list().map((e) => e.name)),
    emails: b.system.outbox.all().length,
    api: b.sent.api,
    uploads: b.sent.uploads,
    events: b.system.eventLog.events.length,
    logBytes: logged.bytes,
    logLines: logged.lines,
  };
}

const uploadPolls = (e: ExecutionRecord) => e.events.filter((x) => x.type === 'StateEntered' && x.state?.name === 'WaitForUploads').length;
export const statesEntered = (e: ExecutionRecord) => e.events.filter((x) => x.type === 'StateEntered').map((x) => x.state!.name);

/** Runs `body` and returns what happened during it. Every execution it started must have ended. */
async function phase(b: Bench, unit: string, body: () => Promise<number>): Promise<PhaseCounts> {
  const before = await snapshot(b);
  const count = await body();
  const started = b.system.engine.list().filter((e) => !before.executionNames.has(e.name));
  for (const e of started) await finished(b, e.name);
  const after = await snapshot(b);
  const lambda: PhaseCounts['lambda'] = {};
  for (const [fn, stats] of b.system.invocations) {
    const was = before.invocations.get(fn) ?? { invocations: 0, durations: 0 };
    const durationsMs = stats.durationsMs.slice(was.durations);
    if (!durationsMs.length) continue;
    const memoryMB = memoryOf(fn);
    const billedMs = durationsMs.reduce((s, d) => s + Math.ceil(d / PRICES.lambda.durationGranularityMs) * PRICES.lambda.durationGranularityMs, 0);
    lambda[fn] = { invocations: stats.invocations - was.invocations, durationsMs, memoryMB, gbSeconds: (billedMs / 1000) * (memoryMB / 1024) };
  }
  return {
    count,
    unit,
    transitions: after.transitions - before.transitions,
    executions: started.map((e) => {
      const done = b.system.engine.describe(e.executionArn)!;
      return { name: done.name, machine: done.stateMachine, transitions: done.stateTransitions, uploadPolls: uploadPolls(done), status: done.status };
    }),
    lambda,
    dynamodb: diffUnits(after.units, before.units),
    emails: after.emails - before.emails,
    apiRequests: after.api - before.api,
    uploads: after.uploads - before.uploads,
    events: after.events - before.events,
    logBytes: after.logBytes - before.logBytes,
    logLines: after.logLines - before.logLines,
  };
}

export function price(c: PhaseCounts): Cost {
  const units = totalUnits(c.dynamodb);
  const invocations = Object.values(c.lambda).reduce((s, l) => s + l.invocations, 0);
  const gbSeconds = Object.values(c.lambda).reduce((s, l) => s + l.gbSeconds, 0);
  const cost = {
    stepFunctions: c.transitions * PRICES.stepFunctions.perStateTransition,
    lambdaRequests: invocations * PRICES.lambda.perRequest,
    lambdaDuration: gbSeconds * PRICES.lambda.perGbSecond,
    dynamodbReads: units.readUnits * PRICES.dynamodb.perReadUnit,
    dynamodbWrites: units.writeUnits * PRICES.dynamodb.perWriteUnit,
    email: c.emails * PRICES.ses.perEmail,
  };
  return { ...cost, total: Object.values(cost).reduce((s, v) => s + v, 0) };
}

const perUnit = (cost: Cost, n: number): Cost => Object.fromEntries(Object.entries(cost).map(([k, v]) => [k, v / n])) as unknown as Cost;

// ---------- the steps of the scenario ----------

async function claimOnRoute(b: Bench, p: Partner, fundRequestId: string, route: ClaimRoute): Promise<string> {
  const res = expectStatus(await submitClaim(b, p, fundRequestId, CLAIM_AMOUNT[route]), 202, `POST claim (${route})`);
  const claimId = res.body.claimId as string;
  if (route === 'single') {
    expectStatus((await decide(b, APPROVERS.channelManager, claimId, { decision: 'approve' })).res, 200, 'approve claim');
  } else if (route === 'two-level') {
    expectStatus((await decide(b, APPROVERS.channelManager, claimId, { decision: 'approve' })).res, 200, 'approve claim (1st level)');
    expectStatus((await decide(b, APPROVERS.marketingDirector, claimId, { decision: 'approve' })).res, 200, 'approve claim (2nd level)');
  } else if (route === 'request-changes loop') {
    const first = await decide(b, APPROVERS.channelManager, claimId, { decision: 'request_changes', comment: 'Attach the attendee list' });
    expectStatus(first.res, 200, 'request changes');
    await until(() => b.system.outbox.all().find((m) => m.to.includes(p.email) && m.subject.includes(claimId) && m.subject.includes('needs changes')), `changes-requested email for ${claimId}`);
    const resubmitted = expectStatus(
      await b.call('PUT', `/partners/${p.partnerId}/claims/${claimId}`, { token: p.token, body: { proofOfPerformance: [proofFile('attendee list', 'attendees.pdf')], comment: 'Attendee list attached' } }),
      202,
      'PUT claim (resubmit)',
    );
    await uploadAll(b, resubmitted.body.uploads, 'attendee list');
    expectStatus((await decide(b, APPROVERS.channelManager, claimId, { decision: 'approve' }, { notApprovalId: first.link.approvalId })).res, 200, 'approve resubmitted claim');
  }
  const execution = await finished(b, claimId);
  const states = statesEntered(execution);
  const rule = ROUTE_STATES[route];
  if (execution.status !== 'SUCCEEDED' || rule.must.some((s) => !states.includes(s)) || rule.mustNot.some((s) => states.includes(s))) {
    throw new Error(`claim ${claimId} did not take the ${route} route: ${execution.status}, ${states.join(' → ')}`);
  }
  return claimId;
}

// ---------- the part ----------

export async function run(): Promise<PartResult> {
  const t0 = performance.now();
  heading(`cost: scenario through the local runtime (${N} of each record, one at a time, after a warm-up round)`);
  const incentives = incentivesAvailability();
  const b = await startBench({ deferWorkflowStarts: true, config: { claims: { uploadPollSeconds: 1 } } as never });
  const stopCounting = countLogs();
  try {
    // Warm-up: one of everything, not counted.
    const warm = await applyAndApprove(b);
    const warmFrq = await fundedRequest(b, warm, FUND_REQUEST_AMOUNT);
    for (const route of ROUTES) await claimOnRoute(b, warm, warmFrq, route);
    if (incentives.available) {
      await createRebateProgram(b);
      await setPayee(b, warm);
      await postSales(b, warm, 1, 1);
    }

    const phases: Record<string, PhaseCounts> = {};
    const problems: string[] = [];
    const partners: Partner[] = [];
    phases.application = await phase(b, 'application', async () => {
      for (let i = 0; i < N; i++) partners.push(await applyAndApprove(b));
      return N;
    });
    const fundRequests: string[] = [];
    phases['fund request'] = await phase(b, 'fund request', async () => {
      for (const p of partners) fundRequests.push(await fundedRequest(b, p, FUND_REQUEST_AMOUNT));
      return N;
    });
    for (const route of ROUTES) {
      phases[`claim: ${route}`] = await phase(b, 'claim', async () => {
        for (let i = 0; i < N; i++) await claimOnRoute(b, partners[i]!, fundRequests[i]!, route);
        return N;
      });
    }

    let payout: { runId: string; payments: number; lines: number; calculationMs: number } | undefined;
    if (incentives.available) {
      for (const p of partners) await setPayee(b, p); // one-off set-up, not part of a month
      phases.sale = await phase(b, 'sale', async () => {
        for (const p of partners) await postSales(b, p, SCENARIO.salesPerPartnerMonth, SALES_PER_REQUEST);
        return N * SCENARIO.salesPerPartnerMonth;
      });
      let run: Awaited<ReturnType<typeof payoutRun>> | undefined;
      let exported: Awaited<ReturnType<typeof exportRun>> | undefined;
      phases['payout run'] = await phase(b, 'payout run', async () => {
        run = await payoutRun(b);
        exported = await exportRun(b, run.runId);
        return 1;
      });
      if (exported!.status !== 200) problems.push(`the payout run's export answered ${exported!.status}: ${exported!.error}; the handler logged ${b.serverErrors.slice(-3).join('; ')}`);
      payout = { runId: run!.runId, payments: exported!.payments, lines: exported!.lines, calculationMs: run!.calculationMs };
      // Finance then confirms the payments. A failure here is a finding about the system, reported
      // rather than fatal, so that the rest of the cost model still prints.
      const logged = b.serverErrors.length;
      try {
        phases['payment confirmation'] = await phase(b, 'payout run', async () => {
          await confirmPayments(b, run!.runId, exported!.csv);
          return 1;
        });
      } catch (error) {
        const why = b.serverErrors.slice(logged);
        problems.push(`confirming the payout run's payments failed (so it is not in the cost): ${(error as Error).message.slice(0, 200)}${why.length ? `; the handler logged ${[...new Set(why)].join('; ')}` : ''}`);
      }
    }

    return report(phases, incentives.available ? undefined : incentives.reason, payout, problems, b.engineStartMs, performance.now() - t0);
  } finally {
    stopCounting();
    await b.stop();
  }
}

/** Monthly usage of every service for the stated scenario: each phase weighted by how often it happens a month. */
function monthUsage(phases: Record<string, PhaseCounts>, payments: number): MonthlyUsage {
  const weights: [string, number][] = [
    ...ROUTES.map((r): [string, number] => [`claim: ${r}`, (SCENARIO.partners * SCENARIO.claimsPerPartnerMonth * CLAIM_MIX[r]) / phases[`claim: ${r}`]!.count]),
    ['sale', (SCENARIO.partners * SCENARIO.salesPerPartnerMonth) / (phases.sale?.count ?? 1)],
    ['payout run', payments > 0 ? SCENARIO.partners / payments : 0],
    ['payment confirmation', payments > 0 ? SCENARIO.partners / payments : 0],
  ];
  const u: MonthlyUsage = { stateTransitions: 0, lambdaRequests: 0, lambdaGbSeconds: 0, dynamodbReadUnits: 0, dynamodbWriteUnits: 0, dynamodbStorageGb: 0, emails: 0, apiRequests: 0, cognitoMau: SCENARIO.partners * MONTH.usersPerPartner, customEvents: 0, s3Puts: 0, s3Gets: 0, s3StorageGb: 0, logGbIngested: 0, logGbStored: 0, tracesRecorded: 0, secretsManagerCalls: 0, secrets: 1 };
  for (const [name, w] of weights) {
    const c = phases[name];
    if (!c || !w) continue;
    const inv = Object.values(c.lambda).reduce((s, l) => s + l.invocations, 0);
    const units = totalUnits(c.dynamodb);
    u.stateTransitions += w * c.transitions;
    u.lambdaRequests += w * inv;
    u.lambdaGbSeconds += w * Object.values(c.lambda).reduce((s, l) => s + l.gbSeconds, 0);
    u.dynamodbReadUnits += w * units.readUnits;
    u.dynamodbWriteUnits += w * units.writeUnits;
    u.emails += w * c.emails;
    u.apiRequests += w * c.apiRequests;
    u.customEvents += w * c.events;
    u.s3Puts += w * c.uploads;
    u.s3Gets += w * c.uploads;
    u.s3StorageGb += (w * c.uploads * MONTH.proofBytes * MONTH.proofMonthsKept) / 1e9;
    const logGb = (w * (c.logBytes + inv * LAMBDA_PLATFORM_LOG_BYTES)) / 1e9;
    u.logGbIngested += logGb;
    u.logGbStored += logGb; // one month of retention
    u.tracesRecorded += w * (c.apiRequests + c.executions.length);
    u.secretsManagerCalls += w * MONTH.coldShareOfSecretFunctions * Object.entries(c.lambda).filter(([fn]) => SECRET_FUNCTIONS.has(fn)).reduce((s, [, l]) => s + l.invocations, 0);
  }
  return u;
}

function printMonth(phases: Record<string, PhaseCounts>, payments: number) {
  const u = monthUsage(phases, payments);
  const without = monthlyCost(u, { freeTiers: false });
  const withFree = monthlyCost(u, { freeTiers: true });
  const users = MONTH.usersPerPartner;
  console.log(`\nEvery service, a month of the stated scenario (${SCENARIO.partners.toLocaleString('en-US')} partners, ${users} user each; assumptions: ${JSON.stringify(MONTH)}):`);
  console.log(
    table(
      ['service', 'per month', 'per partner-month', 'per partner user-month', 'per month, free tiers off', 'per partner user-month, free tiers off'],
      (Object.keys(without) as (keyof typeof without)[]).map((k) => [k, usd(withFree[k]), usd(withFree[k] / SCENARIO.partners), usd(withFree[k] / (SCENARIO.partners * users)), usd(without[k]), usd(without[k] / (SCENARIO.partners * users))]),
      ['l', 'r', 'r', 'r', 'r', 'r'],
    ),
  );
  const d0 = dominant(without);
  const d1 = dominant(withFree);
  const per0 = perPartnerAndUser(without.total, SCENARIO.partners, users);
  console.log(
    `Dominant: ${d0.service} (${Math.round(d0.share * 100)}%) without free tiers, ${d1.service} (${Math.round(d1.share * 100)}%) with them. ` +
      `Per partner user-month ${usd(per0.perUserMonth)} (free tiers off) against per-seat licences at $${PRICES.seatLicencesPerUserMonth.join('-')}.`,
  );
  return { usage: u, withFreeTiers: withFree, withoutFreeTiers: without, dominantWithout: d0, dominantWith: d1, assumptions: MONTH };
}

// ---------- printing ----------

function report(
  phases: Record<string, PhaseCounts>,
  incentivesMissing: string | undefined,
  payout: { runId: string; payments: number; lines: number; calculationMs: number } | undefined,
  problems: string[],
  engineStartMs: number[],
  ms: number,
): PartResult {
  const costs = Object.fromEntries(Object.entries(phases).map(([name, c]) => [name, perUnit(price(c), c.count)]));

  const counted = Object.entries(phases).map(([name, c]) => {
    const n = c.count;
    const invocations = Object.values(c.lambda).reduce((s, l) => s + l.invocations, 0);
    const ms = Object.values(c.lambda).reduce((s, l) => s + l.durationsMs.reduce((a, d) => a + d, 0), 0);
    const gbs = Object.values(c.lambda).reduce((s, l) => s + l.gbSeconds, 0);
    const u = totalUnits(c.dynamodb);
    const polls = c.executions.reduce((s, e) => s + e.uploadPolls, 0);
    return [name, n, fmtNumber(round(c.transitions / n, 2)), fmtNumber(round(polls / n, 2)), fmtNumber(round(invocations / n, 2)), fmtNumber(round(ms / n, 1)), (gbs / n).toFixed(4), fmtNumber(round(u.readUnits / n, 2)), fmtNumber(round(u.writeUnits / n, 2)), fmtNumber(round(c.emails / n, 2)), fmtNumber(round(c.apiRequests / n, 2))];
  });
  console.log('\nWhat happened, per record (averages over the records of each phase):');
  console.log(
    table(
      ['record', 'n', 'state transitions', 'upload polls', 'Lambda invocations', 'Lambda ms (sum)', 'GB-s', 'DDB read units', 'DDB write units', 'emails', 'API requests'],
      counted,
      ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
  );

  const claimPhases = ROUTES.map((r) => phases[`claim: ${r}`]!);
  const polls = claimPhases.reduce((t, c) => t + c.executions.reduce((s, e) => s + e.uploadPolls, 0), 0);
  console.log(
    `Upload polls: when a review runs before the claim's proof is uploaded it waits and reviews again, 3 more transitions (${usd(3 * PRICES.stepFunctions.perStateTransition)}) and one more mdfTasks call.\n` +
      `Here ${polls} poll(s) over ${claimPhases.reduce((t, c) => t + c.count, 0)} claims (the bench uploads right after the 202; a browser upload that lands after the first review costs one poll).`,
  );
  console.log(
    '\nLog bytes (CloudWatch Logs ingestion), per record: JSON lines the handlers wrote (measured), plus ' +
      `${LAMBDA_PLATFORM_LOG_BYTES} bytes of START/END/REPORT per Lambda invocation (assumed):`,
  );
  console.log(
    table(
      ['record', 'handler log lines', 'handler log bytes', 'Lambda invocations', 'platform bytes', 'bytes per invocation (handler + platform)'],
      Object.entries(phases).map(([name, c]) => {
        const inv = Object.values(c.lambda).reduce((s, l) => s + l.invocations, 0);
        return [name, fmtNumber(round(c.logLines / c.count, 2)), fmtNumber(round(c.logBytes / c.count, 0)), fmtNumber(round(inv / c.count, 2)), fmtNumber(round((inv * LAMBDA_PLATFORM_LOG_BYTES) / c.count, 0)), inv ? fmtNumber(round(c.logBytes / inv + LAMBDA_PLATFORM_LOG_BYTES, 0)) : 'n/a'];
      }),
      ['l', 'r', 'r', 'r', 'r', 'r'],
    ),
  );
  console.log('\nCost per record (USD, list prices of bench/prices.ts):');
  console.log(
    table(
      ['record', 'Step Functions', 'Lambda requests', 'Lambda duration', 'DynamoDB reads', 'DynamoDB writes', 'SES', 'total'],
      Object.entries(costs).map(([name, c]) => [name, usd(c.stepFunctions), usd(c.lambdaRequests), usd(c.lambdaDuration), usd(c.dynamodbReads), usd(c.dynamodbWrites), usd(c.email), usd(c.total)]),
      ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
  );

  // DynamoDB per operation and Lambda per function, over the whole counted scenario.
  const allUnits: UnitsByOperation = {};
  for (const c of Object.values(phases)) {
    for (const [op, u] of Object.entries(c.dynamodb)) {
      const t = (allUnits[op] ??= { calls: 0, failed: 0, readUnits: 0, writeUnits: 0, computedUnits: 0, localReportedUnits: 0, ms: 0 });
      for (const k of Object.keys(u) as (keyof typeof u)[]) t[k] += u[k];
    }
  }
  console.log('\nDynamoDB units per operation (whole counted scenario):');
  console.log(
    table(
      ['operation', 'calls', 'failed', 'read units', 'write units', 'of which computed', 'DynamoDB Local reported (tx)'],
      Object.entries(allUnits)
        .sort((a, b) => b[1].writeUnits + b[1].readUnits - (a[1].writeUnits + a[1].readUnits))
        .map(([op, u]) => [op, u.calls, u.failed, fmtNumber(round(u.readUnits, 1)), fmtNumber(round(u.writeUnits, 1)), fmtNumber(round(u.computedUnits, 1)), op === 'TransactWriteItems' ? fmtNumber(u.localReportedUnits) : '']),
      ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
  );
  console.log(
    'Units come from ReturnConsumedCapacity on every call. Computed instead (DynamoDB rules, from item sizes): TransactWriteItems (DynamoDB Local rounds a\n' +
      "whole transaction's size up once; AWS bills each item rounded up to 1 KB, x2 for transactions, + the GSI write) and refused conditional writes\n" +
      '(billed by AWS, not reported back). Refused transactions are counted like completed ones (an upper bound).',
  );

  const allLambda: Record<string, { invocations: number; durations: number[]; memoryMB: number; gbSeconds: number }> = {};
  for (const c of Object.values(phases)) {
    for (const [fn, l] of Object.entries(c.lambda)) {
      const t = (allLambda[fn] ??= { invocations: 0, durations: [], memoryMB: l.memoryMB, gbSeconds: 0 });
      t.invocations += l.invocations;
      t.durations.push(...l.durationsMs);
      t.gbSeconds += l.gbSeconds;
    }
  }
  console.log(
    '\nLambda per function (whole counted scenario; durations measured in-process around each handler call, billed rounded up to 1 ms).\n' +
      `Workflow starts are deferred out of the calling handler: the local engine spent median ${fmtNumber(round(median(engineStartMs), 0))} ms (max ${fmtNumber(round(Math.max(...engineStartMs), 0))} ms) of CPU building each of ${engineStartMs.length} executions\n` +
      '(LocalWorkflowEngine.run validates the ASL anew for every execution); deployed, that is one StartExecution call.',
  );
  console.log(
    table(
      ['function', 'invocations', 'median ms', 'mean ms', 'max ms', 'memory MB', 'GB-s'],
      Object.entries(allLambda).map(([fn, l]) => [fn, l.invocations, fmtNumber(round(median(l.durations), 1)), fmtNumber(round(l.durations.reduce((a, d) => a + d, 0) / l.durations.length, 1)), fmtNumber(round(Math.max(...l.durations), 1)), l.memoryMB, l.gbSeconds.toFixed(4)]),
      ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
  );

  // The stated scenario: a partner-month.
  const claimCost = ROUTES.reduce((s, r) => s + CLAIM_MIX[r] * costs[`claim: ${r}`]!.total, 0);
  const worstClaim = Math.max(...ROUTES.map((r) => costs[`claim: ${r}`]!.total));
  const saleCost = costs.sale?.total ?? null;
  const runCost = phases['payout run'] ? price(phases['payout run']).total + (phases['payment confirmation'] ? price(phases['payment confirmation']).total : 0) : null;
  const perPartnerRun = runCost !== null && payout && payout.payments > 0 ? runCost / payout.payments : null;
  const perLine = runCost !== null && payout && payout.lines > 0 ? runCost / payout.lines : null;
  const reason = incentivesMissing ? `not measured yet (${incentivesMissing})` : undefined;
  const items = [
    { item: `claims (mix ${ROUTES.map((r) => `${r} ${CLAIM_MIX[r] * 100}%`).join(', ')})`, qty: SCENARIO.claimsPerPartnerMonth, unit: claimCost },
    { item: `sales (${SALES_PER_REQUEST} per request)`, qty: SCENARIO.salesPerPartnerMonth, unit: saleCost },
    { item: `payout run, share per partner (run over ${payout?.payments ?? '?'} partners, ${payout?.lines ?? '?'} lines: its fixed part is spread thinner over 10,000)`, qty: SCENARIO.payoutRunsPerMonth, unit: perPartnerRun },
  ];
  const measuredPart = items.reduce((s, i) => s + (i.unit ?? 0) * i.qty, 0);
  const complete = items.every((i) => i.unit !== null);
  console.log(`\nStated scenario: ${SCENARIO.partners.toLocaleString('en-US')} partners, each ${SCENARIO.claimsPerPartnerMonth} claims and ${SCENARIO.salesPerPartnerMonth} sales a month, ${SCENARIO.payoutRunsPerMonth} payout run a month:`);
  console.log(
    table(
      ['item', 'per partner-month', 'unit cost', 'per partner-month cost'],
      items.map((i) => [i.item, i.qty, i.unit === null ? (reason ?? 'n/a') : usd(i.unit), i.unit === null ? 'n/a' : usd(i.unit * i.qty)]),
      ['l', 'r', 'r', 'r'],
    ),
  );
  const perPartnerMonth = complete ? measuredPart : null;
  const monthly = (v: number) => v * SCENARIO.partners;
  const dearest = worstClaim * SCENARIO.claimsPerPartnerMonth + (saleCost ?? 0) * SCENARIO.salesPerPartnerMonth + (perPartnerRun ?? 0) * SCENARIO.payoutRunsPerMonth;
  console.log(
    table(
      ['pricing', 'per partner-month', `per month, ${SCENARIO.partners.toLocaleString('en-US')} partners`],
      [
        [complete ? 'this system (counted)' : 'this system (claims only: lower bound)', usd(measuredPart), usd(monthly(measuredPart))],
        ['this system, every claim on the dearest route', usd(dearest), usd(monthly(dearest))],
        ...PRICES.seatLicencesPerUserMonth.map((seat) => [`per-seat licence at $${seat}/user/month (1 user per partner)`, usd(seat), usd(monthly(seat))]),
      ],
      ['l', 'r', 'r'],
    ),
  );
  if (!complete) console.log(`Sales and payout: ${reason}.`);
  console.log(
    `Not in the scenario: a fund request costs ${usd(costs['fund request']!.total)}, an application ${usd(costs.application!.total)} (one-off). Not in the per-record table (the month table below adds the other services; not counted at all): ` +
      `${UNPRICED.join(', ')}; the counted phases sent ${Object.values(phases).reduce((s, c) => s + c.apiRequests, 0)} API requests, ${Object.values(phases).reduce((s, c) => s + c.uploads, 0)} S3 uploads, ${Object.values(phases).reduce((s, c) => s + c.events, 0)} EventBridge events.`,
  );

  const month = incentivesMissing ? undefined : printMonth(phases, payout?.payments ?? 0);
  const targets: Target[] = REVIEW_ROUTES.map((r) => atMost(`cost per claim (${r})`, round(costs[`claim: ${r}`]!.total, 8), CLAIM_TARGET_USD, 'USD'));
  const loop = costs['claim: request-changes loop']!.total;
  targets.push(
    { name: 'cost per claim with one request-changes round (two reviews; reported, no bound)', value: round(loop, 8), unit: 'USD', target: 'measured', met: true },
    saleCost === null ? { name: 'cost per sale (reported, no bound)', value: null, unit: 'USD', target: 'measured', met: false, reason: reason! } : { name: 'cost per sale (reported, no bound)', value: round(saleCost, 8), unit: 'USD', target: 'measured', met: true },
    perLine === null ? { name: 'cost per payout line (reported, no bound)', value: null, unit: 'USD', target: 'measured', met: false, reason: reason ?? 'no lines' } : { name: 'cost per payout line (reported, no bound)', value: round(perLine, 8), unit: 'USD', target: 'measured', met: true },
    perPartnerMonth === null
      ? { name: 'cost per partner-month (reported, no bound)', value: null, unit: 'USD', target: 'measured', met: false, reason: `${reason}; claims alone: ${usd(measuredPart)}` }
      : { name: 'cost per partner-month (reported, no bound)', value: round(perPartnerMonth, 6), unit: 'USD', target: 'measured', met: true },
  );
  console.log('\nTargets:');
  console.log(targetsTable(targets));

  const notes: string[] = [];
  const loopPhase = phases['claim: request-changes loop']!;
  notes.push(
    `A claim sent back once (request changes, resubmission, approval) is reviewed twice: ${usd(loop)}, i.e. ${usd(loop / 2)} per review, ` +
      `${round(loopPhase.transitions / loopPhase.count, 1)} state transitions and ${round(loopPhase.emails / loopPhase.count, 1)} emails (approver and partner, each round); ` +
      `each further round adds about the same again. Reported, not bound: the number of rounds is the partner's doing.`,
  );
  console.log(`NOTE: ${notes[0]}`);
  const missed = REVIEW_ROUTES.filter((r) => costs[`claim: ${r}`]!.total > CLAIM_TARGET_USD);
  for (const r of missed) {
    const c = costs[`claim: ${r}`]!;
    const parts = (Object.entries(c) as [keyof Cost, number][]).filter(([k]) => k !== 'total').sort((a, b) => b[1] - a[1]);
    const ph = phases[`claim: ${r}`]!;
    notes.push(
      `claim (${r}) costs ${usd(c.total)} > ${usd(CLAIM_TARGET_USD)}: ${parts
        .slice(0, 3)
        .map(([k, v]) => `${k} ${usd(v)} (${Math.round((v / c.total) * 100)}%)`)
        .join(', ')}; per claim ${round(ph.transitions / ph.count, 1)} state transitions (${round(ph.executions.reduce((s, e) => s + e.uploadPolls, 0) / ph.count, 1)} upload polls x 3), ${round(ph.emails / ph.count, 1)} emails.`,
    );
  }
  for (const n of notes.slice(1)) console.log(`MISSED: ${n}`);
  for (const p of problems) console.log(`PROBLEM: ${p}`);
  notes.push(...problems);

  const raw = {
    recordsPerPhase: N,
    claimAmounts: CLAIM_AMOUNT,
    claimMix: CLAIM_MIX,
    scenario: SCENARIO,
    prices: PRICES,
    phases: Object.fromEntries(
      Object.entries(phases).map(([name, c]) => [
        name,
        {
          ...c,
          lambda: Object.fromEntries(Object.entries(c.lambda).map(([fn, l]) => [fn, { invocations: l.invocations, totalMs: round(l.durationsMs.reduce((a, d) => a + d, 0), 1), medianMs: round(median(l.durationsMs), 2), memoryMB: l.memoryMB, gbSeconds: l.gbSeconds }])),
          cost: price(c),
          costPerRecord: costs[name],
        },
      ]),
    ),
    payout: payout ?? { measured: false, reason },
    problems,
    localEngineStartMs: { executions: engineStartMs.length, median: round(median(engineStartMs), 1), max: round(Math.max(...engineStartMs), 1) },
    month,
    partnerMonth: { value: perPartnerMonth, measuredPart: round(measuredPart, 8), complete, ...(complete ? {} : { reason }), seatLicences: PRICES.seatLicencesPerUserMonth },
  };
  return { part: 'cost', targets, raw, notes, seconds: round(ms / 1000, 1) };
}
