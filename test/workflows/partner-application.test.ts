import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { LocalSystem } from '../../local/runtime.ts';
import type { ExecutionRecord } from '../../local/workflows.ts';
import { applicationBody, approvalLinkFor, client, eventually, startTestSystem, tokenFor, type Client } from '../support/system.ts';

/**
 * The real workflows/partner-application.asl.json, run by the local engine over the local system.
 *
 * Timeouts: each approver of the escalation ladder (channel manager → marketing director → admin)
 * has a rung of APPROVAL_TIMEOUT_SECONDS, is reminded at half of it, and the emailed link stops
 * working 2 s (a quarter of the rung) before its end.
 */
const APPROVAL_TIMEOUT_SECONDS = 8;
const CM = 'channel.manager@example.com';
const DIRECTOR = 'marketing.director@example.com';
const ESCALATION = 'admin@example.com';

describe('partner-application workflow (real ASL, local engine)', () => {
  let system: LocalSystem;
  let api: Client;
  let admin: string;
  const transitions: Record<string, number> = {};

  beforeAll(async () => {
    system = await startTestSystem({ config: { approvalTimeoutSeconds: APPROVAL_TIMEOUT_SECONDS } });
    api = client(system);
    admin = await tokenFor(system, ['admin'], 'admin@example.com');
  });
  afterAll(async () => {
    console.log('state transitions per route:', JSON.stringify(transitions));
    await system?.stop();
  });

  let seq = 0;
  /** Submits an application with a domain, tax id and contact of its own. */
  async function submit(overrides: Parameters<typeof applicationBody>[0] = {}) {
    seq++;
    const email = overrides.email ?? `contact${seq}-${Date.now()}@wf.example`;
    const res = await api.post('/applications', applicationBody({ website: `https://wf-${seq}-${Date.now()}.example`, taxId: `WF-${Date.now()}-${seq}`, email, ...overrides }));
    expect(res.status).toBe(202);
    return { applicationId: res.body.applicationId as string, email };
  }

  const getApp = async (applicationId: string) => (await api.get(`/applications/${applicationId}`, admin)).body;
  const appWithStatus = (applicationId: string, status: string, timeoutMs = 15_000) =>
    eventually(async () => {
      const app = await getApp(applicationId);
      return app.status === status ? app : undefined;
    }, timeoutMs);

  /** Waits for the execution named after the application to stop, and for its event log to be complete. */
  async function finished(applicationId: string, timeoutMs = 30_000): Promise<ExecutionRecord> {
    const execution = await eventually(async () => system.engine.list().find((e) => e.name === applicationId));
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      system.engine.waitFor(execution.executionArn),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`execution of ${applicationId} still RUNNING after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
    await eventually(async () => done.events.some((e) => e.type.startsWith('Execution') && e.type !== 'ExecutionStarted'));
    return system.engine.describe(done.executionArn)!;
  }

  const statesEntered = (record: ExecutionRecord) => record.events.filter((e) => e.type === 'StateEntered').map((e) => e.state!.name);
  const decide = (link: { approvalId: string; token: string }, decision: 'approve' | 'reject', comment?: string) =>
    api.post(`/approvals/${link.approvalId}/decision`, { t: link.token, decision, ...(comment ? { comment } : {}) });
  const mailTo = (to: string, applicationId: string) => system.outbox.all().filter((m) => m.to.includes(to) && m.text.includes(applicationId));

  it('approve: SUCCEEDED, application APPROVED, counted state transitions', async () => {
    const { applicationId, email } = await submit();
    const link = await eventually(async () => approvalLinkFor(system, CM, applicationId));
    expect(await decide(link, 'approve', 'Looks good')).toMatchObject({ status: 200, body: { status: 'APPROVED' } });

    const record = await finished(applicationId);
    expect(record.status).toBe('SUCCEEDED');
    const app = await appWithStatus(applicationId, 'APPROVED');
    expect(app.partnerId).toMatch(/^ptr_/);
    expect(app.decision).toMatchObject({ by: CM, comment: 'Looks good' });
    expect(app.history.map((h: { toStatus: string }) => h.toStatus)).toEqual(['SUBMITTED', 'AWAITING_APPROVAL', 'APPROVED']);
    await eventually(async () => mailTo(email, applicationId).find((m) => m.subject.startsWith('Welcome')));

    expect(statesEntered(record)).toEqual(['Screen', 'IsAwaitingApproval', 'StartAskChannelManager', 'AskChannelManager', 'Decide']);
    transitions.approved = record.stateTransitions;
    console.log(`approved path: ${record.stateTransitions} state transitions`);
    expect(record.stateTransitions).toBe(5);
  });

  it('reject with a comment: REJECTED, decline email with the comment and the application id', async () => {
    const { applicationId, email } = await submit();
    const link = await eventually(async () => approvalLinkFor(system, CM, applicationId));
    const comment = 'Your territory is already covered by two resellers';
    expect(await decide(link, 'reject', comment)).toMatchObject({ status: 200, body: { status: 'REJECTED' } });

    const record = await finished(applicationId);
    expect(record.status).toBe('SUCCEEDED');
    const app = await appWithStatus(applicationId, 'REJECTED');
    expect(app.partnerId).toBeUndefined();
    expect(app.decision).toMatchObject({ by: CM, comment });
    const decline = await eventually(async () => mailTo(email, applicationId).find((m) => m.text.includes(comment)));
    expect(decline.to).toEqual([email]);
    expect(decline.text).toContain(applicationId);
    expect(decline.text).toContain(comment);
    expect(mailTo(email, applicationId).some((m) => m.subject.startsWith('Welcome'))).toBe(false);

    expect(statesEntered(record)).toEqual(['Screen', 'IsAwaitingApproval', 'StartAskChannelManager', 'AskChannelManager', 'Decide']);
    transitions.rejected = record.stateTransitions;
    expect(record.stateTransitions).toBe(5);
  });

  const WAIT = ['AskChannelManager', 'AdvanceAskChannelManager', 'AfterAskChannelManagerTimeout'];
  const subjects = (to: string, applicationId: string) => mailTo(to, applicationId).filter((m) => m.text.includes('/approvals/')).map((m) => m.subject.split(':')[0]);

  it('nobody decides: reminded at half time, escalated to the marketing director, then to an admin, who decides', async () => {
    const { applicationId, email } = await submit();
    const first = await eventually(async () => approvalLinkFor(system, CM, applicationId));

    // Half a rung: the same approver is reminded with the same link.
    await eventually(async () => subjects(CM, applicationId).length === 2, APPROVAL_TIMEOUT_SECONDS * 1000);
    expect(subjects(CM, applicationId)).toEqual(['Decision needed', '[Reminder] Decision needed']);
    expect(approvalLinkFor(system, CM, applicationId)!.approvalId).toBe(first.approvalId);

    // End of the rung: the marketing director gets a new approval; the channel manager's link is dead.
    const director = await eventually(async () => approvalLinkFor(system, DIRECTOR, applicationId), APPROVAL_TIMEOUT_SECONDS * 1000);
    expect(director.approvalId).not.toBe(first.approvalId);
    expect(subjects(DIRECTOR, applicationId)).toEqual(['[Escalated] Decision needed']);
    const late = await decide(first, 'reject');
    expect(late.status).toBe(410);
    expect(late.body.error.code).toBe('approval_escalated');
    expect((await getApp(applicationId)).status).toBe('AWAITING_APPROVAL');

    // The director does not decide either: reminded, then an admin gets it.
    const adminLink = await eventually(async () => approvalLinkFor(system, ESCALATION, applicationId), (APPROVAL_TIMEOUT_SECONDS + 4) * 1000);
    expect(subjects(DIRECTOR, applicationId)).toEqual(['[Escalated] Decision needed', '[Reminder] Decision needed']);
    expect((await decide(director, 'approve')).status).toBe(410);

    expect(await decide(adminLink, 'approve', 'Approved on escalation')).toMatchObject({ status: 200, body: { status: 'APPROVED' } });
    const record = await finished(applicationId);
    expect(record.status).toBe('SUCCEEDED');
    const app = await appWithStatus(applicationId, 'APPROVED');
    expect(app.decision).toMatchObject({ by: ESCALATION, comment: 'Approved on escalation' });
    await eventually(async () => mailTo(email, applicationId).find((m) => m.subject.startsWith('Welcome')));
    expect(subjects(ESCALATION, applicationId)).toEqual(['[Escalated] Decision needed']);

    const history = await api.get(`/approvals?status=ESCALATED`, admin);
    const escalatedIds = (history.body.approvals as { approvalId: string; escalatedTo?: string }[]).filter((a) => [first.approvalId, director.approvalId].includes(a.approvalId));
    expect(escalatedIds.map((a) => a.escalatedTo).sort()).toEqual([adminLink.approvalId, director.approvalId].sort());

    // Start, then per rung: wait (remind) + wait (escalate); the admin's approval ends the last wait.
    expect(statesEntered(record)).toEqual(['Screen', 'IsAwaitingApproval', 'StartAskChannelManager', ...WAIT, ...WAIT, ...WAIT, ...WAIT, 'AskChannelManager', 'Decide']);
    transitions.escalatedTwiceThenApproved = record.stateTransitions;
  });

  it('nobody on the ladder decides: EXPIRED only after the last rung, the applicant is told', async () => {
    const { applicationId, email } = await submit();
    await eventually(async () => approvalLinkFor(system, CM, applicationId));
    const record = await finished(applicationId, (3 * APPROVAL_TIMEOUT_SECONDS + 15) * 1000);
    expect(record.status).toBe('SUCCEEDED');

    const app = await appWithStatus(applicationId, 'EXPIRED');
    expect(app.history.at(-1)).toMatchObject({ fromStatus: 'AWAITING_APPROVAL', toStatus: 'EXPIRED' });
    expect(subjects(DIRECTOR, applicationId)).toEqual(['[Escalated] Decision needed', '[Reminder] Decision needed']);
    expect(subjects(ESCALATION, applicationId)).toEqual(['[Escalated] Decision needed', '[Reminder] Decision needed']);
    const expired = await eventually(async () => mailTo(email, applicationId).find((m) => /expired/i.test(m.text)));
    expect(expired.text).toContain(applicationId);

    expect(statesEntered(record)).toEqual(['Screen', 'IsAwaitingApproval', 'StartAskChannelManager', ...WAIT, ...WAIT, ...WAIT, ...WAIT, ...WAIT, ...WAIT, 'Expire']);
    transitions.expired = record.stateTransitions;

    // Every link is dead; nothing changes.
    for (const who of [CM, DIRECTOR, ESCALATION]) expect((await decide(approvalLinkFor(system, who, applicationId)!, 'approve')).status).toBe(410);
    expect((await getApp(applicationId)).status).toBe('EXPIRED');
  });

  it('duplicate (same website domain as an open application): REJECTED naming the open application', async () => {
    const open = await submit({ website: 'https://www.Twin-Domain.example/about' });
    const openLink = await eventually(async () => approvalLinkFor(system, CM, open.applicationId));
    expect((await getApp(open.applicationId)).status).toBe('AWAITING_APPROVAL');
    // Whatever happens below, the open application is decided so that its execution ends.
    onTestFinished(async () => {
      await decide(openLink, 'reject', 'Cleanup');
      await finished(open.applicationId);
    });

    const dup = await submit({ website: 'http://twin-domain.example' });
    const record = await finished(dup.applicationId);
    expect(record.status).toBe('SUCCEEDED');
    expect(statesEntered(record)).toEqual(['Screen', 'IsAwaitingApproval', 'Done']);
    transitions.duplicate = record.stateTransitions;
    expect(record.stateTransitions).toBe(3);
    expect(approvalLinkFor(system, CM, dup.applicationId)).toBeUndefined();
    const told = await eventually(async () => mailTo(dup.email, dup.applicationId)[0]);
    expect(told.text).toContain(open.applicationId);

    const app = await getApp(dup.applicationId);
    expect(app.status).toBe('REJECTED');
    expect(app.decision.comment).toContain(open.applicationId);
    expect(app.decision.comment).toMatch(/domain/);
    expect(app.history.at(-1)).toMatchObject({ toStatus: 'REJECTED', action: 'rejected_duplicate' });

    // The open application is untouched by the duplicate.
    expect((await getApp(open.applicationId)).status).toBe('AWAITING_APPROVAL');
  });

  it('no execution is left RUNNING and every application has a final status', async () => {
    for (const execution of system.engine.list()) {
      expect(execution.status, execution.name).not.toBe('RUNNING');
      expect(['APPROVED', 'REJECTED', 'EXPIRED'], execution.name).toContain((await getApp(execution.name)).status);
    }
    expect(system.engine.list().length).toBe(6);
  });
});
