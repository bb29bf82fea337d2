import { beforeAll, describe, expect, it } from 'vitest';
import type { Approval } from '../../functions/approvals/model.ts';
import { consumeApproval, createApproval, getApproval, listApprovals } from '../../functions/approvals/store.ts';
import { readHistory } from '../../functions/core/audit.ts';
import { newId } from '../../functions/core/ids.ts';
import { useFreshTable } from '../support/table.ts';

beforeAll(async () => {
  await useFreshTable();
});

function approval(overrides: Partial<Approval> = {}): Approval {
  const now = Date.now();
  return {
    approvalId: newId('approval'),
    taskToken: `tok_${newId('approval')}`,
    approverEmail: 'channel.manager@example.com',
    approverRole: 'channelManager',
    subjectType: 'application',
    subjectId: newId('application'),
    summary: { title: 'Partner application from Acme', lines: [{ label: 'Company', value: 'Acme' }] },
    allowedDecisions: ['approve', 'reject'],
    status: 'PENDING',
    createdAt: new Date(now).toISOString(),
    deadline: new Date(now + 60_000).toISOString(),
    ...overrides,
  };
}

const decision = (by = 'channel.manager@example.com') => ({ status: 'APPROVED' as const, decidedBy: by, comment: 'Fine', now: new Date() });

describe('approvals store (DynamoDB Local)', () => {
  it('consumeApproval succeeds once, records the decision and its audit entry', async () => {
    const a = approval();
    await createApproval(a);
    expect(await getApproval(a.approvalId)).toMatchObject({ approvalId: a.approvalId, status: 'PENDING', taskToken: a.taskToken });

    expect(await consumeApproval(a, decision())).toBe(true);
    expect(await consumeApproval(a, { ...decision(), status: 'REJECTED' })).toBe(false);

    const stored = await getApproval(a.approvalId);
    expect(stored).toMatchObject({ status: 'APPROVED', decidedBy: 'channel.manager@example.com', comment: 'Fine' });
    expect((await readHistory(`APR#${a.approvalId}`)).map((h) => [h.fromStatus, h.toStatus])).toEqual([
      [null, 'PENDING'],
      ['PENDING', 'APPROVED'],
    ]);
  });

  it('10 concurrent consumes of the same approval: exactly one wins', async () => {
    const a = approval();
    await createApproval(a);
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => consumeApproval(a, { ...decision(), status: i % 2 ? 'REJECTED' : 'APPROVED', comment: `click ${i}` })),
    );
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error)?.name ?? r.reason)] : []));
    expect(errors, 'no consume may throw (a lost race is `false`, not an error)').toEqual([]);
    const values = results.map((r) => (r.status === 'fulfilled' ? r.value : undefined));
    expect(values.filter((v) => v === true)).toHaveLength(1);
    expect(values.filter((v) => v === false)).toHaveLength(9);

    const winner = values.indexOf(true);
    const stored = (await getApproval(a.approvalId))!;
    expect(stored.comment).toBe(`click ${winner}`);
    expect(stored.status).toBe(winner % 2 ? 'REJECTED' : 'APPROVED');
    expect((await readHistory(`APR#${a.approvalId}`)).filter((h) => h.fromStatus === 'PENDING')).toHaveLength(1);
  });

  it('a consume after the deadline returns false and changes nothing', async () => {
    const past = approval({ deadline: new Date(Date.now() - 1000).toISOString() });
    await createApproval(past);
    expect(await consumeApproval(past, decision())).toBe(false);
    expect((await getApproval(past.approvalId))!.status).toBe('PENDING');

    // The deadline is compared with the decision's time: exactly at the deadline is already too late.
    const soon = approval({ deadline: new Date(Date.now() + 60_000).toISOString() });
    await createApproval(soon);
    expect(await consumeApproval(soon, { ...decision(), now: new Date(soon.deadline) })).toBe(false);
    expect(await consumeApproval(soon, { ...decision(), now: new Date(Date.parse(soon.deadline) - 1) })).toBe(true);
  });

  it("listApprovals('PENDING', email) returns only that approver's pending approvals", async () => {
    const mine = [approval({ approverEmail: 'fin@list.example' }), approval({ approverEmail: 'fin@list.example' })];
    const others = [
      approval({ approverEmail: 'md@list.example' }),
      approval({ approverEmail: 'xfin@list.example' }),
      approval({ approverEmail: 'fin@list.example.evil' }),
      approval({ approverEmail: 'fin@list.exampl' }),
    ];
    const decided = approval({ approverEmail: 'fin@list.example' });
    for (const a of [...mine, ...others, decided]) await createApproval(a);
    expect(await consumeApproval(decided, decision('fin@list.example'))).toBe(true);

    const listed = await listApprovals('PENDING', 'fin@list.example');
    expect(listed.map((a) => a.approvalId).sort()).toEqual(mine.map((a) => a.approvalId).sort());
    expect(listed.every((a) => a.status === 'PENDING' && a.approverEmail === 'fin@list.example')).toBe(true);

    expect((await listApprovals('APPROVED', 'fin@list.example')).map((a) => a.approvalId)).toEqual([decided.approvalId]);
    // Without an email (admin): every pending approval, these included.
    const all = (await listApprovals('PENDING', undefined)).map((a) => a.approvalId);
    for (const a of [...mine, ...others]) expect(all).toContain(a.approvalId);
    expect(all).not.toContain(decided.approvalId);
  });
});
