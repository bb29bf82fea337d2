import { describe, expect, it } from 'vitest';
import { chainAfterEscalation, firstWait, nextRole, nextStep } from '../../functions/approvals/escalation.ts';

const T = 100;
const created = Date.parse('2026-01-01T00:00:00.000Z');
const at = (seconds: number) => created + seconds * 1000;
const approval = (over: Record<string, unknown> = {}) => ({
  approvalId: 'apr_1',
  status: 'PENDING' as const,
  approverRole: 'channelManager',
  createdAt: new Date(created).toISOString(),
  levelTimeoutSeconds: T,
  ...over,
});

describe('escalation rule (nextStep)', () => {
  it('the first wait is half a rung, rounded up', () => {
    expect(firstWait(100)).toEqual({ seconds: 50, step: 'first', approvalId: null, role: null });
    expect(firstWait(7).seconds).toBe(4);
    expect(firstWait(1).seconds).toBe(1);
  });

  it('ladder: channel manager → marketing director → admin; finance → admin; admin is the last rung', () => {
    expect(nextRole('channelManager')).toBe('marketingDirector');
    expect(nextRole('marketingDirector')).toBe('escalation');
    expect(nextRole('finance')).toBe('escalation');
    expect(nextRole('escalation')).toBeUndefined();
  });

  it('at half time: remind the same approver for the rest of the rung', () => {
    expect(nextStep(approval(), at(50))).toEqual({ seconds: 50, step: 'remind', approvalId: 'apr_1', role: null });
    // The timeout fires a little before createdAt + half (the approval is written after the wait began).
    expect(nextStep(approval(), at(49.9)).step).toBe('remind');
  });

  it('after the reminder, at the end of the rung: escalate to the next role with a new half rung', () => {
    const reminded = approval({ remindedAt: new Date(at(50)).toISOString() });
    expect(nextStep(reminded, at(100))).toEqual({ seconds: 50, step: 'escalate', approvalId: 'apr_1', role: 'marketingDirector' });
    expect(nextStep({ ...reminded, approverRole: 'marketingDirector' }, at(100)).role).toBe('escalation');
    expect(nextStep({ ...reminded, approverRole: 'finance' }, at(100)).role).toBe('escalation');
  });

  it('after the last rung: expire', () => {
    const admin = approval({ approverRole: 'escalation', remindedAt: new Date(at(50)).toISOString() });
    expect(nextStep(admin, at(100)).step).toBe('expire');
    expect(nextStep(undefined, at(100)).step).toBe('expire');
  });

  it('a young approval (chain hand-over) waits for its own half time; a reminded one for its own end', () => {
    expect(nextStep(approval(), at(10))).toEqual({ seconds: 40, step: 'rebind', approvalId: 'apr_1', role: null });
    expect(nextStep(approval({ remindedAt: new Date(at(50)).toISOString() }), at(60))).toMatchObject({ seconds: 40, step: 'rebind' });
  });

  it('a never reminded approval past its rung (the runtime was down) escalates rather than reminds', () => {
    expect(nextStep(approval(), at(150))).toMatchObject({ step: 'escalate', role: 'marketingDirector' });
  });

  it('an approval decided while no task waited is delivered, whatever the time', () => {
    for (const status of ['APPROVED', 'REJECTED', 'CHANGES_REQUESTED'] as const) {
      expect(nextStep(approval({ status }), at(500)).step).toBe('deliver');
    }
  });

  it('escalated past a role, the chain no longer waits for it', () => {
    expect(chainAfterEscalation(['marketingDirector'], 'marketingDirector')).toEqual([]);
    expect(chainAfterEscalation(['marketingDirector'], 'escalation')).toEqual([]);
    expect(chainAfterEscalation(['escalation'], 'marketingDirector')).toEqual(['escalation']);
    expect(chainAfterEscalation([], 'escalation')).toEqual([]);
  });
});
