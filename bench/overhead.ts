import { DynamoDBDocumentClient, GetCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import { workflows } from '../functions/core/workflow-client.ts';
import { localDynamoClient } from '../local/dynamodb.ts';
import { diffUnits, type UnitsByOperation } from './lib/capacity.ts';
import { atMost, fmtNumber, heading, median, percentile, pool, round, table, targetsTable, type PartResult, type Target } from './lib/report.ts';
import { applyAndApprove, claimBody, expectStatus, fundedRequest, startBench } from './lib/system.ts';

/**
 * Request overhead: claim submission (POST) and claim read (GET) against the local server at a
 * fixed concurrency, and in the same run a bare PutItem/GetItem loop against the same DynamoDB
 * Local at the same concurrency. The ratio of latencies is our overhead over the database alone.
 */
const CONCURRENCY = Number(process.env.BENCH_OVERHEAD_CONCURRENCY ?? 8);
const COUNT = Number(process.env.BENCH_OVERHEAD_COUNT ?? 400);
const WARMUP = 40;
const ROUNDS = 4;
const BOUND = 2;

interface Series {
  latenciesMs: number[];
  wallMs: number;
}

async function measure(count: number, fn: (i: number) => Promise<void>): Promise<Series> {
  const latenciesMs: number[] = new Array(count);
  const t0 = performance.now();
  await pool(
    Array.from({ length: count }, (_, i) => i),
    CONCURRENCY,
    async (i) => {
      const t = performance.now();
      await fn(i);
      latenciesMs[i] = performance.now() - t;
    },
  );
  return { latenciesMs, wallMs: performance.now() - t0 };
}

const empty = (): Series => ({ latenciesMs: [], wallMs: 0 });
function append(to: Series, from: Series) {
  to.latenciesMs.push(...from.latenciesMs);
  to.wallMs += from.wallMs;
}
function addUnits(a: UnitsByOperation, b: UnitsByOperation): UnitsByOperation {
  const out: UnitsByOperation = { ...a };
  for (const [op, u] of Object.entries(b)) {
    const t = out[op] ?? { calls: 0, failed: 0, readUnits: 0, writeUnits: 0, computedUnits: 0, localReportedUnits: 0, ms: 0 };
    out[op] = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v + u[k as keyof typeof u]])) as typeof t;
  }
  return out;
}

function stats(s: Series) {
  const sorted = [...s.latenciesMs].sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), mean: sorted.reduce((a, b) => a + b, 0) / sorted.length, throughput: sorted.length / (s.wallMs / 1000) };
}

export async function run(): Promise<PartResult> {
  const t0 = performance.now();
  heading(`overhead: ${COUNT} requests per series at concurrency ${CONCURRENCY} (${ROUNDS} alternating rounds), beside a bare DynamoDB Local loop`);
  const b = await startBench();
  const bare = DynamoDBDocumentClient.from(localDynamoClient(b.system.ddbEndpoint));
  try {
    // As many partners (each with a funded request) as requests in flight: like the bare loop, which
    // writes to different keys, the measured submissions do not queue on one fund request. Claims
    // racing on one fund request are the concurrency part's subject.
    const funded: { partner: Awaited<ReturnType<typeof applyAndApprove>>; fundRequestId: string }[] = [];
    for (let i = 0; i < CONCURRENCY; i++) {
      const partner = await applyAndApprove(b);
      funded.push({ partner, fundRequestId: await fundedRequest(b, partner, 5_000_000) });
    }
    // Deployed, StartExecution is one call and the review runs in another Lambda. Locally the engine
    // would run (and validate) every claim's workflow in this process, competing with the requests
    // measured, so workflow starts are only recorded here.
    let started = 0;
    workflows.set({
      start: async (machine, _input, name = ulid()) => {
        started++;
        return `arn:aws:states:us-east-1:000000000000:execution:prm-${machine}:${name}`;
      },
      sendTaskSuccess: async () => undefined,
      sendTaskFailure: async () => undefined,
      sendTaskHeartbeat: async () => undefined,
    });

    const claims: { partner: (typeof funded)[number]['partner']; claimId: string }[] = [];
    const submit = async (i: number) => {
      const { partner, fundRequestId } = funded[i % funded.length]!;
      const res = expectStatus(await b.call('POST', `/partners/${partner.partnerId}/claims`, { token: partner.token, body: claimBody(fundRequestId, 100) }), 202, 'POST claim');
      claims.push({ partner, claimId: res.body.claimId as string });
    };
    const read = async (i: number) => {
      const { partner, claimId } = claims[i % claims.length]!;
      expectStatus(await b.call('GET', `/partners/${partner.partnerId}/claims/${claimId}`, { token: partner.token }), 200, 'GET claim');
    };
    const payload = 'x'.repeat(700); // about the size of a stored claim item
    const table_ = process.env.TABLE_NAME!;
    const barePut = async (i: number) => {
      await bare.send(new PutCommand({ TableName: table_, Item: { pk: `BENCH#${i % 1000}`, sk: 'ITEM', payload, n: i } }));
    };
    // The shape of a claim submission's transaction with none of our code around it: the claim (put
    // if absent), its fund request (guarded decrement), the invoice lock and the audit entry.
    for (let k = 0; k < 1000; k++) await bare.send(new PutCommand({ TableName: table_, Item: { pk: `BENCHFRQ#${k}`, sk: 'ITEM', remaining: 1e12 } }));
    const bareTx = async (i: number) => {
      const id = `${i}-${ulid()}`;
      await bare.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: table_, Item: { pk: `BENCHCLM#${id}`, sk: 'ITEM', payload }, ConditionExpression: 'attribute_not_exists(pk)' } },
            {
              Update: {
                TableName: table_,
                Key: { pk: `BENCHFRQ#${i % 1000}`, sk: 'ITEM' },
                UpdateExpression: 'SET remaining = remaining - :a',
                ConditionExpression: 'remaining >= :a',
                ExpressionAttributeValues: { ':a': 100 },
              },
            },
            { Put: { TableName: table_, Item: { pk: `BENCHLOCK#${id}`, sk: 'LOCK' }, ConditionExpression: 'attribute_not_exists(pk)' } },
            { Put: { TableName: table_, Item: { pk: `BENCHCLM#${id}`, sk: 'HIST#1', at: new Date().toISOString(), action: 'submitted' } } },
          ],
        }),
      );
    };
    const bareGet = async (i: number) => {
      await bare.send(new GetCommand({ TableName: table_, Key: { pk: `BENCH#${i % 1000}`, sk: 'ITEM' }, ConsistentRead: true }));
    };

    // Only calls and latencies are needed here: no read-backs to size items while latencies are measured.
    b.meter.sizeLookups = false;
    // Warm-up (JIT, connections), not measured.
    await measure(WARMUP, (i) => submit(i));
    await measure(WARMUP, (i) => read(i));
    await measure(WARMUP, (i) => barePut(i));
    await measure(WARMUP, (i) => bareGet(i));
    await measure(WARMUP, (i) => bareTx(i));

    // Measured in rounds that alternate the four series, so drift on this shared machine (JIT,
    // DynamoDB Local's JVM, other load) falls on all of them alike.
    const handlerMs = () => b.system.invocations.get('mdfApi')?.durationsMs ?? [];
    const series = { put: empty(), submit: empty(), get: empty(), read: empty(), tx: empty() };
    const subHandler: number[] = [];
    const readHandler: number[] = [];
    let subUnits: UnitsByOperation = {};
    let readUnits: UnitsByOperation = {};
    const perRound = Math.ceil(COUNT / ROUNDS);
    for (let r = 0; r < ROUNDS; r++) {
      append(series.put, await measure(perRound, (i) => barePut(r * perRound + i)));
      append(series.tx, await measure(perRound, (i) => bareTx(r * perRound + i)));
      let u0 = await b.meter.snapshot();
      let h0 = handlerMs().length;
      append(series.submit, await measure(perRound, (i) => submit(i)));
      subHandler.push(...handlerMs().slice(h0));
      subUnits = addUnits(subUnits, diffUnits(await b.meter.snapshot(), u0));
      append(series.get, await measure(perRound, (i) => bareGet(r * perRound + i)));
      u0 = await b.meter.snapshot();
      h0 = handlerMs().length;
      append(series.read, await measure(perRound, (i) => read(r * perRound + i)));
      readHandler.push(...handlerMs().slice(h0));
      readUnits = addUnits(readUnits, diffUnits(await b.meter.snapshot(), u0));
    }
    const sub = series.submit;
    const rd = series.read;
    const bPut = series.put;
    const bGet = series.get;
    const s = { submit: stats(sub), read: stats(rd), put: stats(bPut), get: stats(bGet), tx: stats(series.tx) };
    const n = sub.latenciesMs.length;
    const callsPer = (u: UnitsByOperation) =>
      Object.entries(u)
        .map(([op, x]) => `${round(x.calls / n, 2)} ${op} (${round(x.ms / x.calls, 1)} ms each${x.failed ? `, ${x.failed} refused` : ''})`)
        .join(' + ');
    const ddbMsPer = (u: UnitsByOperation) => round(Object.values(u).reduce((t, x) => t + x.ms, 0) / n, 1);
    const subCalls = callsPer(subUnits);
    const readCalls = callsPer(readUnits);
    const ddbMs = { submission: ddbMsPer(subUnits), read: ddbMsPer(readUnits) };

    const row = (name: string, st: ReturnType<typeof stats>, server?: number[]) => [
      name,
      st.n,
      fmtNumber(round(st.p50, 1)),
      fmtNumber(round(st.p99, 1)),
      fmtNumber(round(st.mean, 1)),
      fmtNumber(round(st.throughput, 1)),
      server ? fmtNumber(round(median(server), 1)) : '',
    ];
    console.log(
      table(
        ['series', 'n', 'p50 ms', 'p99 ms', 'mean ms', 'req/s', 'handler p50 ms'],
        [
          row('POST claim (ours)', s.submit, subHandler),
          row('bare PutItem', s.put),
          row('bare TransactWriteItems (4 items)', s.tx),
          row('GET claim (ours)', s.read, readHandler),
          row('bare GetItem (consistent)', s.get),
        ],
        ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
      ),
    );
    const ratio = (a: number, b_: number) => round(a / b_, 2);
    const ratios = {
      submitP50: ratio(s.submit.p50, s.put.p50),
      submitP99: ratio(s.submit.p99, s.put.p99),
      submitThroughput: ratio(s.put.throughput, s.submit.throughput),
      readP50: ratio(s.read.p50, s.get.p50),
      readP99: ratio(s.read.p99, s.get.p99),
      readThroughput: ratio(s.get.throughput, s.read.throughput),
      submitOverTxP50: ratio(s.submit.p50, s.tx.p50),
      submitOverTxP99: ratio(s.submit.p99, s.tx.p99),
      submitOverTxThroughput: ratio(s.tx.throughput, s.submit.throughput),
      txOverPutP50: ratio(s.tx.p50, s.put.p50),
    };
    console.log(
      table(
        ['ours / bare', 'p50', 'p99', 'throughput (bare/ours)'],
        [
          ['claim submission / PutItem', `${ratios.submitP50}x`, `${ratios.submitP99}x`, `${ratios.submitThroughput}x`],
          ['claim read / GetItem', `${ratios.readP50}x`, `${ratios.readP99}x`, `${ratios.readThroughput}x`],
          ['claim submission / its bare 4-item transaction (reported)', `${ratios.submitOverTxP50}x`, `${ratios.submitOverTxP99}x`, `${ratios.submitOverTxThroughput}x`],
        ],
        ['l', 'r', 'r', 'r'],
      ),
    );
    console.log(`DynamoDB calls per request: submission ${subCalls}; read ${readCalls} (the bare loop makes 1).`);
    console.log(`Time waiting on DynamoDB per request (sum of its calls): submission ${ddbMs.submission} ms, read ${ddbMs.read} ms; the rest of the handler time is our code, the rest of the client's time the HTTP round trip and the local server (in this same process).`);
    console.log(
      `Measured from the client: HTTP on loopback, the local server (JWT check, API Gateway v2 event), the middy stack and the handler. Workflow starts recorded, not run (${started} claims); no Idempotency-Key sent.`,
    );

    const targets: Target[] = [
      atMost('claim submission p50 latency / bare PutItem p50', ratios.submitP50, BOUND, 'x'),
      atMost('claim read p50 latency / bare GetItem p50', ratios.readP50, BOUND, 'x'),
    ];
    console.log(`\nTargets:\n${targetsTable(targets)}`);
    const notes: string[] = [];
    const explain = (what: string, r: number, bareName: string, calls: string, handler: number[], client: number, ddb: number) =>
      `${what} is ${r}x a bare ${bareName} at p50 (${fmtNumber(round(client, 1))} ms): it makes ${calls} DynamoDB calls (${ddb} ms of DynamoDB per request, summed over its calls); the handler takes ${fmtNumber(round(median(handler), 1))} ms at p50, the remaining ${fmtNumber(round(client - median(handler), 1))} ms are HTTP + the local server sharing the event loop with the client.`;
    if (ratios.submitP50 > BOUND) {
      notes.push(
        `${explain('claim submission', ratios.submitP50, 'PutItem', subCalls, subHandler, s.submit.p50, ddbMs.submission)} It reads the fund request, then writes one transaction of 4 items (claim, the fund request's guarded remaining, invoice lock, audit entry): the money guard and the rule that every state change writes its audit entry in the same transaction make it a transaction. ` +
          `That transaction alone, bare, takes ${fmtNumber(round(s.tx.p50, 1))} ms at p50 in DynamoDB Local, ${ratios.txOverPutP50}x a PutItem; the whole submission is ${ratios.submitOverTxP50}x it.`,
      );
    }
    if (ratios.readP50 > BOUND) {
      notes.push(`${explain('claim read', ratios.readP50, 'GetItem', readCalls, readHandler, s.read.p50, ddbMs.read)} The claim and its history live in two partitions and are read side by side.`);
    }
    for (const n of notes) console.log(`MISSED: ${n}`);
    return {
      part: 'overhead',
      targets,
      notes,
      raw: { concurrency: CONCURRENCY, count: n, rounds: ROUNDS, warmup: WARMUP, stats: s, ratios, dynamodbCallsPerRequest: { submission: subCalls, read: readCalls }, dynamodbMsPerRequest: ddbMs, handlerP50Ms: { submission: median(subHandler), read: median(readHandler) } },
      seconds: round((performance.now() - t0) / 1000, 1),
    };
  } finally {
    bare.destroy();
    await b.stop();
  }
}
