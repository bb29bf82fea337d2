import { getPartner } from '../applications/store.ts';
import type { ApprovalSummary } from '../approvals/model.ts';
import { config } from '../core/config.ts';
import { publishEvent } from '../core/events.ts';
import { blobs } from '../core/blobs.ts';
import { formatDisplay, money, type Money } from '../core/money.ts';
import { taskHandler } from '../core/tasks.ts';
import { sendEmail } from '../notifications/email.ts';
import { available, claimRoute, type ClaimRoute } from './model.ts';
import {
  approveFundRequest,
  expireFundRequest,
  getBudget,
  getClaim,
  getFundRequest,
  recordProofMismatch,
  rejectClaim,
  requestClaimChanges,
  requestFundRequestChanges,
  settleClaim,
  startReview,
  transitionFundRequest,
  type ClaimRecord,
  type FundRequestRecord,
} from './store.ts';
import { recordMetric } from '../core/metrics.ts';

interface Decision {
  decision: 'approve' | 'reject' | 'request_changes';
  decidedBy: string;
  comment: string | null;
  approvedAmount: Money | null;
}

const missing = (what: string, id: string) => Object.assign(new Error(`${what} ${id} not found`), { name: 'NotFound' });

async function loadFundRequest(partnerId: string, id: string) {
  const frq = await getFundRequest(partnerId, id);
  if (!frq) throw missing('Fund request', id);
  return frq;
}

async function loadClaim(partnerId: string, id: string) {
  const claim = await getClaim(partnerId, id);
  if (!claim) throw missing('Claim', id);
  return claim;
}

/** Emails the partner's contact; every email names the record. */
async function tellPartner(partnerId: string, subject: string, paragraphs: string[]) {
  const partner = await getPartner(partnerId);
  if (!partner) return;
  await sendEmail({ to: [partner.contactEmail], subject, paragraphs: [`Dear ${partner.contactName},`, ...paragraphs] });
}

async function budgetLines(partnerId: string, period: string, currency: string) {
  const budget = await getBudget(partnerId, period);
  if (!budget) return [{ label: `Budget ${period}`, value: 'none allocated' }];
  return [
    { label: `Budget ${period} allocated`, value: formatDisplay(money(budget.allocated, currency)) },
    { label: `Budget ${period} available`, value: formatDisplay(money(available(budget), currency)) },
  ];
}

// ---------- fund requests ----------

async function fundRequestScreen(input: { partnerId: string; fundRequestId: string }) {
  const frq = await loadFundRequest(input.partnerId, input.fundRequestId);
  if (frq.status === 'SUBMITTED') {
    await transitionFundRequest(frq, 'SUBMITTED', 'AWAITING_APPROVAL', { actor: 'workflow', action: 'sent_for_approval' });
  }
  const partner = await getPartner(frq.partnerId);
  const summary: ApprovalSummary = {
    title: `MDF fund request: ${frq.activity.name}`,
    partnerId: frq.partnerId,
    ...(partner ? { partnerName: partner.legalName } : {}),
    lines: [
      { label: 'Fund request', value: frq.fundRequestId },
      { label: 'Requested', value: formatDisplay(frq.requested) },
      { label: 'Activity', value: `${frq.activity.type}: ${frq.activity.name}` },
      { label: 'Description', value: frq.activity.description },
      { label: 'Dates', value: `${frq.activity.startDate} to ${frq.activity.endDate}` },
      ...(await budgetLines(frq.partnerId, frq.period, frq.requested.currency)),
    ],
    maxAmount: frq.requested,
  };
  return { summary };
}

async function fundRequestDecide(input: { partnerId: string; fundRequestId: string; decision: Decision }) {
  const frq = await loadFundRequest(input.partnerId, input.fundRequestId);
  if (frq.status !== 'AWAITING_APPROVAL') return { status: frq.status };
  const { decision } = input;
  const comment = decision.comment ?? undefined;
  const label = `Fund request ${frq.fundRequestId} (${frq.activity.name})`;
  if (decision.decision === 'approve') {
    const amount = decision.approvedAmount ?? frq.requested;
    const outcome = await approveFundRequest(frq, amount.amount, { actor: decision.decidedBy, ...(comment ? { comment } : {}) });
    if (outcome === 'ok') {
      await publishEvent('FundRequestApproved', frq.fundRequestId, 'APPROVED', frq.partnerId);
      recordMetric('FundRequestsApproved');
      await tellPartner(frq.partnerId, `${label} approved`, [
        `${label} was approved for ${formatDisplay(amount)}${amount.amount < frq.requested.amount ? ` (you asked for ${formatDisplay(frq.requested)})` : ''}.`,
        ...(comment ? [`Comment: ${comment}`] : []),
        'Claim reimbursement with proof of performance once the activity is done.',
      ]);
      return { status: 'APPROVED' };
    }
    if (outcome === 'not_awaiting') return { status: (await loadFundRequest(frq.partnerId, frq.fundRequestId)).status };
    await transitionFundRequest(frq, 'AWAITING_APPROVAL', 'REJECTED', { actor: 'workflow', action: 'rejected', comment: 'insufficient_budget: the budget no longer had room when this was approved' });
    await tellPartner(frq.partnerId, `${label} could not be funded`, [`${label} was approved, but the ${frq.period} budget no longer had room for it, so it was not funded (insufficient_budget).`]);
    return { status: 'REJECTED' };
  }
  const to = decision.decision === 'reject' ? 'REJECTED' : 'CHANGES_REQUESTED';
  await transitionFundRequest(frq, 'AWAITING_APPROVAL', to, { actor: decision.decidedBy, action: decision.decision === 'reject' ? 'rejected' : 'changes_requested', ...(comment ? { comment } : {}) });
  await tellPartner(
    frq.partnerId,
    `${label} ${to === 'REJECTED' ? 'rejected' : 'needs changes'}`,
    to === 'REJECTED'
      ? [`${label} was not approved.`, ...(comment ? [`Comment: ${comment}`] : [])]
      : [`${label} needs changes before it can be approved: ${comment ?? ''}`, 'Please submit a new fund request with the changes.'],
  );
  return { status: to };
}

async function fundRequestTimedOut(input: { partnerId: string; fundRequestId: string }) {
  const frq = await loadFundRequest(input.partnerId, input.fundRequestId);
  if (frq.status !== 'AWAITING_APPROVAL') return { status: frq.status };
  await transitionFundRequest(frq, 'AWAITING_APPROVAL', 'REJECTED', { actor: 'workflow', action: 'timed_out', comment: 'No decision before the deadline' });
  await tellPartner(frq.partnerId, `Fund request ${frq.fundRequestId} was not decided in time`, ['No decision was made before the deadline. Please submit it again.']);
  return { status: 'REJECTED' };
}

/**
 * A `.waitForTaskToken` task: changes requested by the channel manager. The fund request waits in
 * CHANGES_REQUESTED (holding the token) until the partner's PUT resumes this same execution.
 */
async function fundRequestRequestChanges(input: { taskToken: string; partnerId: string; fundRequestId: string; decision: Decision }) {
  const frq = await loadFundRequest(input.partnerId, input.fundRequestId);
  if (frq.status !== 'AWAITING_APPROVAL') return {};
  const comment = input.decision.comment || 'Please correct the fund request';
  if (!(await requestFundRequestChanges(frq, input.taskToken, { actor: input.decision.decidedBy, comment }))) return {};
  const label = `Fund request ${frq.fundRequestId} (${frq.activity.name})`;
  await tellPartner(frq.partnerId, `${label} needs changes`, [
    `${label} needs changes before it can be approved: ${comment}`,
    `Resubmit it with PUT /partners/${frq.partnerId}/fund-requests/${frq.fundRequestId} before ${new Date(Date.now() + config().resubmissionTimeoutSeconds * 1000).toISOString().slice(0, 10)}; it then goes to the channel manager again.`,
  ]);
  return {};
}

/** The resubmission wait timed out: the fund request ends REJECTED and the partner is told. */
async function fundRequestNotResubmitted(input: { partnerId: string; fundRequestId: string }) {
  const frq = await loadFundRequest(input.partnerId, input.fundRequestId);
  // SUBMITTED: a PUT that landed as the wait timed out (its resume was refused with 409).
  if (frq.status !== 'CHANGES_REQUESTED' && frq.status !== 'SUBMITTED') return { status: frq.status };
  if (!(await expireFundRequest(frq, 'The fund request was not resubmitted before the deadline'))) {
    return { status: (await loadFundRequest(frq.partnerId, frq.fundRequestId)).status };
  }
  await tellPartner(frq.partnerId, `Fund request ${frq.fundRequestId} was not resubmitted in time`, [
    `Fund request ${frq.fundRequestId} (${frq.activity.name}) was not resubmitted with the requested changes before the deadline, so it was closed as REJECTED.`,
    'Submit a new fund request if you still need the funds.',
  ]);
  return { status: 'REJECTED' };
}

// ---------- claims ----------

async function claimSummary(claim: ClaimRecord, frq: FundRequestRecord): Promise<ApprovalSummary> {
  const partner = await getPartner(claim.partnerId);
  const currency = claim.amount.currency;
  return {
    title: `MDF claim ${claim.invoiceNumber} for ${frq.activity.name}`,
    partnerId: claim.partnerId,
    ...(partner ? { partnerName: `${partner.legalName}, ${partner.tier} tier` } : {}),
    lines: [
      { label: 'Claim', value: claim.claimId },
      { label: 'Claimed', value: formatDisplay(claim.amount) },
      { label: 'Invoice', value: claim.invoiceNumber },
      { label: 'Activity completed on', value: claim.activityCompletedOn },
      { label: 'Fund request', value: `${frq.fundRequestId}: ${frq.activity.name}` },
      { label: 'Fund request approved', value: formatDisplay(money(frq.approvedAmount ?? 0, currency)) },
      { label: 'Fund request left (besides this claim)', value: formatDisplay(money(frq.remaining, currency)) },
      ...(await budgetLines(claim.partnerId, claim.period, currency)),
    ],
    files: claim.files.map((f) => ({ label: `${f.fileName} (${f.contentType}, ${f.sizeBytes} bytes)`, key: f.key })),
    maxAmount: claim.amount,
  };
}

/** Every field the ASL's ResultSelector names is always present: AWS fails the state on a missing path. */
const reviewOutcome = (outcome: string, summary: ApprovalSummary | null = null, comment: string | null = null, thenApprovers: string[] = []) => ({
  outcome,
  summary,
  comment,
  thenApprovers,
});

/** After the channel manager (the chain's first approver, see the ASL), who else must approve. */
const LATER_APPROVERS: Record<ClaimRoute, string[]> = { auto: [], single: [], two_level: ['marketingDirector'] };

/** Starts (or restarts, after a resubmission) a review: files present, then the route by amount and tier. */
async function claimReview(input: { partnerId: string; claimId: string }) {
  let claim = await loadClaim(input.partnerId, input.claimId);
  if (claim.status === 'SUBMITTED') {
    await startReview(claim);
    claim = await loadClaim(input.partnerId, input.claimId);
  }
  if (claim.status !== 'IN_REVIEW') return reviewOutcome('closed');
  const store = blobs.get();
  const absent: string[] = [];
  const mismatched: { fileName: string; detail: string }[] = [];
  for (const f of claim.files) {
    const stored = await store.head(f.key);
    if (!stored) absent.push(f.fileName);
    else if (stored.sizeBytes !== f.sizeBytes || stored.sha256?.toLowerCase() !== f.sha256.toLowerCase()) {
      mismatched.push({ fileName: f.fileName, detail: `${f.fileName}: declared ${f.sizeBytes} bytes, sha256 ${f.sha256.toLowerCase()}; stored ${stored.sizeBytes} bytes, sha256 ${stored.sha256 ?? 'unknown'}` });
    }
  }
  if (mismatched.length) {
    // A stored file is never replaced (its URL is create-only), so waiting cannot fix it: the partner
    // is asked to resubmit with new files (the missing-files path), and no approver sees these bytes.
    await recordProofMismatch(claim, `Stored proof differs from its declaration: ${mismatched.map((m) => m.detail).join('; ')}`);
    const notUploaded = absent.length ? `; not uploaded: ${absent.join(', ')}` : '';
    return reviewOutcome(
      'missing_files',
      null,
      `Proof of performance does not match what was declared (size or SHA-256): ${mismatched.map((m) => m.fileName).join(', ')}${notUploaded}. Please resubmit the claim with new proof files.`,
    );
  }
  if (absent.length) {
    const uploadDeadline = Date.parse(claim.updatedAt) + config().claims.uploadWindowSeconds * 1000;
    if (Date.now() < uploadDeadline) return reviewOutcome('awaiting_uploads');
    return reviewOutcome('missing_files', null, `Proof of performance not uploaded: ${absent.join(', ')}`);
  }
  const frq = await loadFundRequest(claim.partnerId, claim.fundRequestId);
  const partner = await getPartner(claim.partnerId);
  const route = claimRoute(claim.amount, partner?.tier ?? 'registered', config());
  return reviewOutcome(route, await claimSummary(claim, frq), null, LATER_APPROVERS[route]);
}

async function claimSettle(input: { partnerId: string; claimId: string; decision?: Decision }) {
  const claim = await loadClaim(input.partnerId, input.claimId);
  if (claim.status !== 'IN_REVIEW') return { status: claim.status };
  const approved = input.decision?.approvedAmount ?? claim.amount;
  const actor = input.decision?.decidedBy ?? 'auto-approval';
  if (!(await settleClaim(claim, approved, actor, input.decision?.comment ?? undefined))) {
    return { status: (await loadClaim(input.partnerId, input.claimId)).status };
  }
  await publishEvent('ClaimApproved', claim.claimId, 'APPROVED', claim.partnerId);
  recordMetric('ClaimsApproved');
  const partial = approved.amount < claim.amount.amount;
  await tellPartner(claim.partnerId, `Claim ${claim.claimId} approved`, [
    `Your claim ${claim.claimId} (invoice ${claim.invoiceNumber}) was approved for ${formatDisplay(approved)}${partial ? ` of the ${formatDisplay(claim.amount)} claimed` : ''}.`,
    ...(input.decision?.comment ? [`Comment: ${input.decision.comment}`] : []),
    'It will be paid in the next payout run.',
  ]);
  return { status: 'APPROVED' };
}

async function claimReject(input: { partnerId: string; claimId: string; decision?: Decision; reason?: string }) {
  const claim = await loadClaim(input.partnerId, input.claimId);
  if (!['SUBMITTED', 'IN_REVIEW', 'CHANGES_REQUESTED'].includes(claim.status)) return { status: claim.status };
  const comment = input.decision?.comment ?? input.reason ?? undefined;
  if (!(await rejectClaim(claim, input.decision?.decidedBy ?? 'workflow', comment))) return { status: (await loadClaim(input.partnerId, input.claimId)).status };
  await publishEvent('ClaimRejected', claim.claimId, 'REJECTED', claim.partnerId);
  recordMetric('ClaimsRejected');
  await tellPartner(claim.partnerId, `Claim ${claim.claimId} rejected`, [`Your claim ${claim.claimId} (invoice ${claim.invoiceNumber}) was not approved.`, ...(comment ? [`Reason: ${comment}`] : [])]);
  return { status: 'REJECTED' };
}

/** A `.waitForTaskToken` task: the claim waits in CHANGES_REQUESTED until the partner's PUT resumes it. */
async function claimRequestChanges(input: { taskToken: string; partnerId: string; claimId: string; comment?: string | null; decidedBy?: string }) {
  const claim = await loadClaim(input.partnerId, input.claimId);
  const comment = input.comment || 'Please correct the claim';
  await requestClaimChanges(claim, input.taskToken, input.decidedBy ?? 'workflow', comment);
  await tellPartner(claim.partnerId, `Claim ${claim.claimId} needs changes`, [
    `Your claim ${claim.claimId} (invoice ${claim.invoiceNumber}) needs changes: ${comment}`,
    `Resubmit it with PUT /partners/${claim.partnerId}/claims/${claim.claimId} before ${new Date(Date.now() + config().resubmissionTimeoutSeconds * 1000).toISOString().slice(0, 10)}.`,
  ]);
  return {};
}

export const handler = taskHandler({
  fundRequestScreen,
  fundRequestDecide,
  fundRequestTimedOut,
  fundRequestRequestChanges,
  fundRequestNotResubmitted,
  claimReview,
  claimSettle,
  claimReject,
  claimRequestChanges,
});
