import { config } from '../core/config.ts';
import { newId } from '../core/ids.ts';
import { secrets } from '../core/secrets.ts';
import { taskHandler } from '../core/tasks.ts';
import { sendEmail } from '../notifications/email.ts';
import { approvalLink, signLinkToken, type Approval } from './model.ts';
import { ApprovalRequestTaskSchema, type ApprovalRequestTask } from './schema.ts';
import { createApproval } from './store.ts';

/** The link stops deciding a little before the workflow's own timeout, so a late click never races it. */
const DEADLINE_MARGIN_SECONDS = 5;

const SUBJECT_NAMES: Record<Approval['subjectType'], string> = {
  application: 'Partner application',
  fund_request: 'MDF fund request',
  claim: 'MDF claim',
  payout_run: 'Payout run',
};

/**
 * Invoked by a `.waitForTaskToken` state: records the approval with the workflow's task token and
 * emails the approver one signed link. The workflow then waits until the decision resumes it.
 */
export async function requestApproval(input: ApprovalRequestTask): Promise<{ approvalId: string }> {
  const request = ApprovalRequestTaskSchema.parse(input);
  const cfg = config();
  const approverEmail = cfg.approvers[request.approverRole].toLowerCase();
  const now = new Date();
  const lifetime = Math.max(1, request.timeoutSeconds - DEADLINE_MARGIN_SECONDS);
  const expiresEpoch = Math.floor(now.getTime() / 1000) + lifetime;
  const approval: Approval = {
    approvalId: newId('approval'),
    taskToken: request.taskToken,
    approverEmail,
    approverRole: request.approverRole,
    subjectType: request.subjectType,
    subjectId: request.subjectId,
    summary: request.maxAmount ? { ...request.summary, maxAmount: request.maxAmount } : request.summary,
    allowedDecisions: request.allowedDecisions,
    status: 'PENDING',
    createdAt: now.toISOString(),
    deadline: new Date(expiresEpoch * 1000).toISOString(),
  };
  await createApproval(approval);
  const token = signLinkToken(await secrets.get().linkSigningKey(), approval.approvalId, approverEmail, expiresEpoch);
  const what = SUBJECT_NAMES[request.subjectType];
  await sendEmail({
    to: [approverEmail],
    subject: `${request.escalated ? '[Escalated] ' : ''}Decision needed: ${what} ${request.subjectId}`,
    paragraphs: [
      `${what} ${request.subjectId} is waiting for your decision${request.escalated ? ' (escalated: the first approver did not decide in time)' : ''}.`,
      request.summary.title,
      `The link below opens a page where you can review it and decide. It works until ${approval.deadline}.`,
    ],
    facts: request.summary.lines,
    action: { label: 'Review and decide', url: approvalLink(cfg.baseUrl, approval.approvalId, token) },
  });
  return { approvalId: approval.approvalId };
}

export const handler = taskHandler({ request: requestApproval });
