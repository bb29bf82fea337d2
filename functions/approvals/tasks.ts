import { recordMetric } from '../core/metrics.ts';
import { taskHandler } from '../core/tasks.ts';
import { nextStep, type Wait } from './escalation.ts';
import { deliverDecision } from './delivery.ts';
import { isDecided, type Approval } from './model.ts';
import { draftApproval, escalatedApproval, notifyApprover } from './request.ts';
import { channelManagerOf } from '../users/store.ts';
import { AdvanceTaskSchema, ApprovalRequestTaskSchema, type ApprovalRequestTask } from './schema.ts';
import { bindApproval, createApproval, currentApproval, escalateApproval, getApproval, markReminded } from './store.ts';

/** Binds the new token to a still pending approval, or delivers the decision taken while no task waited. */
async function bindOrDeliver(approval: Approval, taskToken: string): Promise<void> {
  if (approval.status === 'PENDING' && (await bindApproval(approval.approvalId, taskToken))) return;
  const latest = (await getApproval(approval.approvalId)) ?? approval;
  if (isDecided(latest.status)) await deliverDecision(latest, taskToken);
  // Otherwise (escalated or expired under our feet) the state's timeout brings the loop back to `advance`.
}

/**
 * Invoked by a `.waitForTaskToken` state. The first time, records the approval with the workflow's
 * task token and emails the approver one signed link; each re-entry of the escalation loop binds the
 * new token to whichever approval the subject now waits for.
 */
export async function requestApproval(input: ApprovalRequestTask): Promise<{ approvalId: string }> {
  const request = ApprovalRequestTaskSchema.parse(input);
  if (request.wait && request.wait.step !== 'first') {
    const current = await currentApproval(request.subjectType, request.subjectId);
    if (!current) throw Object.assign(new Error(`No approval for ${request.subjectType} ${request.subjectId}`), { name: 'ApprovalMissing' });
    await bindOrDeliver(current, request.taskToken);
    return { approvalId: current.approvalId };
  }
  const summary = request.maxAmount ? { ...request.summary, maxAmount: request.maxAmount } : request.summary;
  // A partner's approvals go to its own channel manager; the configured pool is the fallback.
  const own = request.approverRole === 'channelManager' && summary.partnerId ? await channelManagerOf(summary.partnerId) : undefined;
  const approval = draftApproval({ ...request, summary, ...(own ? { approverEmail: own.email } : {}) });
  await createApproval(approval);
  await notifyApprover(approval);
  return { approvalId: approval.approvalId };
}

/**
 * Invoked when a waiting state's timeout fires: applies the escalation rule (escalation.ts) to the
 * subject's current approval — remind the approver, escalate to the next rung, or expire — and
 * answers how long the re-entered waiting state waits, and with which step.
 */
export async function advanceApproval(input: unknown): Promise<Wait> {
  const { subjectType, subjectId } = AdvanceTaskSchema.parse(input);
  const current = await currentApproval(subjectType, subjectId);
  const now = new Date();
  const wait = nextStep(current, now.getTime());
  const decidedMeanwhile: Wait = { seconds: 1, step: 'deliver', approvalId: current?.approvalId ?? null, role: null };
  if (!current) return wait;
  switch (wait.step) {
    case 'remind':
      if (!(await markReminded(current, now))) return decidedMeanwhile;
      recordMetric('ApprovalRemindersSent');
      await notifyApprover(current, 'reminder');
      return wait;
    case 'escalate': {
      // The new approval takes the stale token; the re-entered waiting state binds its own to it.
      const next = escalatedApproval(current, wait.role!, current.taskToken, now);
      if (!(await escalateApproval(current, next))) return decidedMeanwhile;
      recordMetric('ApprovalsEscalated', 1, { subjectType });
      await notifyApprover(next, 'escalated');
      return { ...wait, approvalId: next.approvalId };
    }
    case 'expire':
      recordMetric('ApprovalsExpired', 1, { subjectType });
      return wait;
    default:
      return wait;
  }
}

export const handler = taskHandler({ request: requestApproval, advance: advanceApproval });
