/**
 * The exports of an approved run as one Lambda invocation in a process of its own: bundled by the
 * scale part with the deployed functions' options, then run as `node index.mjs <runId> <blobDir>`.
 * It invokes functions/incentives/tasks.ts's handler as the workflow's approving task does once the
 * run is APPROVED (decideRun writes export.csv and lines.csv), against the bench's DynamoDB Local
 * (DDB_ENDPOINT), with a local blob store in place of S3, and prints the time and the process's
 * peak RSS as JSON. It gets all the time it needs (the scale part compares it with the timeout).
 */
import { readFileSync, statSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { handler } from '../../functions/incentives/tasks.ts';
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
const started = performance.now();
let status: unknown;
let error: string | undefined;
try {
  ({ status } = (await (handler as unknown as (e: unknown, c: unknown) => Promise<{ status: unknown }>)(
    { task: 'decideRun', runId, decision: { decision: 'approve', decidedBy: 'finance@example.com', comment: null } },
    { awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 3_600_000 },
  )));
} catch (e) {
  error = (e as Error).message;
}
const ms = performance.now() - started;
const peakMb = vmHwmMb();
const file = store.pathOf(`exports/${runId}/export.csv`);
const linesFile = store.pathOf(`exports/${runId}/lines.csv`);
const csv = file ? readFileSync(file, 'utf8') : '';
process.stdout.write(
  JSON.stringify({
    status,
    ...(error ? { error } : {}),
    ms,
    afterImportMb,
    peakAfterImportMb,
    peakMb,
    bytes: file ? statSync(file).size : 0,
    linesBytes: linesFile ? statSync(linesFile).size : 0,
    rows: csv ? csv.split('\r\n').filter(Boolean).length - 1 : 0,
    db,
  }),
);
