import { provisionPartnerDirectly } from '../../local/demo.ts';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tier } from '../../functions/core/config.ts';
import { getBudget } from '../../functions/mdf/store.ts';
import type { LocalSystem } from '../../local/runtime.ts';
import type { ExecutionRecord } from '../../local/workflows.ts';
import { decide, fundRequestBody, quarterNow } from '../support/mdf.ts';
import { approvalLinkFor, client, eventually, startTestSystem, tokenFor, type Client } from '../support/system.ts';

/**
 * The real workflows/mdf-fund-request.asl.json on the local system, one route a test, run side by
 * side (each test has a partner and budget of its own). Each approver of the escalation ladder
 * (channel manager → marketing director → admin) has a rung of APPROVAL_TIMEOUT_SECONDS and is
 * reminded at half of it; the link stops working 2 s before the rung ends.
 */
const APPROVAL_TIMEOUT_SECONDS = 8;
/** How long a fund request waits in CHANGES_REQUESTED for the partner's PUT. */
const RESUBMISSION_TIMEOUT_SECONDS = 8;
const CM = 'channel.manager@example.com';
const GOLD_BUDGET = 5_000_000;

describe.concurrent('mdf-fund-request workflow (real ASL, local engine)', () => {
  let system: LocalSystem;
  let api: Client;
  const transitions: Record<string, { transitions: number; states: string }> = {};

  beforeAll(async () => {
    system = await startTestSystem({ config: { approvalTimeoutSeconds: APPROVAL_TIMEOUT_SECONDS, resubmissionTimeoutSeconds: RESUBMISSION_TIMEOUT_SECONDS } });
    api = client(system);
  });
  afterAll(async () => {
    console.log(`mdf-fund-request state transitions per route:\n${table(transitions)}`);
    await system?.stop();
  });

  /** An ACTIVE partner with this quarter's budget, provisioned through the same store code as an approved application. */
  async function newPartner(tier: Tier = 'gold') {
    const { partnerId, contactEmail } = await provisionPartnerDirectly({ slug: `frq-${ulid().toLowerCase()}`, tier, actor: 'test' });
    return { partnerId, contactEmail, token: await tokenFor(system, ['partner'], contactEmail, partnerId) };
  }

  type Partner = Awaited<ReturnType<typeof newPartner>>;

  async function request(p: Partner, amount: number): Promise<string> {
    const res = await api.post(`/partners/${p.partnerId}/fund-requests`, fundRequestBody(amount), { token: p.token });
    expect(res.status, res.text).toBe(202);
    expect(res.body.status).toBe('SUBMITTED');
    return res.body.fundRequestId as string;
  }

  const getFrq = async (p: Partner, id: string) => (await api.get(`/partners/${p.partnerId}/fund-requests/${id}`, p.token)).body;
  const frqWithStatus = (p: Partner, id: string, status: string, timeoutMs = 15_000) =>
    eventually(async () => {
      const f = await getFrq(p, id);
      return f.status === status ? f : undefined;
    }, timeoutMs);
  const budget = async (p: Partner) => (await getBudget(p.partnerId, quarterNow()))!;
  const mailTo = (p: Partner, id: string) => system.outbox.all().filter((m) => m.to.includes(p.contactEmail) && (m.text.includes(id) || m.subject.includes(id)));

  function expectLedger(b: Awaited<ReturnType<typeof budget>>, reserved: number) {
    expect(b).toMatchObject({ allocated: GOLD_BUDGET, reserved, approved: 0, paid: 0, available: GOLD_BUDGET - reserved });
    expect(b.available).toBe(b.allocated - b.reserved - b.approved);
  }

  async function finished(id: string, timeoutMs = 30_000): Promise<ExecutionRecord> {
    const execution = await eventually(async () => system.engine.list().find((e) => e.name === id));
    const done = await Promise.race([
      system.engine.waitFor(execution.executionArn),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`execution ${id} still RUNNING after ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
    await eventually(async () => done.events.some((e) => e.type.startsWith('Execution') && e.type !== 'ExecutionStarted'));
    return system.engine.describe(done.executionArn)!;
  }

  const statesEntered = (record: ExecutionRecord) => record.events.filter((e) => e.type === 'StateEntered').map((e) => e.state!.name);
  function record(route: string, execution: ExecutionRecord, expectedStates: string[]) {
    expect(execution.status).toBe('SUCCEEDED');
    expect(statesEntered(execution)).toEqual(expectedStates);
    expect(execution.stateTransitions).toBe(expectedStates.length);
    transitions[route] = { transitions: execution.stateTransitions, states: statesEntered(execution).join(' → ') };
  }

  it('approve: APPROVED for the amount asked, reserved in the budget, partner told', async () => {
    const p = await newPartner();
    const id = await request(p, 1_000_000);
    await decide(system, api, CM, id, { decision: 'approve', comment: 'Go ahead' });
    const frq = await frqWithStatus(p, id, 'APPROVED');
    expect(frq).toMatchObject({ approvedAmount: { amount: 1_000_000, currency: 'USD' }, remaining: { amount: 1_000_000 }, claimed: { amount: 0 } });
    expect(frq.history.map((h: { toStatus: string }) => h.toStatus)).toEqual(['SUBMITTED', 'AWAITING_APPROVAL', 'APPROVED']);
    expect(frq.history.at(-1)).toMatchObject({ actor: CM, comment: 'Go ahead' });
    record('approve', await finished(id), ['Screen', 'StartAskChannelManager', 'AskChannelManager', 'AfterDecision', 'Decide']);
    expectLedger(await budget(p), 1_000_000);
    expect(mailTo(p, id).some((m) => m.subject.includes('approved'))).toBe(true);
  });

  it('partial approve: APPROVED for less, only that is reserved', async () => {
    const p = await newPartner();
    const id = await request(p, 2_000_000);
    await decide(system, api, CM, id, { decision: 'approve', approvedAmount: { amount: 1_250_000, currency: 'USD' } });
    const frq = await frqWithStatus(p, id, 'APPROVED');
    expect(frq).toMatchObject({ requested: { amount: 2_000_000 }, approvedAmount: { amount: 1_250_000 }, remaining: { amount: 1_250_000 } });
    record('partial approve', await finished(id), ['Screen', 'StartAskChannelManager', 'AskChannelManager', 'AfterDecision', 'Decide']);
    expectLedger(await budget(p), 1_250_000);
    const told = mailTo(p, id).find((m) => m.subject.includes('approved'));
    expect(told?.text).toContain('you asked for');
  });

  it('reject: REJECTED with the comment, nothing reserved', async () => {
    const p = await newPartner();
    const id = await request(p, 1_000_000);
    await decide(system, api, CM, id, { decision: 'reject', comment: 'Not in this quarter' });
    const frq = await frqWithStatus(p, id, 'REJECTED');
    expect(frq.approvedAmount).toBeUndefined();
    expect(frq.history.at(-1)).toMatchObject({ fromStatus: 'AWAITING_APPROVAL', toStatus: 'REJECTED', actor: CM, comment: 'Not in this quarter' });
    record('reject', await finished(id), ['Screen', 'StartAskChannelManager', 'AskChannelManager', 'AfterDecision', 'Decide']);
    expectLedger(await budget(p), 0);
    expect(mailTo(p, id).find((m) => m.subject.includes('rejected'))?.text).toContain('Not in this quarter');
  });

  it('request changes → PUT resubmission → the same execution asks the channel manager again → APPROVED', async () => {
    const p = await newPartner();
    const id = await request(p, 1_000_000);
    const first = await decide(system, api, CM, id, { decision: 'request_changes', comment: 'Split it into two events' });
    const waiting = await frqWithStatus(p, id, 'CHANGES_REQUESTED');
    expect(waiting.history.at(-1)).toMatchObject({ toStatus: 'CHANGES_REQUESTED', action: 'changes_requested', actor: CM, comment: 'Split it into two events' });
    expectLedger(await budget(p), 0);
    const told = await eventually(async () => mailTo(p, id).find((m) => m.subject.includes('needs changes')));
    expect(told.text).toContain('Split it into two events');
    expect(told.text).toContain(`PUT /partners/${p.partnerId}/fund-requests/${id}`);

    const changed = { ...fundRequestBody(800_000), activity: { ...fundRequestBody(0).activity, name: 'Two webinar events' }, comment: 'Split in two' };
    const put = await api.put(`/partners/${p.partnerId}/fund-requests/${id}`, changed, { token: p.token });
    expect(put.status, put.text).toBe(202);
    expect(put.body).toEqual({ fundRequestId: id, status: 'SUBMITTED' });
    const second = await decide(system, api, CM, id, { decision: 'approve' }, first.approvalId);
    expect(second.approvalId).not.toBe(first.approvalId);
    const frq = await frqWithStatus(p, id, 'APPROVED');
    expect(frq).toMatchObject({ requested: { amount: 800_000 }, approvedAmount: { amount: 800_000 }, activity: { name: 'Two webinar events' } });
    expect(frq.history.map((h: { toStatus: string }) => h.toStatus)).toEqual(['SUBMITTED', 'AWAITING_APPROVAL', 'CHANGES_REQUESTED', 'SUBMITTED', 'AWAITING_APPROVAL', 'APPROVED']);
    expect(frq.history[3]).toMatchObject({ action: 'resubmitted', actor: p.contactEmail, comment: 'Split in two' });
    // One execution from submission to approval: the PUT resumed it, it did not start another.
    expect(system.engine.list().filter((e) => e.name === id)).toHaveLength(1);
    record('request changes → resubmit → approve', await finished(id), ['Screen', 'StartAskChannelManager', 'AskChannelManager', 'AfterDecision', 'AskForChanges', 'Screen', 'StartAskChannelManager', 'AskChannelManager', 'AfterDecision', 'Decide']);
    expectLedger(await budget(p), 800_000);
  });

  it('request changes, no resubmission in time: REJECTED (not_resubmitted), partner told, a late PUT is refused', async () => {
    const p = await newPartner();
    const id = await request(p, 1_000_000);
    await decide(system, api, CM, id, { decision: 'request_changes', comment: 'Add the venue' });
    await frqWithStatus(p, id, 'CHANGES_REQUESTED');
    const execution = await finished(id, (RESUBMISSION_TIMEOUT_SECONDS + 20) * 1000);
    record('no resubmission (timeout)', execution, ['Screen', 'StartAskChannelManager', 'AskChannelManager', 'AfterDecision', 'AskForChanges', 'RejectNotResubmitted']);
    const frq = await frqWithStatus(p, id, 'REJECTED');
    expect(frq.history.at(-1)).toMatchObject({ fromStatus: 'CHANGES_REQUESTED', toStatus: 'REJECTED', action: 'not_resubmitted', actor: 'workflow' });
    expect(await eventually(async () => mailTo(p, id).find((m) => m.subject.includes('not resubmitted in time')))).toBeTruthy();
    const late = await api.put(`/partners/${p.partnerId}/fund-requests/${id}`, fundRequestBody(500_000), { token: p.token });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('fund_request_not_awaiting_changes');
    expect((await getFrq(p, id)).status).toBe('REJECTED');
    expectLedger(await budget(p), 0);
  });

  it('nobody on the ladder decides: REJECTED (timed out) after the admin\'s rung, the dead links change nothing', async () => {
    const p = await newPartner();
    const id = await request(p, 1_000_000);
    const link = await eventually(async () => approvalLinkFor(system, CM, id));
    const execution = await finished(id, (3 * APPROVAL_TIMEOUT_SECONDS + 15) * 1000);
    const turn = ['AskChannelManager', 'AdvanceAskChannelManager', 'AfterAskChannelManagerTimeout'];
    // Three rungs (channel manager, marketing director, admin), each a reminder and an escalation or the expiry.
    record('timeout (3 rungs)', execution, ['Screen', 'StartAskChannelManager', ...turn, ...turn, ...turn, ...turn, ...turn, ...turn, 'TimedOut']);
    const frq = await frqWithStatus(p, id, 'REJECTED');
    expect(frq.history.at(-1)).toMatchObject({ fromStatus: 'AWAITING_APPROVAL', toStatus: 'REJECTED', action: 'timed_out' });
    expect((await api.post(`/approvals/${link.approvalId}/decision`, { t: link.token, decision: 'approve' })).status).toBe(410);
    expect((await getFrq(p, id)).status).toBe('REJECTED');
    expectLedger(await budget(p), 0);
    expect(mailTo(p, id).some((m) => m.subject.includes('not decided in time'))).toBe(true);
  });

  it('approved when the budget no longer has room: REJECTED with insufficient_budget, partner told', async () => {
    const p = await newPartner();
    // Each fits the 50,000.00 budget alone; together they do not.
    const first = await request(p, 3_000_000);
    const second = await request(p, 3_000_000);
    await decide(system, api, CM, first, { decision: 'approve' });
    await frqWithStatus(p, first, 'APPROVED');
    await decide(system, api, CM, second, { decision: 'approve' });
    const refused = await frqWithStatus(p, second, 'REJECTED');
    expect(refused.approvedAmount).toBeUndefined();
    expect(refused.history.at(-1)).toMatchObject({ fromStatus: 'AWAITING_APPROVAL', toStatus: 'REJECTED' });
    expect(refused.history.at(-1).comment).toContain('insufficient_budget');
    record('approved, no room left', await finished(second), ['Screen', 'StartAskChannelManager', 'AskChannelManager', 'AfterDecision', 'Decide']);
    await finished(first);
    expectLedger(await budget(p), 3_000_000);
    const told = await eventually(async () => mailTo(p, second).find((m) => m.subject.includes('could not be funded')));
    expect(told.text).toContain('insufficient_budget');
    expect((await getFrq(p, first)).status).toBe('APPROVED');
  });
});

function table(rows: Record<string, { transitions: number; states: string }>): string {
  const width = Math.max(5, ...Object.keys(rows).map((k) => k.length));
  return [`${'route'.padEnd(width)} | transitions | states`, `${'-'.repeat(width)}-|-------------|-------`]
    .concat(Object.entries(rows).map(([route, r]) => `${route.padEnd(width)} | ${String(r.transitions).padStart(11)} | ${r.states}`))
    .join('\n');
}
