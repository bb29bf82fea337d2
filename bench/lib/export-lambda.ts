/**
 * The export as one Lambda invocation in a process of its own: bundled by the scale part with
 * esbuild (same options as the deployed functions, the AWS SDK left to the "runtime"), then run as
 * `node export-lambda.mjs <runId> <blobDir>`. It invokes functions/incentives/api.ts's handler for
 * GET /payout-runs/{runId}/export.csv against the bench's DynamoDB Local (DDB_ENDPOINT), with a
 * local blob store in place of S3, and prints the time and the process's peak RSS as JSON. It gets
 * all the time it needs (the scale part compares the time with the function's timeout).
 */
import { readFileSync, statSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { handler } from '../../functions/incentives/api.ts';
import { blobs } from '../../functions/core/blobs.ts';
import { ddb } from '../../functions/core/ddb.ts';
import { LocalBlobStore } from '../../local/blobs.ts';

const vmHwmMb = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;

const [runId, blobDir] = process.argv.slice(2) as [string, string];
// Time spent waiting on DynamoDB, and how much it returned (the bundle's own client instance).
const db = { calls: 0, ms: 0, items: 0, bytes: 0 };
(ddb().middlewareStack as unknown as { add(mw: unknown, o: { step: string; name: string; priority: string }): void }).add(
  (next: (a: unknown) => Promise<{ output: { Items?: unknown[] } }>) => async (args: unknown) => {
    const t = performance.now();
    const out = await next(args);
    db.calls++;
    db.ms += performance.now() - t;
    db.items += out.output.Items?.length ?? 0;
    db.bytes += out.output.Items ? Buffer.byteLength(JSON.stringify(out.output.Items)) : 0;
    return out;
  },
  { step: 'initialize', name: 'benchDbTime', priority: 'high' },
);
const store = new LocalBlobStore(() => 'http://127.0.0.1:1', blobDir);
blobs.set(store);
const afterImportMb = process.memoryUsage().rss / 2 ** 20;
const peakAfterImportMb = vmHwmMb();
const now = new Date();
const event = {
  version: '2.0',
  routeKey: 'GET /payout-runs/{runId}/export.csv',
  rawPath: `/payout-runs/${runId}/export.csv`,
  rawQueryString: '',
  headers: {},
  pathParameters: { runId },
  requestContext: {
    accountId: '000000000000',
    apiId: 'bench',
    domainName: 'bench',
    domainPrefix: 'bench',
    http: { method: 'GET', path: `/payout-runs/${runId}/export.csv`, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bench' },
    requestId: randomUUID(),
    routeKey: 'GET /payout-runs/{runId}/export.csv',
    stage: '$default',
    time: now.toUTCString(),
    timeEpoch: now.getTime(),
    authorizer: { jwt: { claims: { sub: 'bench-finance', email: 'finance@example.com', 'cognito:groups': ['finance'] }, scopes: [] } },
  },
  isBase64Encoded: false,
};
const started = performance.now();
const result = (await (handler as unknown as (e: unknown, c: unknown) => Promise<{ statusCode: number; body?: string }>)(event, { awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 3_600_000 })) ?? { statusCode: 0 };
const ms = performance.now() - started;
const file = store.pathOf(`exports/${runId}/export.csv`);
const csv = file ? readFileSync(file, 'utf8') : '';
process.stdout.write(
  JSON.stringify({
    statusCode: result.statusCode,
    ms,
    afterImportMb,
    peakAfterImportMb,
    peakMb: vmHwmMb(),
    bytes: file ? statSync(file).size : 0,
    rows: csv ? csv.split('\r\n').filter(Boolean).length - 1 : 0,
    db,
    body: result.statusCode >= 400 ? result.body : undefined,
  }),
);
