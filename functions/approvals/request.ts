import { config } from '../core/config.ts';
import { newId } from '../core/ids.ts';
import { formatDisplay, type Money } from '../core/money.ts';
import { secrets } from '../core/secrets.ts';
import { sendEmail } from '../notifications/email.ts';
import { approvalLink, signLinkToken, type Approval, type ApprovalSummary } from './model.ts';

/** The link stops deciding a little before the workflow's own timeout, so a late click never races it. */
const DEADLINE_MARGIN_SECONDS = 5;

const SUBJECT_NAMES: Record<Approval['subjectType'], string> = {
  application: 'Partner application',
  fund_request: 'MDF fund request',
  claim: 'MDF claim',
  payout_run: 'Payout run',
};

export interface NewApproval {
  taskToken: string;
  subjectType: Approval['subjectType'];
  subjectId: string;
  approverRole: string;
  thenApproverRoles: string[];
  /** Seconds this approver has to decide. */
  timeoutSeconds: number;
  allowedDecisions: Approval['allowedDecisions'];
  summary: ApprovalSummary;
  previousApprovalId?: string;
}

/** A pending approval for the configured approver of the role; the link expires just before the task does. */
export function draftApproval(request: NewApproval, now = new Date()): Approval {
  const lifetime = Math.max(1, request.timeoutSeconds - DEADLINE_MARGIN_SECONDS);
  const expiresEpoch = Math.floor(now.getTime() / 1000) + lifetime;
  const roles = config().approvers as Record<string, string>;
  return {
    approvalId: newId('approval'),
    taskToken: request.taskToken,
    approverEmail: roles[request.approverRole]!.toLowerCase(),
    approverRole: request.approverRole,
    subjectType: request.subjectType,
    subjectId: request.subjectId,
    summary: request.summary,
    allowedDecisions: request.allowedDecisions,
    status: 'PENDING',
    createdAt: now.toISOString(),
    deadline: new Date(expiresEpoch * 1000).toISOString(),
    ...(request.thenApproverRoles.length ? { thenApproverRoles: request.thenApproverRoles } : {}),
    levelTimeoutSeconds: request.timeoutSeconds,
    ...(request.previousApprovalId ? { previousApprovalId: request.previousApprovalId } : {}),
  };
}

/** The next level of a chain, after `approval` was approved (for `approvedAmount`, if the subject has an amount). */
export function nextInChain(approval: Approval, approvedAmount: Money | undefined, comment: string | undefined, now = new Date()): Approval | undefined {
  const [nextRole, ...rest] = approval.thenApproverRoles ?? [];
  if (!nextRole) return undefined;
  const previous = `Approved by ${approval.approverEmail}${approvedAmount ? ` for ${formatDisplay(approvedAmount)}` : ''}${comment ? `: “${comment}”` : ''}`;
  return draftApproval(
    {
      taskToken: approval.taskToken,
      subjectType: approval.subjectType,
      subjectId: approval.subjectId,
      approverRole: nextRole,
      thenApproverRoles: rest,
      timeoutSeconds: approval.levelTimeoutSeconds ?? 1,
      allowedDecisions: approval.allowedDecisions,
      // The next approver may approve at most what the previous one approved.
      summary: { ...approval.summary, lines: [...approval.summary.lines, { label: 'Previous level', value: previous }], ...(approvedAmount ? { maxAmount: approvedAmount } : {}) },
      previousApprovalId: approval.approvalId,
    },
    now,
  );
}

/** Emails the approver one signed link to the approval page. */
export async function emailApprover(approval: Approval, escalated = false): Promise<void> {
  const expiresEpoch = Math.floor(Date.parse(approval.deadline) / 1000);
  const token = signLinkToken(await secrets.get().linkSigningKey(), approval.approvalId, approval.approverEmail, expiresEpoch);
  const what = SUBJECT_NAMES[approval.subjectType];
  const why = escalated
    ? ' (escalated: the first approver did not decide in time)'
    : approval.previousApprovalId
      ? ' (second level: it was approved at the first level)'
      : '';
  await sendEmail({
    to: [approval.approverEmail],
    subject: `${escalated ? '[Escalated] ' : ''}Decision needed: ${what} ${approval.subjectId}`,
    paragraphs: [
      `${what} ${approval.subjectId} is waiting for your decision${why}.`,
      approval.summary.title,
      `The link below opens a page where you can review it and decide. It works until ${approval.deadline}.`,
    ],
    facts: approval.summary.lines,
    action: { label: 'Review and decide', url: approvalLink(config().baseUrl, approval.approvalId, token) },
  });
}
