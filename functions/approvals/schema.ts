import * as z from 'zod';
import { MoneySchema } from '../core/money.ts';

export const DecisionSchema = z.object({
  t: z.string().min(1, 'the link token t is required').max(200),
  decision: z.enum(['approve', 'reject', 'request_changes']),
  comment: z.string().trim().max(2000).optional().transform((c) => (c ? c : undefined)),
  /** Money, or (from the HTML form) a decimal string in the currency of the amount under review. */
  approvedAmount: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.union([MoneySchema, z.string().regex(/^\d+(\.\d+)?$/, 'must be a decimal amount such as 120.50')]).optional(),
  ),
  /** Applications only: the tier the new partner gets, if not the suggested one. */
  tier: z.preprocess((v) => (v === '' ? undefined : v), z.enum(['registered', 'silver', 'gold', 'platinum']).optional()),
});
export type DecisionInput = z.infer<typeof DecisionSchema>;

const ApproverRoleSchema = z.enum(['channelManager', 'marketingDirector', 'finance', 'escalation']);

export const ApprovalRequestTaskSchema = z.object({
  taskToken: z.string().min(1),
  subjectType: z.enum(['application', 'fund_request', 'claim', 'payout_run']),
  subjectId: z.string().min(1),
  approverRole: ApproverRoleSchema,
  /**
   * Approvers who decide after this one, in order, within the same waiting task: an approval is
   * handed on to the next role (same waiting task; the escalation loop gives the new approver a full
   * rung) and only the last approval, or any rejection or change request, resumes the workflow.
   */
  thenApproverRoles: z.array(ApproverRoleSchema).max(3).default([]),
  /** Seconds each approver (each rung of the escalation ladder) has to decide. */
  timeoutSeconds: z.number().int().positive(),
  allowedDecisions: z.array(z.enum(['approve', 'reject', 'request_changes'])).min(1),
  summary: z.object({
    title: z.string(),
    partnerId: z.string().optional(),
    partnerName: z.string().optional(),
    lines: z.array(z.object({ label: z.string(), value: z.string() })),
    files: z.array(z.object({ label: z.string(), key: z.string() })).optional(),
    maxAmount: MoneySchema.optional(),
    tierChoices: z.object({ options: z.array(z.string()), suggested: z.string() }).optional(),
  }),
  /**
   * Where the escalation loop stands (see escalation.ts): absent or `first` creates the approval;
   * any other step binds the waiting state's new token to the subject's current approval, or hands
   * it the decision at once if one was taken while no task waited.
   */
  wait: z.object({ step: z.enum(['first', 'remind', 'escalate', 'rebind', 'deliver', 'expire']) }).passthrough().optional(),
  /** Overrides summary.maxAmount, e.g. a second approver may not exceed what the first approved. */
  maxAmount: MoneySchema.nullish(),
});
export type ApprovalRequestTask = z.infer<typeof ApprovalRequestTaskSchema>;

export const AdvanceTaskSchema = z.object({
  subjectType: z.enum(['application', 'fund_request', 'claim', 'payout_run']),
  subjectId: z.string().min(1),
});

export const ApprovalListQuerySchema = z.object({
  status: z.enum(['PENDING', 'APPROVED', 'REJECTED', 'CHANGES_REQUESTED', 'ESCALATED', 'EXPIRED']).default('PENDING'),
  /** `true`: only approvals whose email could not be delivered. */
  undelivered: z.enum(['true', 'false']).optional(),
});
