import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ulid } from 'ulid';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { LocalOptions, LocalSystem } from '../../local/runtime.ts';
import { apiClient, bearer } from '../support/api-client.ts';
import { applicationBody, approvalLinkFor, eventually, startTestSystem, tokenFor } from '../support/system.ts';

const CM = 'channel.manager@example.com';
const DIRECTOR = 'marketing.director@example.com';

/**
 * `npm start` keeps its data under a directory; a pending approval survives a restart: the emailed
 * link still works, and the workflow goes on from the wait it was in. Both runs share one table
 * (the tests share one DynamoDB Local) and one data directory (secrets, outbox, saved executions).
 */
describe('restart of the local system with a pending approval', () => {
  const dirs: string[] = [];
  let running: LocalSystem | undefined;

  const freshPlace = () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'prm-restart-'));
    dirs.push(dataDir);
    return { dataDir, tableName: `e2e-restart-${ulid().toLowerCase()}` };
  };
  const start = async (options: LocalOptions) => {
    running = await startTestSystem(options);
    return running;
  };
  const stop = async () => {
    await running?.stop();
    running = undefined;
  };
  afterEach(stop);
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const statusOf = async (system: LocalSystem, applicationId: string) => {
    const admin = await tokenFor(system, ['admin'], 'admin@example.com');
    return (await apiClient(system).GET('/applications/{applicationId}', { params: { path: { applicationId } }, headers: bearer(admin) })).data!;
  };
  const submit = async (system: LocalSystem, body: ReturnType<typeof applicationBody>) => (await apiClient(system).POST('/applications', { body })).data!.applicationId;
  type Decision = { t: string; decision: 'approve' | 'reject'; comment?: string };
  const decideOn = (system: LocalSystem) => (approvalId: string, body: Decision) =>
    apiClient(system).POST('/approvals/{approvalId}/decision', { params: { path: { approvalId } }, body });
  const pageOf = (system: LocalSystem) => (approvalId: string, t: string) =>
    apiClient(system).GET('/approvals/{approvalId}', { params: { path: { approvalId }, query: { t } }, parseAs: 'text' });

  it('the emailed link still decides after a restart, and the resumed execution succeeds', async () => {
    const place = freshPlace();

    const first = await start(place);
    const a = await submit(first, applicationBody({ website: 'https://restart-a.example', taxId: 'RS-A-1', email: 'a@restart-a.example' }));
    const b = await submit(first, applicationBody({ website: 'https://restart-b.example', taxId: 'RS-B-1', email: 'b@restart-b.example' }));
    const linkA = await eventually(async () => approvalLinkFor(first, CM, a));
    const linkB = await eventually(async () => approvalLinkFor(first, CM, b));
    expect(linkA.url.startsWith(first.url)).toBe(true);
    const executionArn = first.engine.list().find((e) => e.name === a)!.executionArn;
    expect(first.engine.describe(executionArn)).toMatchObject({ status: 'RUNNING', pendingWait: { stateName: 'AskChannelManager' } });
    const messagesBefore = first.outbox.all().length;
    await stop();

    const second = await start(place);
    expect(second.url).not.toBe(first.url);
    const decide = decideOn(second);
    const page2 = pageOf(second);
    // The outbox was persisted: the old messages, links and all, are there.
    expect(second.outbox.all().length).toBe(messagesBefore);
    expect(approvalLinkFor(second, CM, a)).toEqual(linkA);
    // The execution was resumed at its wait.
    expect(second.engine.describe(executionArn)).toMatchObject({ status: 'RUNNING' });
    expect((await statusOf(second, a)).status).toBe('AWAITING_APPROVAL');

    // The page still opens (the link secret persisted too), and a GET changes nothing.
    const page = await page2(linkA.approvalId, linkA.token);
    expect(page.response.status).toBe(200);
    expect(page.data).toContain(a);

    // Forged token, and another approval's genuine token: 403, nothing changes.
    const [expiry, signature] = linkA.token.split('.') as [string, string];
    const forged = `${expiry}.${signature.slice(0, -1)}${signature.endsWith('A') ? 'B' : 'A'}`;
    expect((await decide(linkA.approvalId, { t: forged, decision: 'approve' })).response.status).toBe(403);
    expect((await decide(linkA.approvalId, { t: linkB.token, decision: 'approve' })).response.status).toBe(403);
    expect((await statusOf(second, a)).status).toBe('AWAITING_APPROVAL');
    expect(second.engine.describe(executionArn)!.status).toBe('RUNNING');

    const decided = await decide(linkA.approvalId, { t: linkA.token, decision: 'approve', comment: 'After the restart' });
    expect(decided.response.status).toBe(200);
    expect(decided.data).toMatchObject({ approvalId: linkA.approvalId, status: 'APPROVED' });

    const resumed = await second.engine.waitFor(executionArn);
    expect(resumed.status).toBe('SUCCEEDED');
    const app = await eventually(async () => {
      const body = await statusOf(second, a);
      return body.status === 'APPROVED' ? body : undefined;
    });
    expect(app.decision).toMatchObject({ by: CM, comment: 'After the restart' });
    expect(app.history.map((h) => h.toStatus)).toEqual(['SUBMITTED', 'AWAITING_APPROVAL', 'APPROVED']);
    await eventually(async () => second.outbox.all().find((m) => m.to.includes('a@restart-a.example') && m.subject.startsWith('Welcome')));
    await eventually(async () => second.engine.describe(executionArn)!.events.some((e) => e.type === 'ExecutionSucceeded'));
    console.log(`resumed approved execution: ${second.engine.describe(executionArn)!.stateTransitions} state transitions counted locally`);

    // A second decision on the same link: 409.
    expect((await decide(linkA.approvalId, { t: linkA.token, decision: 'reject' })).response.status).toBe(409);

    // The other application, also waiting across the restart, is decided too: nothing is left running.
    expect((await decide(linkB.approvalId, { t: linkB.token, decision: 'reject', comment: 'No' })).response.status).toBe(200);
    const executionB = second.engine.list().find((e) => e.name === b)!;
    expect((await second.engine.waitFor(executionB.executionArn)).status).toBe('SUCCEEDED');
    expect((await statusOf(second, b)).status).toBe('REJECTED');
  });

  it('across a restart the resumed wait keeps its clock: reminder at half time, the expired link gives 410 and changes nothing, escalation at the end of the rung', async () => {
    const place = freshPlace();
    // A rung of 8 s: the wait first times out at half (4 s, the reminder); the link works until 2 s
    // before the rung ends (whole seconds); at 8 s the approval goes to the marketing director.
    const config = { approvalTimeoutSeconds: 8 };

    const first = await start({ ...place, config });
    const id = await submit(first, applicationBody({ website: 'https://restart-c.example', taxId: 'RS-C-1', email: 'c@restart-c.example' }));
    const link = await eventually(async () => approvalLinkFor(first, CM, id));
    const executionArn = first.engine.list().find((e) => e.name === id)!.executionArn;
    const halfTime = first.engine.describe(executionArn)!.pendingWait!.deadline!;
    const linkExpiry = Number(link.token.split('.')[0]) * 1000;
    expect(linkExpiry).toBeGreaterThan(halfTime);
    await stop();

    const second = await start({ ...place, config });
    const decide = decideOn(second);
    const mailsTo = (to: string) => second.outbox.all().filter((m) => m.to.includes(to) && m.text.includes(id) && m.text.includes('/approvals/'));
    // The resumed wait fires at its original half time: the same approver is reminded with the same link.
    await eventually(async () => mailsTo(CM).some((m) => m.subject.startsWith('[Reminder]')), 10_000);
    expect(Date.now()).toBeGreaterThanOrEqual(halfTime);
    expect(approvalLinkFor(second, CM, id)!.approvalId).toBe(link.approvalId);

    await new Promise((r) => setTimeout(r, Math.max(0, linkExpiry - Date.now() + 100)));
    const late = await decide(link.approvalId, { t: link.token, decision: 'approve' });
    expect(late.response.status).toBe(410);
    expect((late.error as { error: { code: string } }).error.code).toBe('approval_expired');
    expect((await pageOf(second)(link.approvalId, link.token)).response.status).toBe(410);
    expect((await statusOf(second, id)).status).toBe('AWAITING_APPROVAL');
    expect((await statusOf(second, id)).partnerId).toBeUndefined();

    const escalation = await eventually(async () => approvalLinkFor(second, DIRECTOR, id), 10_000);
    expect(escalation.approvalId).not.toBe(link.approvalId);
    expect(mailsTo(DIRECTOR).filter((m) => m.subject.startsWith('[Escalated]'))).toHaveLength(1);
    expect((await statusOf(second, id)).status).toBe('AWAITING_APPROVAL');
    // The channel manager's link is refused once the escalation is out.
    expect((await decide(link.approvalId, { t: link.token, decision: 'reject' })).response.status).toBe(410);

    const decided = await decide(escalation.approvalId, { t: escalation.token, decision: 'reject', comment: 'Closing' });
    expect(decided.response.status).toBe(200);
    expect((await second.engine.waitFor(executionArn)).status).toBe('SUCCEEDED');
    expect((await statusOf(second, id)).status).toBe('REJECTED');
  });
});
