import { config } from '../core/config.ts';
import { newId } from '../core/ids.ts';
import { formatDisplay, type Money } from '../core/money.ts';
import { secrets } from '../core/secrets.ts';
import { sendEmail } from '../notifications/email.ts';
import { logger } from '../core/log.ts';
import { recordMetric } from '../core/metrics.ts';
import { chainAfterEscalation } from './escalation.ts';
import { approvalLink, signLinkToken, type Approval, type ApprovalSummary } from './model.ts';
import { markUndelivered } from './store.ts';

/**
 * The link stops deciding a little before the rung ends (5 s, or a quarter of a very short rung), so
 * a late click never races the escalation.
 */
const deadlineMargin = (rungSeconds: number) => Math.min(5, Math.floor(rungSeconds / 4));

/** Attempts per approver email, and the pause before the first retry (doubled each time). */
const EMAIL_ATTEMPTS = 3;
const EMAIL_RETRY_MS = 200;

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
  /** Who decides, when not the configured address of the role (a partner's own channel manager). */
  approverEmail?: string;
}

/** A pending approval for the approver (by default the configured address of the role); the link expires just before the task does. */
export function draftApproval(request: NewApproval, now = new Date()): Approval {
  const lifetime = Math.max(1, request.timeoutSeconds - deadlineMargin(request.timeoutSeconds));
  const expiresEpoch = Math.floor(now.getTime() / 1000) + lifetime;
  const roles = config().approvers as Record<string, string>;
  return {
    approvalId: newId('approval'),
    taskToken: request.taskToken,
    approverEmail: (request.approverEmail ?? roles[request.approverRole]!).toLowerCase(),
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

/** The next rung's approval for one nobody decided in time: the same subject, a new approver and a full rung. */
export function escalatedApproval(from: Approval, role: string, taskToken: string, now = new Date()): Approval {
  return draftApproval(
    {
      taskToken,
      subjectType: from.subjectType,
      subjectId: from.subjectId,
      approverRole: role,
      thenApproverRoles: chainAfterEscalation(from.thenApproverRoles ?? [], role),
      timeoutSeconds: from.levelTimeoutSeconds ?? 1,
      allowedDecisions: from.allowedDecisions,
      summary: { ...from.summary, lines: [...from.summary.lines, { label: 'Escalated', value: `${from.approverEmail} did not decide in time` }] },
    },
    now,
  );
}

export type ApproverEmailKind = 'new' | 'reminder' | 'escalated';

/** Emails the approver one signed link to the approval page. */
async function emailApprover(approval: Approval, kind: ApproverEmailKind): Promise<void> {
  const expiresEpoch = Math.floor(Date.parse(approval.deadline) / 1000);
  const token = signLinkToken(await secrets.get().linkSigningKey(), approval.approvalId, approval.approverEmail, expiresEpoch);
  const what = SUBJECT_NAMES[approval.subjectType];
  const why =
    kind === 'escalated'
      ? ' (escalated: the previous approver did not decide in time)'
      : kind === 'reminder'
        ? ' (reminder: half of the time to decide has passed)'
        : approval.previousApprovalId
          ? ' (second level: it was approved at the first level)'
          : '';
  const prefix = kind === 'escalated' ? '[Escalated] ' : kind === 'reminder' ? '[Reminder] ' : '';
  await sendEmail({
    to: [approval.approverEmail],
    subject: `${prefix}Decision needed: ${what} ${approval.subjectId}`,
    paragraphs: [
      `${what} ${approval.subjectId} is waiting for your decision${why}.`,
      approval.summary.title,
      `The link below opens a page where you can review it and decide. It works until ${approval.deadline}.`,
    ],
    facts: approval.summary.lines,
    action: { label: 'Review and decide', url: approvalLink(config().baseUrl, approval.approvalId, token) },
  });
}

/**
 * Tells the approver, retrying a failed send; if every attempt fails the approval is marked
 * `undelivered` (GET /approvals lists it) and the admins are alerted. Never throws for a failed
 * send: the decision that led here is already recorded and must not be undone or repeated.
 */
export async function notifyApprover(approval: Approval, kind: ApproverEmailKind = 'new'): Promise<boolean> {
  let lastError: unknown;
  for (let attempt = 0; attempt < EMAIL_ATTEMPTS; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, EMAIL_RETRY_MS * 2 ** (attempt - 1)));
    try {
      await emailApprover(approval, kind);
      return true;
    } catch (error) {
      lastError = error;
    }
  }
  const reason = `Email to ${approval.approverEmail} failed ${EMAIL_ATTEMPTS} times: ${(lastError as Error)?.message ?? String(lastError)}`.slice(0, 500);
  logger.error('approval email undelivered', { approvalId: approval.approvalId, error: lastError as Error });
  recordMetric('ApprovalEmailsUndelivered');
  await markUndelivered(approval.approvalId, new Date(), reason);
  await alertAdmins(approval, reason);
  return false;
}

async function alertAdmins(approval: Approval, reason: string): Promise<void> {
  const admin = config().approvers.escalation;
  if (admin.toLowerCase() === approval.approverEmail) return; // the admin's own mail is what failed
  try {
    await sendEmail({
      to: [admin],
      subject: `[Action needed] Approval email undelivered: ${SUBJECT_NAMES[approval.subjectType]} ${approval.subjectId}`,
      paragraphs: [
        `The decision request for ${SUBJECT_NAMES[approval.subjectType]} ${approval.subjectId} could not be emailed to ${approval.approverEmail}.`,
        'The approval still waits. GET /approvals?undelivered=true lists every approval in this state.',
      ],
      facts: [
        { label: 'Approval', value: approval.approvalId },
        { label: 'Reason', value: reason },
      ],
    });
  } catch (error) {
    // The undelivered mark and the metric (alarmed deployed) remain; nothing more can be sent now.
    logger.error('admin alert for an undelivered approval email failed too', { approvalId: approval.approvalId, error: error as Error });
  }
}
