import { taskHandler } from '../core/tasks.ts';
import { draftApproval, emailApprover } from './request.ts';
import { ApprovalRequestTaskSchema, type ApprovalRequestTask } from './schema.ts';
import { createApproval } from './store.ts';

/**
 * Invoked by a `.waitForTaskToken` state: records the approval with the workflow's task token and
 * emails the approver one signed link. The workflow then waits until the decision resumes it.
 */
export async function requestApproval(input: ApprovalRequestTask): Promise<{ approvalId: string }> {
  const request = ApprovalRequestTaskSchema.parse(input);
  const summary = request.maxAmount ? { ...request.summary, maxAmount: request.maxAmount } : request.summary;
  const approval = draftApproval({ ...request, summary });
  await createApproval(approval);
  await emailApprover(approval, request.escalated ?? false);
  return { approvalId: approval.approvalId };
}

export const handler = taskHandler({ request: requestApproval });
