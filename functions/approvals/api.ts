import { hasRole, requireCaller } from '../core/auth.ts';
import { blobs } from '../core/blobs.ts';
import { AppError, badRequest, conflict, forbidden, gone, notFound } from '../core/errors.ts';
import { httpApi, json, parseWith, requireSameOrigin, wantsHtml, type Reply } from '../core/http.ts';
import { assertSameCurrency, compare, parseDecimal, type Money } from '../core/money.ts';
import { secrets } from '../core/secrets.ts';
import { effectiveStatus, STATUS_BY_DECISION, verifyLinkToken, type Approval } from './model.ts';
import { approvalPage, decidedPage, messagePage } from './page.ts';
import { nextInChain, notifyApprover } from './request.ts';
import { ApprovalListQuerySchema, DecisionSchema, type DecisionInput } from './schema.ts';
import { consumeApproval, getApproval, listApprovals } from './store.ts';
import { deliverDecision } from './delivery.ts';

const FILE_LINK_SECONDS = 15 * 60;

/** Token and state checks shared by the page and the decision: 403 forged, 410 expired, 409 decided. */
async function checkLink(approvalId: string, token: string | undefined): Promise<Approval> {
  const approval = await getApproval(approvalId);
  if (!approval) throw notFound('Approval');
  if (!token) throw forbidden('This link is missing its token');
  const check = verifyLinkToken(await secrets.get().linkSigningKey(), approval.approvalId, approval.approverEmail, token);
  if (!check.ok && check.reason === 'forged') throw forbidden('This link is not valid for this approval');
  const status = effectiveStatus(approval);
  if (status === 'ESCALATED') {
    throw gone('approval_escalated', 'This approval was not decided in time and was handed to the next approver');
  }
  if ((!check.ok && check.reason === 'expired') || status === 'EXPIRED') {
    throw gone('approval_expired', 'This approval link has expired; the request was escalated or closed');
  }
  if (status !== 'PENDING') throw conflict('already_decided', `This approval was already decided: ${status}`);
  return approval;
}

function htmlError(error: unknown): Reply | undefined {
  if (!(error instanceof AppError)) return undefined;
  if (error.code === 'foreign_origin') return { status: 403, html: messagePage('Decision not accepted from another site', error.message) };
  const titles: Record<number, string> = { 403: 'Link not valid', 404: 'Approval not found', 409: 'Already decided', 410: 'Link expired', 400: 'Cannot record this decision' };
  return { status: error.status, html: messagePage(titles[error.status] ?? 'Cannot continue', error.message) };
}

/** For approvals with an amount, an approval always carries one: the amount given, else the full amount. */
function approvedAmountOf(approval: Approval, input: DecisionInput): Money | undefined {
  const max = approval.summary.maxAmount;
  if (input.decision !== 'approve') return undefined;
  if (input.approvedAmount === undefined) return max;
  if (!max) throw badRequest('amount_not_allowed', 'This approval does not take an approved amount');
  const amount = typeof input.approvedAmount === 'string' ? parseDecimal(input.approvedAmount, max.currency) : input.approvedAmount;
  assertSameCurrency(amount, max);
  if (amount.amount <= 0) throw badRequest('invalid_amount', 'The approved amount must be positive');
  if (compare(amount, max) > 0) throw badRequest('amount_above_requested', `The approved amount cannot exceed ${max.amount} ${max.currency} minor units`);
  return amount;
}

async function decide(approvalId: string, input: DecisionInput) {
  const approval = await checkLink(approvalId, input.t);
  if (!approval.allowedDecisions.includes(input.decision)) {
    throw badRequest('decision_not_allowed', `Allowed decisions here: ${approval.allowedDecisions.join(', ')}`);
  }
  if (input.decision === 'request_changes' && !input.comment) {
    throw badRequest('comment_required', 'Say what should change in the comment');
  }
  if (input.tier && !approval.summary.tierChoices?.options.includes(input.tier)) {
    throw badRequest('tier_not_allowed', 'A tier can only be chosen for partner applications');
  }
  const approvedAmount = approvedAmountOf(approval, input);
  const status = STATUS_BY_DECISION[input.decision];
  const now = new Date();
  // An approval in a chain is handed on to the next level; the workflow goes on waiting.
  const handOverTo = input.decision === 'approve' ? nextInChain(approval, approvedAmount, input.comment, now) : undefined;
  const consumed = await consumeApproval(approval, {
    status,
    decidedBy: approval.approverEmail,
    ...(input.comment ? { comment: input.comment } : {}),
    ...(approvedAmount ? { approvedAmount } : {}),
    ...(input.tier ? { tier: input.tier } : {}),
    now,
    ...(handOverTo ? { handOverTo } : {}),
  });
  if (!consumed) {
    // Lost a race with another click, or the deadline passed between the check and the write.
    const latest = await getApproval(approvalId);
    if (latest && effectiveStatus(latest) === 'EXPIRED') throw gone('approval_expired', 'This approval link has expired');
    throw conflict('already_decided', 'This approval was already decided');
  }
  if (handOverTo) {
    await notifyApprover(handOverTo);
    return { approval, status, handedOverTo: handOverTo };
  }
  // The escalation loop may have re-entered its waiting state (a new token) since the approval was
  // read; the stored approval carries the token the workflow waits on now. If even that one is
  // closed, the loop's next entry finds the decision and delivers it.
  const decided = await getApproval(approvalId);
  if (decided) await deliverDecision(decided);
  return { approval, status };
}

export const handler = httpApi({
  'GET /approvals': {
    auth: ['channel_manager', 'marketing_director', 'finance', 'admin'],
    handle: async (req) => {
      const caller = requireCaller(req.caller);
      const { status, undelivered } = parseWith(ApprovalListQuerySchema, req.query, 'Query');
      const now = Date.now();
      // EXPIRED is not stored: an expired approval is a PENDING one past its deadline.
      const stored = status === 'EXPIRED' ? 'PENDING' : status;
      const approvals = (await listApprovals(stored, hasRole(caller, ['admin']) ? undefined : caller.email)).filter(
        (a) => effectiveStatus(a, now) === status && (undelivered === undefined || Boolean(a.undelivered) === (undelivered === 'true')),
      );
      return json(200, {
        approvals: approvals.map((a) => ({
          approvalId: a.approvalId,
          status: effectiveStatus(a, now),
          subjectType: a.subjectType,
          subjectId: a.subjectId,
          title: a.summary.title,
          approverEmail: a.approverEmail,
          createdAt: a.createdAt,
          deadline: a.deadline,
          ...(a.remindedAt ? { remindedAt: a.remindedAt } : {}),
          ...(a.escalatedTo ? { escalatedTo: a.escalatedTo } : {}),
          ...(a.undelivered ? { undelivered: a.undelivered } : {}),
        })),
      });
    },
  },
  'GET /approvals/{approvalId}': {
    auth: 'public',
    handle: async (req) => {
      try {
        const approval = await checkLink(req.params.approvalId!, req.query.t);
        const store = blobs.get();
        const fileLinks = await Promise.all(
          (approval.summary.files ?? []).map(async (f) => ({ label: f.label, url: await store.presignGet(f.key, FILE_LINK_SECONDS) })),
        );
        return { status: 200, html: approvalPage(approval, req.query.t!, fileLinks) };
      } catch (error) {
        const reply = htmlError(error);
        if (reply) return reply;
        throw error;
      }
    },
  },
  'POST /approvals/{approvalId}/decision': {
    auth: 'public',
    form: true,
    body: DecisionSchema,
    handle: async (req) => {
      const asHtml = wantsHtml(req.headers);
      try {
        // The decision page is the API's own HTML; a form on another site must not be able to decide.
        requireSameOrigin(req);
        const { approval, status, handedOverTo } = await decide(req.params.approvalId!, req.body as DecisionInput);
        if (asHtml) return { status: 200, html: decidedPage(approval, status, handedOverTo) };
        const next = handedOverTo ? { next: { approvalId: handedOverTo.approvalId, approverRole: handedOverTo.approverRole } } : {};
        return json(200, { approvalId: approval.approvalId, status, ...next });
      } catch (error) {
        const reply = asHtml ? htmlError(error) : undefined;
        if (reply) return reply;
        throw error;
      }
    },
  },
});

