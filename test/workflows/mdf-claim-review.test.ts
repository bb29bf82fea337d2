import { provisionPartnerDirectly } from '../../local/demo.ts';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config, type Tier } from '../../functions/core/config.ts';
import { newId } from '../../functions/core/ids.ts';
import { money } from '../../functions/core/money.ts';
import { mailer } from '../../functions/notifications/mailer.ts';
import { approveFundRequest, createFundRequest, getBudget, getFundRequest, transitionFundRequest, type FundRequestRecord } from '../../functions/mdf/store.ts';
import type { LocalSystem } from '../../local/runtime.ts';
import type { ExecutionRecord } from '../../local/workflows.ts';
import { claimBody, decide, fundRequestBody, proofFile, quarterNow, uploadAll } from '../support/mdf.ts';
import { approvalLinkFor, client, eventually, startTestSystem, tokenFor, type Client } from '../support/system.ts';

/**
 * The real workflows/mdf-claim-review.asl.json on the local system: every route, one test each, run
 * side by side (each test has a partner, budget and fund request of its own).
 *
 * Timeouts: each approver of the escalation ladder (channel manager → marketing director → admin)
 * has a rung of APPROVAL_TIMEOUT_SECONDS, is reminded at half of it, and their link stops working 2 s
 * before its end; a partner has RESUBMISSION_TIMEOUT_SECONDS to resubmit; proof files may arrive for
 * 3 s after (re)submission, checked every second. The workflow starts when the claim is created,
 * before the test can upload, so most executions poll for uploads once or twice (WaitForUploads →
 * Review → Route: 3 transitions a poll), and a busy machine may let a reminder fire (AskApprovers →
 * AdvanceAskApprovers → AfterAskApproversTimeout → AskApprovers: 3 a turn); the table counts both apart.
 */
const APPROVAL_TIMEOUT_SECONDS = 8;
const RESUBMISSION_TIMEOUT_SECONDS = 8;
const CM = 'channel.manager@example.com';
const MD = 'marketing.director@example.com';
const ADMIN = 'admin@example.com';
const usd = (amount: number) => ({ amount, currency: 'USD' });

interface Row {
  transitions: number;
  polls: number;
  /** Turns of the escalation loop (a timeout: remind, escalate or expire). */
  turns: number;
  states: string;
}

describe.concurrent('mdf-claim-review workflow (real ASL, local engine)', () => {
  let system: LocalSystem;
  let api: Client;
  const rows: Record<string, Row> = {};

  beforeAll(async () => {
    system = await startTestSystem({
      config: {
        approvalTimeoutSeconds: APPROVAL_TIMEOUT_SECONDS,
        resubmissionTimeoutSeconds: RESUBMISSION_TIMEOUT_SECONDS,
        claims: { ...config().claims, uploadPollSeconds: 1, uploadWindowSeconds: 3 },
      },
    });
    api = client(system);
  });
  afterAll(async () => {
    console.log(`mdf-claim-review state transitions per route:\n${table(rows)}`);
    await system?.stop();
  });

  /** An ACTIVE partner with this quarter's budget and an APPROVED fund request, through the store code. */
  async function funded(tier: Tier, fundRequestAmount: number) {
    const { partnerId, contactEmail } = await provisionPartnerDirectly({ slug: `clm-${ulid().toLowerCase()}`, tier, actor: 'test' });
    const now = new Date().toISOString();
    const allocated = config().tierQuarterlyBudget[tier];

    const body = fundRequestBody(fundRequestAmount);
    const frq: FundRequestRecord = {
      fundRequestId: newId('fundRequest'),
      partnerId,
      period: body.period,
      activity: body.activity,
      requested: money(fundRequestAmount, 'USD'),
      status: 'SUBMITTED',
      claimed: 0,
      inClaim: 0,
      remaining: 0,
      createdAt: now,
      updatedAt: now,
    };
    await createFundRequest(frq, contactEmail);
    expect(await transitionFundRequest(frq, 'SUBMITTED', 'AWAITING_APPROVAL', { actor: 'workflow', action: 'sent_for_approval' })).toBe(true);
    expect(await approveFundRequest({ ...frq, status: 'AWAITING_APPROVAL' }, fundRequestAmount, { actor: CM })).toBe('ok');
    const token = await tokenFor(system, ['partner'], contactEmail, partnerId);
    return { partnerId, contactEmail, token, allocated, fundRequestId: frq.fundRequestId, fundRequestAmount };
  }
  type Funded = Awaited<ReturnType<typeof funded>>;

  async function submit(f: Funded, amount: number, options: { upload?: boolean; fileName?: string } = {}) {
    const invoice = `INV-${ulid()}`;
    const body = { ...claimBody(f.fundRequestId, amount, invoice), ...(options.fileName ? { proofOfPerformance: [proofFile('proof', options.fileName)] } : {}) };
    const res = await api.post(`/partners/${f.partnerId}/claims`, body, { token: f.token });
    expect(res.status, res.text).toBe(202);
    if (options.upload !== false) await uploadAll(res.body.uploads);
    return res.body.claimId as string;
  }

  const getClaim = async (f: Funded, claimId: string) => (await api.get(`/partners/${f.partnerId}/claims/${claimId}`, f.token)).body;
  const claimWithStatus = (f: Funded, claimId: string, status: string, timeoutMs = 20_000) =>
    eventually(async () => {
      const c = await getClaim(f, claimId);
      return c.status === status ? c : undefined;
    }, timeoutMs);
  const toStatuses = (claim: { history: { toStatus: string }[] }) => claim.history.map((h) => h.toStatus);
  const approvalMailsFor = (to: string, claimId: string) => system.outbox.all().filter((m) => m.to.includes(to) && m.text.includes(claimId) && m.text.includes('/approvals/'));
  const partnerMail = (f: Funded, claimId: string, subjectPart: string) =>
    eventually(async () => system.outbox.all().find((m) => m.to.includes(f.contactEmail) && m.subject.includes(claimId) && m.subject.includes(subjectPart)));

  /** Budget and fund request after the claim: `approved` of it settled; the rest of the fund request still reserved. */
  async function expectFigures(f: Funded, approved: number) {
    const b = (await getBudget(f.partnerId, quarterNow()))!;
    expect(b).toMatchObject({ allocated: f.allocated, reserved: f.fundRequestAmount - approved, approved, paid: 0, unpaid: approved, available: f.allocated - f.fundRequestAmount });
    expect(b.available).toBe(b.allocated - b.reserved - b.approved);
    const frq = (await getFundRequest(f.partnerId, f.fundRequestId))!;
    expect(frq).toMatchObject({ approvedAmount: f.fundRequestAmount, claimed: approved, inClaim: 0, remaining: f.fundRequestAmount - approved });
  }

  async function finished(claimId: string, timeoutMs = 40_000): Promise<ExecutionRecord> {
    const execution = await eventually(async () => system.engine.list().find((e) => e.name === claimId));
    const done = await Promise.race([
      system.engine.waitFor(execution.executionArn),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`execution ${claimId} still RUNNING after ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
    await eventually(async () => done.events.some((e) => e.type.startsWith('Execution') && e.type !== 'ExecutionStarted'));
    return system.engine.describe(done.executionArn)!;
  }

  /** Checks the execution ended, its states (upload polls and escalation-loop turns collapsed) and records its transitions. */
  function record(route: string, execution: ExecutionRecord, expectedStates: string[], expectedTurns?: number) {
    expect(execution.status).toBe('SUCCEEDED');
    const entered = execution.events.filter((e) => e.type === 'StateEntered').map((e) => e.state!.name);
    const collapsed: string[] = [];
    let polls = 0;
    let turns = 0;
    let removed = 0;
    for (let i = 0; i < entered.length; i++) {
      if (entered[i] === 'WaitForUploads') {
        expect(entered.slice(i, i + 3)).toEqual(['WaitForUploads', 'Review', 'Route']);
        polls++;
        removed += 3;
        i += 2;
      } else if (entered[i] === 'AdvanceAskApprovers') {
        expect(entered[i + 1]).toBe('AfterAskApproversTimeout');
        turns++;
        // The turn re-enters the waiting state, except the last one of an expiry.
        const reenters = entered[i + 2] === 'AskApprovers';
        removed += reenters ? 3 : 2;
        i += reenters ? 2 : 1;
      } else collapsed.push(entered[i]!);
    }
    expect(collapsed).toEqual(expectedStates);
    if (expectedTurns !== undefined) expect(turns).toBe(expectedTurns);
    expect(execution.stateTransitions).toBe(entered.length);
    expect(execution.stateTransitions).toBe(expectedStates.length + removed);
    rows[route] = { transitions: execution.stateTransitions, polls, turns, states: expectedStates.join(' → ') };
  }

  const SINGLE = ['Review', 'Route', 'StartAskApprovers', 'AskApprovers', 'AfterDecision'];

  it('auto-approve: gold partner, 500.00 → APPROVED without a person', async () => {
    const f = await funded('gold', 1_000_000);
    const claimId = await submit(f, 50_000);
    const claim = await claimWithStatus(f, claimId, 'APPROVED');
    expect(claim.approvedAmount).toEqual(usd(50_000));
    expect(toStatuses(claim)).toEqual(['SUBMITTED', 'IN_REVIEW', 'APPROVED']);
    expect(claim.history.at(-1).actor).toBe('auto-approval');
    const execution = await finished(claimId);
    record('auto (gold, 500.00)', execution, ['Review', 'Route', 'AutoApprove']);
    expect(approvalMailsFor(CM, claimId)).toHaveLength(0);
    expect(approvalMailsFor(MD, claimId)).toHaveLength(0);
    await expectFigures(f, 50_000);
    await partnerMail(f, claimId, 'approved');
  });

  it('single approver: gold partner, 500.01 → channel manager approves', async () => {
    const f = await funded('gold', 1_000_000);
    const claimId = await submit(f, 50_001);
    await decide(system, api, CM, claimId, { decision: 'approve' });
    const claim = await claimWithStatus(f, claimId, 'APPROVED');
    expect(claim.approvedAmount).toEqual(usd(50_001));
    expect(claim.history.at(-1).actor).toBe(CM);
    record('single (gold, 500.01)', await finished(claimId), [...SINGLE, 'Settle']);
    expect(approvalMailsFor(CM, claimId)).toHaveLength(1);
    expect(approvalMailsFor(MD, claimId)).toHaveLength(0);
    await expectFigures(f, 50_001);
  });

  it('single approver: silver partner, 1.00 → never auto-approved', async () => {
    const f = await funded('silver', 100_000);
    const claimId = await submit(f, 100);
    await decide(system, api, CM, claimId, { decision: 'approve' });
    const claim = await claimWithStatus(f, claimId, 'APPROVED');
    expect(claim.approvedAmount).toEqual(usd(100));
    record('single (silver, 1.00)', await finished(claimId), [...SINGLE, 'Settle']);
    expect(approvalMailsFor(MD, claimId)).toHaveLength(0);
    await expectFigures(f, 100);
  });

  it('two-level: 10,000.01 → channel manager, then marketing director', async () => {
    const f = await funded('gold', 2_000_000);
    const claimId = await submit(f, 1_000_001);
    await eventually(async () => approvalLinkFor(system, CM, claimId));
    expect(approvalLinkFor(system, MD, claimId)).toBeUndefined();
    const transitionsBefore = system.engine.list().find((e) => e.name === claimId)!.stateTransitions;
    const first = await decide(system, api, CM, claimId, { decision: 'approve' });
    // Handed on inside the same waiting task: no state transition, the execution still waits.
    expect(first.reply).toMatchObject({ status: 'APPROVED', next: { approverRole: 'marketingDirector' } });
    expect((await getClaim(f, claimId)).status).toBe('IN_REVIEW');
    const waiting = system.engine.list().find((e) => e.name === claimId)!;
    expect(waiting).toMatchObject({ status: 'RUNNING', stateTransitions: transitionsBefore, pendingWait: { stateName: 'AskApprovers' } });
    const mdLink = await eventually(async () => approvalLinkFor(system, MD, claimId));
    expect(mdLink.approvalId).toBe(first.reply.next!.approvalId);
    const mdPage = await api.get(`/approvals/${mdLink.approvalId}?t=${encodeURIComponent(mdLink.token)}`);
    expect(mdPage.text).toContain(`Approved by ${CM}`);
    await decide(system, api, MD, claimId, { decision: 'approve', comment: 'Fine' });
    const claim = await claimWithStatus(f, claimId, 'APPROVED');
    expect(claim.approvedAmount).toEqual(usd(1_000_001));
    expect(claim.history.at(-1)).toMatchObject({ actor: MD, comment: 'Fine' });
    record('two-level (gold, 10,000.01)', await finished(claimId), [...SINGLE, 'Settle']);
    expect(approvalMailsFor(CM, claimId)).toHaveLength(1);
    expect(approvalMailsFor(MD, claimId)).toHaveLength(1);
    await expectFigures(f, 1_000_001);
  });

  it('two-level, marketing director rejects → REJECTED, the fund request gets the amount back', async () => {
    const f = await funded('gold', 2_000_000);
    const claimId = await submit(f, 1_500_000);
    await decide(system, api, CM, claimId, { decision: 'approve' });
    await decide(system, api, MD, claimId, { decision: 'reject', comment: 'Over the event budget' });
    const claim = await claimWithStatus(f, claimId, 'REJECTED');
    expect(claim.history.at(-1)).toMatchObject({ actor: MD, comment: 'Over the event budget' });
    record('two-level, director rejects', await finished(claimId), [...SINGLE, 'Reject']);
    await expectFigures(f, 0);
  });

  it('partial approval (single): approved for less; the rest returns to the fund request', async () => {
    const f = await funded('gold', 1_000_000);
    const claimId = await submit(f, 200_000);
    await decide(system, api, CM, claimId, { decision: 'approve', approvedAmount: usd(150_000), comment: 'One session cancelled' });
    const claim = await claimWithStatus(f, claimId, 'APPROVED');
    expect(claim.amount).toEqual(usd(200_000));
    expect(claim.approvedAmount).toEqual(usd(150_000));
    record('partial (single)', await finished(claimId), [...SINGLE, 'Settle']);
    await expectFigures(f, 150_000);
    expect((await partnerMail(f, claimId, 'approved')).text).toContain('of the 2,000.00 USD claimed');
  });

  it('partial approval (two-level): the director may not exceed, and by default keeps, what the channel manager approved', async () => {
    const f = await funded('gold', 3_000_000);
    const claimId = await submit(f, 2_000_000);
    await decide(system, api, CM, claimId, { decision: 'approve', approvedAmount: usd(1_500_000) });
    const mdLink = await eventually(async () => approvalLinkFor(system, MD, claimId));
    const above = await api.post(`/approvals/${mdLink.approvalId}/decision`, { t: mdLink.token, decision: 'approve', approvedAmount: usd(1_600_000) });
    expect(above.status).toBe(400);
    expect(above.body.error.code).toBe('amount_above_requested');
    await decide(system, api, MD, claimId, { decision: 'approve' });
    const claim = await claimWithStatus(f, claimId, 'APPROVED');
    expect(claim.approvedAmount).toEqual(usd(1_500_000));
    record('partial (two-level)', await finished(claimId), [...SINGLE, 'Settle']);
    await expectFigures(f, 1_500_000);
  });

  it('reject: REJECTED with the comment, nothing settled', async () => {
    const f = await funded('gold', 1_000_000);
    const claimId = await submit(f, 200_000);
    await decide(system, api, CM, claimId, { decision: 'reject', comment: 'No proof of attendance' });
    const claim = await claimWithStatus(f, claimId, 'REJECTED');
    expect(claim.approvedAmount).toBeUndefined();
    expect(claim.history.at(-1)).toMatchObject({ fromStatus: 'IN_REVIEW', toStatus: 'REJECTED', actor: CM, comment: 'No proof of attendance' });
    record('reject (single)', await finished(claimId), [...SINGLE, 'Reject']);
    await expectFigures(f, 0);
    expect((await partnerMail(f, claimId, 'rejected')).text).toContain('No proof of attendance');
  });

  it('request changes → PUT resubmission → approve', async () => {
    const f = await funded('gold', 1_000_000);
    const claimId = await submit(f, 200_000);
    const first = await decide(system, api, CM, claimId, { decision: 'request_changes', comment: 'Attach the attendee list' });
    await claimWithStatus(f, claimId, 'CHANGES_REQUESTED');
    expect((await partnerMail(f, claimId, 'needs changes')).text).toContain('Attach the attendee list');

    const resubmitted = await api.put(
      `/partners/${f.partnerId}/claims/${claimId}`,
      { amount: usd(180_000), proofOfPerformance: [proofFile('attendees', 'attendees.pdf')], comment: 'Attendee list attached' },
      { token: f.token },
    );
    expect(resubmitted.status, resubmitted.text).toBe(202);
    await uploadAll(resubmitted.body.uploads, 'attendees');
    const second = await decide(system, api, CM, claimId, { decision: 'approve' }, first.approvalId);
    expect(second.approvalId).not.toBe(first.approvalId);
    const claim = await claimWithStatus(f, claimId, 'APPROVED');
    expect(claim.approvedAmount).toEqual(usd(180_000));
    expect(toStatuses(claim)).toEqual(['SUBMITTED', 'IN_REVIEW', 'CHANGES_REQUESTED', 'IN_REVIEW', 'APPROVED']);
    record('request changes → resubmit → approve', await finished(claimId), [...SINGLE, 'AskForChanges', ...SINGLE, 'Settle']);
    await expectFigures(f, 180_000);
  });

  it('nobody on the ladder decides → REJECTED only after the last rung (channel manager, director, admin, each reminded); dead links change nothing', async () => {
    const f = await funded('gold', 1_000_000);
    const claimId = await submit(f, 200_000);
    const link = await eventually(async () => approvalLinkFor(system, CM, claimId));
    const execution = await finished(claimId, (3 * APPROVAL_TIMEOUT_SECONDS + 20) * 1000);
    // Per rung: a reminder at half time, then the escalation (or, after the admin's rung, the expiry).
    record('nobody decides (3 rungs)', execution, ['Review', 'Route', 'StartAskApprovers', 'AskApprovers', 'RejectNotDecided'], 6);
    const subjects = (to: string) => approvalMailsFor(to, claimId).map((m) => m.subject.split(':')[0]);
    expect(subjects(CM)).toEqual(['Decision needed', '[Reminder] Decision needed']);
    expect(subjects(MD)).toEqual(['[Escalated] Decision needed', '[Reminder] Decision needed']);
    expect(subjects(ADMIN)).toEqual(['[Escalated] Decision needed', '[Reminder] Decision needed']);
    const claim = await claimWithStatus(f, claimId, 'REJECTED');
    expect(claim.history.at(-1).comment).toMatch(/no decision/i);
    await partnerMail(f, claimId, 'rejected');
    for (const who of [CM, MD, ADMIN]) {
      const dead = approvalLinkFor(system, who, claimId)!;
      expect((await api.post(`/approvals/${dead.approvalId}/decision`, { t: dead.token, decision: 'approve' })).status).toBe(410);
    }
    expect(link.approvalId).not.toBe(approvalLinkFor(system, MD, claimId)!.approvalId);
    expect((await getClaim(f, claimId)).status).toBe('REJECTED');
    await expectFigures(f, 0);
  });

  it('two-level: the director gets a full rung after the hand-over; escalated past the director, the admin alone completes the chain', async () => {
    const f = await funded('gold', 2_000_000);
    const claimId = await submit(f, 1_200_000);
    await eventually(async () => approvalLinkFor(system, CM, claimId));
    // The channel manager decides late in their rung; the director's clock starts at the hand-over.
    await eventually(async () => approvalMailsFor(CM, claimId).length === 2, APPROVAL_TIMEOUT_SECONDS * 1000);
    await decide(system, api, CM, claimId, { decision: 'approve' });
    const handedOverAt = Date.now();
    const mdLink = await eventually(async () => approvalLinkFor(system, MD, claimId));
    const adminLink = await eventually(async () => approvalLinkFor(system, ADMIN, claimId), (APPROVAL_TIMEOUT_SECONDS + 10) * 1000);
    expect(Date.now() - handedOverAt).toBeGreaterThanOrEqual((APPROVAL_TIMEOUT_SECONDS - 1) * 1000);
    expect(approvalMailsFor(MD, claimId).map((m) => m.subject.split(':')[0])).toEqual(['Decision needed', '[Reminder] Decision needed']);
    expect((await api.post(`/approvals/${mdLink.approvalId}/decision`, { t: mdLink.token, decision: 'approve' })).status).toBe(410);
    await decide(system, api, ADMIN, claimId, { decision: 'approve', comment: 'Approved on escalation' });
    const claim = await claimWithStatus(f, claimId, 'APPROVED');
    expect(claim.approvedAmount).toEqual(usd(1_200_000));
    const execution = await finished(claimId);
    record('two-level, director escalated', execution, [...SINGLE, 'Settle']);
    await expectFigures(f, 1_200_000);
  });

  it('the email after a hand-over fails every retry: the decision stands, the approval is marked undelivered, listed, and admins are alerted; the reminder reaches the director', async () => {
    const f = await funded('gold', 2_000_000);
    const claimId = await submit(f, 1_100_000);
    // The director's mail about this claim fails until the test lets it through (other tests' mail is untouched).
    let failing = true;
    let attempts = 0;
    mailer.set({
      send: async (m) => {
        if (failing && m.to.includes(MD) && m.text.includes(claimId)) {
          attempts++;
          throw Object.assign(new Error('Throttling: Maximum sending rate exceeded'), { name: 'ThrottlingException' });
        }
        return system.outbox.send(m);
      },
    });
    try {
      const first = await decide(system, api, CM, claimId, { decision: 'approve' });
      expect(first.reply).toMatchObject({ status: 'APPROVED', next: { approverRole: 'marketingDirector' } });
      const handedTo = first.reply.next!.approvalId;
      expect(attempts).toBe(3);
      expect(approvalMailsFor(MD, claimId)).toHaveLength(0);

      const admin = await tokenFor(system, ['admin'], ADMIN);
      const listed = await api.get('/approvals?status=PENDING&undelivered=true', admin);
      expect(listed.status).toBe(200);
      const mark = (listed.body.approvals as { approvalId: string; undelivered?: string }[]).find((a) => a.approvalId === handedTo);
      expect(mark?.undelivered).toMatch(/failed 3 times/);
      const delivered = await api.get('/approvals?status=PENDING&undelivered=false', admin);
      expect((delivered.body.approvals as { approvalId: string }[]).some((a) => a.approvalId === handedTo)).toBe(false);
      const alert = system.outbox.all().find((m) => m.to.includes(ADMIN) && m.subject.startsWith('[Action needed]') && m.text.includes(claimId));
      expect(alert?.text).toContain(handedTo);
      expect((await getClaim(f, claimId)).status).toBe('IN_REVIEW');

      // Mail works again: the half-time reminder gives the director the link, and the chain completes.
      failing = false;
      const reminded = await eventually(async () => approvalLinkFor(system, MD, claimId), APPROVAL_TIMEOUT_SECONDS * 1000);
      expect(reminded.approvalId).toBe(handedTo);
      await decide(system, api, MD, claimId, { decision: 'approve' });
      expect((await claimWithStatus(f, claimId, 'APPROVED')).approvedAmount).toEqual(usd(1_100_000));
    } finally {
      mailer.set(system.outbox);
    }
  });

  it('no resubmission before the deadline → REJECTED; a late PUT is refused', async () => {
    const f = await funded('gold', 1_000_000);
    const claimId = await submit(f, 200_000);
    await decide(system, api, CM, claimId, { decision: 'request_changes', comment: 'Wrong invoice attached' });
    await claimWithStatus(f, claimId, 'CHANGES_REQUESTED');
    const execution = await finished(claimId, (RESUBMISSION_TIMEOUT_SECONDS + 20) * 1000);
    record('no resubmission (timeout)', execution, [...SINGLE, 'AskForChanges', 'RejectNotResubmitted']);
    const claim = await claimWithStatus(f, claimId, 'REJECTED');
    expect(claim.history.at(-1)).toMatchObject({ fromStatus: 'CHANGES_REQUESTED', toStatus: 'REJECTED' });
    expect(claim.history.at(-1).comment).toMatch(/not resubmitted/);
    const late = await api.put(`/partners/${f.partnerId}/claims/${claimId}`, { comment: 'Here it is' }, { token: f.token });
    expect(late.status).toBe(409);
    await expectFigures(f, 0);
  });

  it('proof files never uploaded → CHANGES_REQUESTED naming the file, then REJECTED when not resubmitted', async () => {
    const f = await funded('gold', 1_000_000);
    const claimId = await submit(f, 200_000, { upload: false, fileName: 'webinar-attendees.pdf' });
    const changes = await claimWithStatus(f, claimId, 'CHANGES_REQUESTED');
    expect(changes.history.at(-1)).toMatchObject({ fromStatus: 'IN_REVIEW', toStatus: 'CHANGES_REQUESTED' });
    expect(changes.history.at(-1).comment).toContain('webinar-attendees.pdf');
    expect((await partnerMail(f, claimId, 'needs changes')).text).toContain('webinar-attendees.pdf');
    expect(approvalMailsFor(CM, claimId)).toHaveLength(0);

    const execution = await finished(claimId, (RESUBMISSION_TIMEOUT_SECONDS + 20) * 1000);
    record('proof never uploaded', execution, ['Review', 'Route', 'AskForMissingFiles', 'RejectNotResubmitted']);
    expect(rows['proof never uploaded']!.polls).toBeGreaterThanOrEqual(2);
    expect((await getClaim(f, claimId)).status).toBe('REJECTED');
    await expectFigures(f, 0);
  });
});

function table(rows: Record<string, Row>): string {
  const width = Math.max(5, ...Object.keys(rows).map((k) => k.length));
  return [
    `${'route'.padEnd(width)} | transitions | upload polls | loop turns | states (polls and turns collapsed)`,
    `${'-'.repeat(width)}-|-------------|--------------|------------|-----------------------------------`,
    ...Object.entries(rows).map(
      ([route, r]) => `${route.padEnd(width)} | ${String(r.transitions).padStart(11)} | ${String(r.polls).padStart(12)} | ${String(r.turns).padStart(10)} | ${r.states}`,
    ),
  ].join('\n');
}
