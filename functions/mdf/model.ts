import type { PrmConfig, Tier } from '../core/config.ts';
import type { Money } from '../core/money.ts';
import { canonicalIdentifier } from '../core/text.ts';

/**
 * The budget ledger of one partner and quarter, in minor units of one currency. Invariants, always:
 * available = allocated − reserved − approved ≥ 0, and 0 ≤ paid ≤ approved (unpaid = approved − paid).
 * The store keeps `available` and `unpaid` as attributes so DynamoDB conditions can guard them.
 */
export interface Ledger {
  allocated: number;
  reserved: number;
  approved: number;
  paid: number;
}

export const available = (l: Ledger) => l.allocated - l.reserved - l.approved;

export function ledgerHolds(l: Ledger): boolean {
  return available(l) >= 0 && l.reserved >= 0 && l.approved >= 0 && l.paid >= 0 && l.paid <= l.approved;
}

export class LedgerRefusal extends Error {
  constructor(readonly code: 'insufficient_budget' | 'budget_below_committed' | 'over_release' | 'over_payment', message: string) {
    super(message);
    this.name = 'LedgerRefusal';
  }
}

/** Fund request approved: its amount is reserved. */
export function reserve(l: Ledger, amount: number): Ledger {
  if (amount > available(l)) throw new LedgerRefusal('insufficient_budget', `Only ${available(l)} available, ${amount} asked`);
  return { ...l, reserved: l.reserved + amount };
}

/** Claim approved for `amount` out of a reservation: reserved → approved. */
export function settle(l: Ledger, amount: number): Ledger {
  if (amount > l.reserved) throw new LedgerRefusal('over_release', 'Cannot approve more than is reserved');
  return { ...l, reserved: l.reserved - amount, approved: l.approved + amount };
}

/** Claim paid. */
export function pay(l: Ledger, amount: number): Ledger {
  if (l.paid + amount > l.approved) throw new LedgerRefusal('over_payment', 'Cannot pay more than was approved');
  return { ...l, paid: l.paid + amount };
}

export function reallocate(l: Ledger, allocated: number): Ledger {
  if (allocated < l.reserved + l.approved) {
    throw new LedgerRefusal('budget_below_committed', `Allocation ${allocated} is below what is committed (${l.reserved + l.approved})`);
  }
  return { ...l, allocated };
}

/**
 * A fund request's running figures: approvedAmount = claimed + inClaim + remaining. Claims take from
 * `remaining` when submitted (`inClaim`), and become `claimed` for what is approved.
 */
export interface FundRequestFigures {
  approvedAmount: number;
  claimed: number;
  inClaim: number;
  remaining: number;
}

export type ClaimRoute = 'auto' | 'single' | 'two_level';

/** Review routing: small claims of top tiers pass without a person; above a threshold two people decide. */
export function claimRoute(amount: Money, tier: Tier, cfg: Pick<PrmConfig, 'claims' | 'budgetCurrency'>): ClaimRoute {
  if (amount.currency !== cfg.budgetCurrency) return 'two_level';
  if (amount.amount <= cfg.claims.autoApproveMaxAmount && cfg.claims.autoApproveTiers.includes(tier)) return 'auto';
  if (amount.amount <= cfg.claims.singleApprovalMaxAmount) return 'single';
  return 'two_level';
}

const DAY_MS = 86_400_000;

/** Claims are accepted until `windowDays` after the activity's end date (inclusive). */
export function claimWindowOpen(activityEndDate: string, today: string, windowDays: number): boolean {
  return Date.parse(`${today}T00:00:00Z`) <= Date.parse(`${activityEndDate}T00:00:00Z`) + windowDays * DAY_MS;
}

export interface ClaimRefusal {
  status: 400 | 409;
  code: 'currency_mismatch' | 'activity_not_completed' | 'activity_before_start' | 'claim_window_closed' | 'amount_exceeds_remaining';
  message: string;
}

/**
 * The rules a claim's figures must meet, on submission and on every resubmission alike (one path,
 * so a PUT cannot store what a POST refuses). `claimable` is what the fund request has left for
 * this claim (on a resubmission: its remaining plus what the claim already holds). The claim
 * window counts from the activity's end to the first submission only: a resubmission answers the
 * vendor's own change request, within that request's own deadline.
 */
export function claimRefusal(
  claim: { amount: Money; activityCompletedOn: string },
  fundRequest: { fundRequestId: string; requested: Money; activity: { startDate: string; endDate: string } },
  context: { today: string; windowDays: number; claimable: number; resubmission: boolean },
): ClaimRefusal | undefined {
  const { fundRequestId, requested, activity } = fundRequest;
  if (claim.amount.currency !== requested.currency) return { status: 400, code: 'currency_mismatch', message: `Fund request ${fundRequestId} is in ${requested.currency}` };
  if (claim.activityCompletedOn > context.today) return { status: 400, code: 'activity_not_completed', message: 'activityCompletedOn is in the future' };
  if (claim.activityCompletedOn < activity.startDate) return { status: 400, code: 'activity_before_start', message: `The activity starts on ${activity.startDate}` };
  if (!context.resubmission && !claimWindowOpen(activity.endDate, context.today, context.windowDays)) {
    return { status: 409, code: 'claim_window_closed', message: `Claims for this activity closed ${context.windowDays} days after ${activity.endDate}` };
  }
  if (claim.amount.amount > context.claimable) {
    return { status: 409, code: 'amount_exceeds_remaining', message: `Fund request ${fundRequestId} has ${context.claimable} ${requested.currency} minor units left to claim` };
  }
  return undefined;
}

export interface FundRequestRefusal {
  status: 400 | 409;
  code: 'insufficient_budget' | 'currency_mismatch';
  message: string;
}

/**
 * The rules a fund request's figures must meet against its quarter's budget, on submission and on
 * every resubmission alike (one path, so a PUT cannot store what a POST refuses). Nothing is
 * reserved before approval, so what is `available` is what may be asked.
 */
export function fundRequestRefusal(request: { requested: Money; period: string }, budget: (Ledger & { currency: string }) | undefined): FundRequestRefusal | undefined {
  const { requested, period } = request;
  if (!budget) return { status: 409, code: 'insufficient_budget', message: `There is no MDF budget for ${period}` };
  if (budget.currency !== requested.currency) return { status: 400, code: 'currency_mismatch', message: `The ${period} budget is in ${budget.currency}` };
  if (requested.amount > available(budget)) {
    return { status: 409, code: 'insufficient_budget', message: `Requested ${requested.amount} but only ${available(budget)} ${budget.currency} minor units are available in ${period}` };
  }
  return undefined;
}

export const todayUtc = (now = new Date()) => now.toISOString().slice(0, 10);

/** Invoice numbers compare canonically (core/text.ts) and without whitespace: "ｉｎｖ‐0 1" ≡ "INV-01". */
export function normaliseInvoice(invoiceNumber: string): string {
  return canonicalIdentifier(invoiceNumber).toUpperCase().replace(/\s+/g, '');
}

/** Payout months (YYYY-MM) of an ISO timestamp. */
export const monthOf = (iso: string) => iso.slice(0, 7);
