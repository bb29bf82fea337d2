import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Money } from '../core/money.ts';

export type Decision = 'approve' | 'reject' | 'request_changes';
/** ESCALATED: the approver did not answer in time and the approval was handed to the next rung (its link decides nothing). */
export type ApprovalStatus = 'PENDING' | 'APPROVED' | 'REJECTED' | 'CHANGES_REQUESTED' | 'EXPIRED' | 'ESCALATED';
export type SubjectType = 'application' | 'fund_request' | 'claim' | 'payout_run';

export const STATUS_BY_DECISION: Record<Decision, ApprovalStatus> = {
  approve: 'APPROVED',
  reject: 'REJECTED',
  request_changes: 'CHANGES_REQUESTED',
};

/** What the approval page shows; supplied by the workflow of the subject's own context. */
export interface ApprovalSummary {
  title: string;
  partnerId?: string;
  partnerName?: string;
  lines: { label: string; value: string }[];
  /** Blob keys of files the approver can open (links are presigned when the page renders). */
  files?: { label: string; key: string }[];
  /** For partial approval: the most the approver may approve. */
  maxAmount?: Money;
  /** For applications: tiers the approver may pick, and the suggested one. */
  tierChoices?: { options: string[]; suggested: string };
}

export interface Approval {
  approvalId: string;
  taskToken: string;
  approverEmail: string;
  approverRole: string;
  subjectType: SubjectType;
  subjectId: string;
  summary: ApprovalSummary;
  allowedDecisions: Decision[];
  status: ApprovalStatus;
  createdAt: string;
  /** ISO time after which the link no longer decides anything. */
  deadline: string;
  /** Roles still to decide after this approval, in order (an approval chain, see requestApproval). */
  thenApproverRoles?: string[];
  /** Seconds each approver of the chain has to decide. */
  levelTimeoutSeconds?: number;
  /** The approval this one was handed on from (the previous level of the chain). */
  previousApprovalId?: string;
  /** When the approver was reminded at half time (see escalation.ts). */
  remindedAt?: string;
  /** The approval of the next rung, once this one was escalated. */
  escalatedTo?: string;
  /** Why the approver's email could not be sent after every retry (the approval still waits; admins are alerted). */
  undelivered?: string;
  undeliveredAt?: string;
  decidedAt?: string;
  decidedBy?: string;
  comment?: string;
  approvedAmount?: Money;
  tier?: string;
}

const DECISION_BY_STATUS: Partial<Record<ApprovalStatus, Decision>> = { APPROVED: 'approve', REJECTED: 'reject', CHANGES_REQUESTED: 'request_changes' };

/** The decided approval as the waiting workflow receives it (the output of its waiting state). */
export function decisionOutput(approval: Approval) {
  const decision = DECISION_BY_STATUS[approval.status];
  if (!decision) throw new Error(`Approval ${approval.approvalId} is ${approval.status}, not decided`);
  return {
    approvalId: approval.approvalId,
    decision,
    status: approval.status,
    decidedBy: approval.decidedBy ?? approval.approverEmail,
    comment: approval.comment ?? null,
    approvedAmount: approval.approvedAmount ?? null,
    tier: approval.tier ?? null,
  };
}

export const isDecided = (status: ApprovalStatus) => status in DECISION_BY_STATUS;

/** A pending approval past its deadline is expired, whether or not anything wrote that down. */
export function effectiveStatus(approval: Pick<Approval, 'status' | 'deadline'>, now = Date.now()): ApprovalStatus {
  if (approval.status === 'PENDING' && Date.parse(approval.deadline) <= now) return 'EXPIRED';
  return approval.status;
}

function signature(secret: string, approvalId: string, approverEmail: string, expiresEpoch: number): Buffer {
  return createHmac('sha256', secret).update(`${approvalId}\n${approverEmail.toLowerCase()}\n${expiresEpoch}`).digest();
}

/** Link token: "<expiry epoch seconds>.<base64url HMAC-SHA256 over approval id, approver and expiry>". */
export function signLinkToken(secret: string, approvalId: string, approverEmail: string, expiresEpoch: number): string {
  return `${expiresEpoch}.${signature(secret, approvalId, approverEmail, expiresEpoch).toString('base64url')}`;
}

export type TokenCheck = { ok: true; expiresEpoch: number } | { ok: false; reason: 'forged' | 'expired' };

/** Verifies a link token in constant time; an expired token is reported only once its signature is genuine. */
export function verifyLinkToken(secret: string, approvalId: string, approverEmail: string, token: string, nowMs = Date.now()): TokenCheck {
  const match = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!match) return { ok: false, reason: 'forged' };
  const expiresEpoch = Number(match[1]);
  // Compare the text, not decoded bytes: base64url has several spellings of the same bytes, and only
  // the canonical one is the token that was issued.
  const given = Buffer.from(match[2]!);
  const expected = Buffer.from(signature(secret, approvalId, approverEmail, expiresEpoch).toString('base64url'));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'forged' };
  if (expiresEpoch * 1000 <= nowMs) return { ok: false, reason: 'expired' };
  return { ok: true, expiresEpoch };
}

export function approvalLink(baseUrl: string, approvalId: string, token: string): string {
  return `${baseUrl.replace(/\/$/, '')}/approvals/${encodeURIComponent(approvalId)}?t=${encodeURIComponent(token)}`;
}
