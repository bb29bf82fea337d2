import * as z from 'zod';

const StatusSchema = z.enum(['PENDING', 'APPROVED', 'REJECTED', 'CHANGES_REQUESTED', 'ESCALATED', 'EXPIRED']);

export const ApprovalListSchema = z.object({
  approvals: z.array(
    z
      .object({
        approvalId: z.string(),
        status: StatusSchema,
        subjectType: z.enum(['application', 'fund_request', 'claim', 'payout_run']),
        subjectId: z.string(),
        title: z.string(),
        approverEmail: z.string(),
        createdAt: z.string(),
        deadline: z.string(),
        remindedAt: z.string().optional(),
        escalatedTo: z.string().optional(),
        undelivered: z.looseObject({}).optional(),
      })
      .meta({ id: 'ApprovalListItem' }),
  ),
});

export const DecisionResultSchema = z.object({
  approvalId: z.string(),
  status: z.enum(['APPROVED', 'REJECTED', 'CHANGES_REQUESTED']),
  next: z.object({ approvalId: z.string(), approverRole: z.string() }).optional(),
});
