import { Agent, request } from 'node:http';
import { createHash, randomUUID } from 'node:crypto';
import { ulid } from 'ulid';
import { ddb } from '../../functions/core/ddb.ts';
import { workflows } from '../../functions/core/workflow-client.ts';
import { startLocal, type LocalOptions, type LocalSystem } from '../../local/runtime.ts';
import type { ExecutionRecord } from '../../local/workflows.ts';
import type { Role } from '../../functions/core/auth.ts';
import { CapacityMeter } from './capacity.ts';
import { sleep } from './report.ts';

/**
 * A local system for a benchmark: `startLocal` in memory on a free port, with the DynamoDB
 * capacity meter on the system's document client, an HTTP client that counts what it sends, and
 * the steps a partner, an approver and finance take through the public API.
 */

export const APPROVERS = { channelManager: 'channel.manager@example.com', marketingDirector: 'marketing.director@example.com', finance: 'finance@example.com' } as const;

export interface Reply {
  status: number;
  body: any;
  text: string;
}

export interface Bench {
  system: LocalSystem;
  /** CPU time the local engine spent building each started execution (see `deferWorkflowStarts`). */
  engineStartMs: number[];
  /** "name: message" of every error the handlers logged (their structured ERROR log lines). */
  serverErrors: string[];
  meter: CapacityMeter;
  /** Requests sent: to API routes (API Gateway requests deployed) and to presigned upload URLs (S3 PUTs). */
  sent: { api: number; uploads: number };
  call(method: string, path: string, options?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<Reply>;
  token(groups: Role[], email: string, partnerId?: string): Promise<string>;
  stop(): Promise<void>;
}

export interface BenchOptions extends Omit<LocalOptions, 'port' | 'dataDir'> {
  /**
   * Deployed, StartExecution is one API call and the execution runs elsewhere. The local engine
   * instead builds and validates the state machine synchronously inside `start()` (0.2-1 s of CPU
   * per execution, see the cost part's output), which would be billed to the handler that starts a
   * workflow. With this option the handler gets the execution ARN at once and the engine starts the
   * execution once the HTTP reply has reached the caller, outside the handler's measured duration.
   */
  deferWorkflowStarts?: boolean;
  /** Count DynamoDB capacity (default true); off where only time and memory are measured. */
  meter?: boolean;
}

export async function startBench(options: BenchOptions = {}): Promise<Bench> {
  const { deferWorkflowStarts, meter: metered = true, ...localOptions } = options;
  const system = await startLocal({ port: 0, ...localOptions });
  const engineStartMs: number[] = [];
  const pendingStarts: (() => void)[] = [];
  const flushStarts = () => {
    for (const startNow of pendingStarts.splice(0)) startNow();
  };
  if (deferWorkflowStarts) {
    const engine = system.engine;
    workflows.set({
      start(machine, input, name = ulid()) {
        pendingStarts.push(() => {
          const t = performance.now();
          engine.start(machine, input, name).then(
            () => engineStartMs.push(performance.now() - t),
            (error: unknown) => console.error(`local engine could not start ${machine} ${name}:`, error),
          );
        });
        // Started once the HTTP reply has reached the caller (see `call`), or after a second at most.
        setTimeout(flushStarts, 1000);
        return Promise.resolve(`arn:aws:states:us-east-1:000000000000:execution:prm-${machine}:${name}`);
      },
      sendTaskSuccess: (token, output) => engine.sendTaskSuccess(token, output),
      sendTaskFailure: (token, error, cause) => engine.sendTaskFailure(token, error, cause),
      sendTaskHeartbeat: (token) => engine.sendTaskHeartbeat(token),
    });
  }
  let meter: CapacityMeter | undefined;
  try {
    meter = new CapacityMeter(system.ddbEndpoint);
    if (metered) meter.attach(ddb());
  } catch (error) {
    await system.stop();
    throw error;
  }
  const sent = { api: 0, uploads: 0 };
  // The handlers log unhandled errors as JSON lines (Powertools logger); keep their gist so that a
  // 500 can be explained in the output. The lines still reach the terminal.
  const serverErrors: string[] = [];
  const collect = (chunk: string | Uint8Array) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    if (!text.includes('"level":"ERROR"')) return;
    for (const line of text.split('\n').filter((l) => l.includes('"level":"ERROR"'))) {
      try {
        const entry = JSON.parse(line) as { message?: string; error?: { name?: string; message?: string } };
        serverErrors.push(entry.error ? `${entry.error.name}: ${entry.error.message}` : String(entry.message));
      } catch {
        serverErrors.push(line.slice(0, 300));
      }
    }
  };
  const streams = [process.stdout, process.stderr] as const;
  const writes = streams.map((stream) => stream.write);
  for (const stream of streams) {
    const original = stream.write.bind(stream);
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      collect(chunk);
      return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
  }
  const bench: Bench = {
    system,
    engineStartMs,
    serverErrors,
    meter,
    sent,
    async call(method, path, { token, body, headers = {} } = {}) {
      if (!path.startsWith('/_local/') && !path.startsWith('http')) sent.api++;
      const url = path.startsWith('http') ? path : `${system.url}${path}`;
      const res = await httpRequest(url, {
        method,
        headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      const text = res.text;
      flushStarts();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      return { status: res.status, body: parsed, text };
    },
    token: (groups, email, partnerId) => system.token({ sub: `user-${email}`, email, groups, ...(partnerId ? { partnerId } : {}) }),
    async stop() {
      streams.forEach((stream, i) => (stream.write = writes[i]!));
      await meter!.settle().catch(() => undefined);
      meter!.destroy();
      keepAlive.destroy();
      await system.stop();
    },
  };
  return bench;
}

/**
 * The benchmarks' HTTP client: node:http over kept-alive connections. fetch (undici) spends a few
 * times more CPU per request, and that CPU is taken from the local server in this same process,
 * which would be counted as our overhead.
 */
const keepAlive = new Agent({ keepAlive: true, maxSockets: 64 });
function httpRequest(url: string, options: { method: string; headers: Record<string, string>; body?: string }): Promise<{ status: number; text: string }> {
  return new Promise<{ status: number; text: string; location?: string }>((resolve, reject) => {
    const req = request(url, { method: options.method, headers: options.headers, agent: keepAlive }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), ...(res.headers.location ? { location: res.headers.location } : {}) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  }).then((res) =>
    // Like fetch: a GET follows a redirect (exports answer 302 to a short-lived file URL).
    options.method === 'GET' && res.status >= 301 && res.status <= 308 && res.location
      ? httpRequest(new URL(res.location, url).href, { method: 'GET', headers: {} })
      : res,
  );
}

export function expectStatus(reply: Reply, wanted: number, what: string): Reply {
  if (reply.status !== wanted) throw new Error(`${what}: expected HTTP ${wanted}, got ${reply.status} ${reply.text.slice(0, 300)}`);
  return reply;
}

/** Polls `check` (in-process state only: outbox, engine) until it returns a value. */
export async function until<T>(check: () => T | undefined | false, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** The newest approval link emailed to `to` about `recordId` (other than `notApprovalId`). */
export function approvalLink(b: Bench, to: string, recordId: string, notApprovalId?: string) {
  const messages = b.system.outbox.all();
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (!m.to.includes(to) || !m.text.includes(recordId)) continue;
    const match = /https?:\/\/\S+\/approvals\/(apr_[0-9A-Z]+)\?t=(\S+)/.exec(m.text);
    if (match && match[1] !== notApprovalId) return { approvalId: match[1]!, token: decodeURIComponent(match[2]!), url: match[0] };
  }
  return undefined;
}

/**
 * What an approver does: waits for the email, opens the link (GET shows the page), decides (POST).
 * `openPage: false` skips the GET (the concurrency part, where only the decision matters).
 */
export async function decide(b: Bench, approver: string, recordId: string, decision: Record<string, unknown>, options: { notApprovalId?: string; openPage?: boolean } = {}) {
  const link = await until(() => approvalLink(b, approver, recordId, options.notApprovalId), `approval email to ${approver} about ${recordId}`);
  if (options.openPage !== false) expectStatus(await b.call('GET', `/approvals/${link.approvalId}?t=${encodeURIComponent(link.token)}`), 200, 'open approval page');
  const res = await b.call('POST', `/approvals/${link.approvalId}/decision`, { body: { t: link.token, ...decision } });
  return { link, res };
}

/** Resolves when the execution named `name` has ended and its event log is complete. */
export async function finished(b: Bench, name: string, timeoutMs = 120_000): Promise<ExecutionRecord> {
  const execution = await until(() => b.system.engine.list().find((e) => e.name === name), `execution ${name}`, timeoutMs);
  const done = await Promise.race([
    b.system.engine.waitFor(execution.executionArn),
    sleep(timeoutMs).then(() => {
      throw new Error(`execution ${name} still running after ${timeoutMs} ms`);
    }),
  ]);
  await until(() => done.events.some((e) => e.type.startsWith('Execution') && e.type !== 'ExecutionStarted'), `end of ${name}'s event log`);
  return b.system.engine.describe(done.executionArn)!;
}

export const quarterNow = () => {
  const d = new Date();
  return `${d.getUTCFullYear()}-Q${Math.floor(d.getUTCMonth() / 3) + 1}`;
};
export const monthNow = () => new Date().toISOString().slice(0, 7);
export const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
const idem = () => ({ 'idempotency-key': randomUUID() });

export interface Partner {
  partnerId: string;
  email: string;
  token: string;
  applicationId: string;
}

/** A gold-tier application, approved by the channel manager through the emailed link. */
export async function applyAndApprove(b: Bench): Promise<Partner> {
  const slug = ulid().toLowerCase();
  const email = `owner@p${slug}.example`;
  const submitted = expectStatus(
    await b.call('POST', '/applications', {
      headers: idem(),
      body: {
        company: { legalName: `Partner ${slug}`, website: `https://p${slug}.example`, country: 'US', taxId: `TX-${slug}` },
        contact: { name: 'Pat Partner', email },
        partnerType: 'reseller',
        businessPlan: { targetSegments: ['smb'], projectedAnnualRevenue: { amount: 150_000_000, currency: 'USD' }, marketingPlan: 'Webinars and trade shows' },
      },
    }),
    202,
    'POST /applications',
  );
  const applicationId = submitted.body.applicationId as string;
  expectStatus((await decide(b, APPROVERS.channelManager, applicationId, { decision: 'approve' })).res, 200, 'approve application');
  const execution = await finished(b, applicationId);
  if (execution.status !== 'SUCCEEDED') throw new Error(`application ${applicationId} ended ${execution.status}`);
  const welcome = await until(() => b.system.outbox.all().find((m) => m.to.includes(email) && /ptr_[0-9A-Z]{26}/.test(m.text)), `welcome email for ${applicationId}`);
  const partnerId = /ptr_[0-9A-Z]{26}/.exec(welcome.text)![0];
  return { partnerId, email, applicationId, token: await b.token(['partner'], email, partnerId) };
}

export const fundRequestBody = (amount: number) => ({
  activity: { type: 'webinar', name: 'Webinar series', description: 'Three webinars for SMB buyers', startDate: daysAgo(20), endDate: daysAgo(10) },
  requested: { amount, currency: 'USD' },
  period: quarterNow(),
});

export async function submitFundRequest(b: Bench, p: Partner, amount: number): Promise<string> {
  const res = expectStatus(await b.call('POST', `/partners/${p.partnerId}/fund-requests`, { token: p.token, headers: idem(), body: fundRequestBody(amount) }), 202, 'POST fund request');
  return res.body.fundRequestId as string;
}

/** A fund request approved in full by the channel manager; resolves when its workflow ended. */
export async function fundedRequest(b: Bench, p: Partner, amount: number): Promise<string> {
  const fundRequestId = await submitFundRequest(b, p, amount);
  expectStatus((await decide(b, APPROVERS.channelManager, fundRequestId, { decision: 'approve' })).res, 200, 'approve fund request');
  const execution = await finished(b, fundRequestId);
  if (execution.status !== 'SUCCEEDED') throw new Error(`fund request ${fundRequestId} ended ${execution.status}`);
  return fundRequestId;
}

export function proofFile(content: string, fileName = 'invoice.pdf') {
  return { fileName, contentType: 'application/pdf', sha256: createHash('sha256').update(content).digest('hex'), sizeBytes: Buffer.byteLength(content) };
}

export const claimBody = (fundRequestId: string, amount: number, invoiceNumber = `INV-${ulid()}`, content = 'proof of performance') => ({
  fundRequestId,
  invoiceNumber,
  amount: { amount, currency: 'USD' },
  activityCompletedOn: daysAgo(10),
  proofOfPerformance: [proofFile(content)],
});

/** PUTs each file to its presigned URL (S3 deployed; the local blob store here). */
export async function uploadAll(b: Bench, uploads: { url: string; headers: Record<string, string> }[], content = 'proof of performance') {
  for (const u of uploads) {
    b.sent.uploads++;
    // The headers the claim answered are signed into the URL (content type, SHA-256, create-only).
    const res = await fetch(u.url, { method: 'PUT', headers: u.headers, body: content });
    if (res.status !== 200) throw new Error(`upload failed: ${res.status} ${await res.text()}`);
  }
}

/** Submits a claim (with a fresh invoice number) and uploads its proof; returns the reply. */
export async function submitClaim(b: Bench, p: Partner, fundRequestId: string, amount: number, options: { upload?: boolean; idempotencyKey?: boolean } = {}): Promise<Reply> {
  const res = await b.call('POST', `/partners/${p.partnerId}/claims`, { token: p.token, body: claimBody(fundRequestId, amount), ...(options.idempotencyKey === false ? {} : { headers: idem() }) });
  if (res.status === 202 && options.upload !== false) await uploadAll(b, res.body.uploads);
  return res;
}
