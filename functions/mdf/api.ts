import { getPartner } from '../applications/store.ts';
import { actorOf, requirePartnerAccess, type Role } from '../core/auth.ts';
import { readHistory, type AuditEntry } from '../core/audit.ts';
import { blobs } from '../core/blobs.ts';
import { approvalTimeouts, config } from '../core/config.ts';
import { AppError, conflict, notFound } from '../core/errors.ts';
import { httpApi, json, parseWith } from '../core/http.ts';
import { newId } from '../core/ids.ts';
import { money, type Money } from '../core/money.ts';
import { TaskClosedError, workflows } from '../core/workflow-client.ts';
import { available, claimRefusal, fundRequestRefusal, todayUtc, type ClaimRefusal, type FundRequestRefusal } from './model.ts';
import {
  BudgetInputSchema,
  ClaimInputSchema,
  ClaimResubmissionSchema,
  FundRequestInputSchema,
  FundRequestResubmissionSchema,
  PeriodSchema,
  StatusQuerySchema,
  type ClaimInput,
  type ClaimResubmission,
  type FundRequestInput,
  type FundRequestResubmission,
} from './schema.ts';
import {
  allocateBudget,
  closeFundRequest,
  budgetHistoryPk,
  createClaim,
  createFundRequest,
  getBudget,
  getClaim,
  getFundRequest,
  listClaims,
  listFundRequests,
  resubmitClaim,
  resubmitFundRequest,
  type BudgetRecord,
  type ClaimRecord,
  type FundRequestRecord,
  type ProofFile,
} from './store.ts';

const READERS: Role[] = ['channel_manager', 'finance', 'admin'];
const UPLOAD_URL_SECONDS = 3600;

const budgetView = (b: BudgetRecord) => ({
  partnerId: b.partnerId,
  period: b.period,
  allocated: money(b.allocated, b.currency),
  reserved: money(b.reserved, b.currency),
  approved: money(b.approved, b.currency),
  paid: money(b.paid, b.currency),
  available: money(available(b), b.currency),
});

async function fundRequestView(f: FundRequestRecord, history?: AuditEntry[]) {
  const c = f.requested.currency;
  return {
    fundRequestId: f.fundRequestId,
    partnerId: f.partnerId,
    period: f.period,
    status: f.status,
    activity: f.activity,
    requested: f.requested,
    ...(f.approvedAmount !== undefined && (f.status === 'APPROVED' || f.status === 'CLOSED') ? { approvedAmount: money(f.approvedAmount, c) } : {}),
    claimed: money(f.claimed, c),
    inClaim: money(f.inClaim, c),
    remaining: money(f.status === 'APPROVED' ? f.remaining : 0, c),
    createdAt: f.createdAt,
    history: history ?? (await readHistory(`FRQ#${f.fundRequestId}`)),
  };
}

function claimView(c: ClaimRecord, history?: AuditEntry[]) {
  return {
    claimId: c.claimId,
    partnerId: c.partnerId,
    fundRequestId: c.fundRequestId,
    status: c.status,
    amount: c.amount,
    ...(c.approvedAmount ? { approvedAmount: c.approvedAmount } : {}),
    invoiceNumber: c.invoiceNumber,
    activityCompletedOn: c.activityCompletedOn,
    proofOfPerformance: c.files.map(({ fileName, contentType, sha256, sizeBytes }) => ({ fileName, contentType, sha256, sizeBytes })),
    createdAt: c.createdAt,
    ...(history ? { history } : {}),
  };
}

function proofFiles(partnerId: string, claimId: string, files: ClaimInput['proofOfPerformance'], round: number): ProofFile[] {
  return files.map((f, i) => ({ ...f, key: `proofs/${partnerId}/${claimId}/${round}-${i}-${f.fileName}` }));
}

async function uploadsFor(files: ProofFile[]) {
  const store = blobs.get();
  const expiresAt = new Date(Date.now() + UPLOAD_URL_SECONDS * 1000).toISOString();
  return Promise.all(
    files.map(async (f) => {
      // Bound to the declared bytes: S3 refuses others (400 BadDigest) and any second write (412).
      const { url, headers } = await store.presignPut(f.key, { contentType: f.contentType, sizeBytes: f.sizeBytes, sha256: f.sha256 }, UPLOAD_URL_SECONDS);
      return { fileName: f.fileName, url, method: 'PUT', headers, expiresAt };
    }),
  );
}

function statusFilter<T extends { status: string }>(items: T[], query: Record<string, string>, statuses: readonly [string, ...string[]]): T[] {
  const { status } = parseWith(StatusQuerySchema(statuses), query, 'Query');
  return status ? items.filter((i) => i.status === status) : items;
}

const timeouts = () => ({
  ...approvalTimeouts(),
  resubmissionSeconds: config().resubmissionTimeoutSeconds,
  uploadPollSeconds: config().claims.uploadPollSeconds,
});

const CLAIM_STATUSES = ['SUBMITTED', 'IN_REVIEW', 'CHANGES_REQUESTED', 'APPROVED', 'REJECTED', 'PAID'] as const;
const FRQ_STATUSES = ['SUBMITTED', 'AWAITING_APPROVAL', 'APPROVED', 'REJECTED', 'CHANGES_REQUESTED', 'CLOSED'] as const;

async function ownClaim(partnerId: string, claimId: string): Promise<ClaimRecord> {
  const claim = await getClaim(partnerId, claimId);
  if (!claim) throw notFound('Claim');
  return claim;
}

export const handler = httpApi({
  'PUT /partners/{partnerId}/budgets/{period}': {
    auth: ['channel_manager', 'admin'],
    body: BudgetInputSchema,
    handle: async (req) => {
      const { partnerId } = req.params as { partnerId: string };
      const period = parseWith(PeriodSchema, req.params.period, 'Period');
      if (!(await getPartner(partnerId))) throw notFound('Partner');
      const { allocated } = req.body as { allocated: Money };
      const result = await allocateBudget(partnerId, period, allocated, actorOf(req.caller));
      if (!result.ok) throw conflict(result.code, result.message);
      return json(200, budgetView(result.budget));
    },
  },
  'GET /partners/{partnerId}/budgets/{period}': {
    auth: ['partner', ...READERS],
    handle: async (req) => {
      requirePartnerAccess(req.caller, req.params.partnerId!, READERS);
      const budget = await getBudget(req.params.partnerId!, parseWith(PeriodSchema, req.params.period, 'Period'));
      if (!budget) throw notFound('Budget');
      return json(200, { ...budgetView(budget), history: await readHistory(budgetHistoryPk(budget.partnerId, budget.period)) });
    },
  },
  'POST /partners/{partnerId}/fund-requests': {
    auth: ['partner'],
    body: FundRequestInputSchema,
    idempotent: true,
    handle: async (req) => {
      const partnerId = req.params.partnerId!;
      const caller = requirePartnerAccess(req.caller, partnerId, []);
      const input = req.body as FundRequestInput;
      refuse(fundRequestRefusal(input, await getBudget(partnerId, input.period)));
      const now = new Date().toISOString();
      const fundRequestId = newId('fundRequest');
      await createFundRequest(
        { fundRequestId, partnerId, period: input.period, activity: input.activity, requested: input.requested, status: 'SUBMITTED', claimed: 0, inClaim: 0, remaining: 0, createdAt: now, updatedAt: now },
        actorOf(caller),
      );
      await workflows.get().start('mdf-fund-request', { partnerId, fundRequestId, timeouts: timeouts() }, fundRequestId);
      return json(202, { fundRequestId, status: 'SUBMITTED' });
    },
  },
  'GET /partners/{partnerId}/fund-requests': {
    auth: ['partner', ...READERS],
    handle: async (req) => {
      requirePartnerAccess(req.caller, req.params.partnerId!, READERS);
      const items = statusFilter(await listFundRequests(req.params.partnerId!), req.query, FRQ_STATUSES);
      return json(200, { fundRequests: await Promise.all(items.map((f) => fundRequestView(f))) });
    },
  },
  'GET /partners/{partnerId}/fund-requests/{fundRequestId}': {
    auth: ['partner', ...READERS],
    handle: async (req) => {
      requirePartnerAccess(req.caller, req.params.partnerId!, READERS, { what: 'Fund request' });
      const [frq, history] = await Promise.all([
        getFundRequest(req.params.partnerId!, req.params.fundRequestId!),
        readHistory(`FRQ#${req.params.fundRequestId!}`),
      ]);
      if (!frq) throw notFound('Fund request');
      return json(200, await fundRequestView(frq, history));
    },
  },
  'PUT /partners/{partnerId}/fund-requests/{fundRequestId}': {
    auth: ['partner'],
    body: FundRequestResubmissionSchema,
    handle: async (req) => {
      const partnerId = req.params.partnerId!;
      const caller = requirePartnerAccess(req.caller, partnerId, [], { what: 'Fund request' });
      const frq = await getFundRequest(partnerId, req.params.fundRequestId!);
      if (!frq) throw notFound('Fund request');
      if (frq.status !== 'CHANGES_REQUESTED' || !frq.resubmitToken) {
        throw conflict('fund_request_not_awaiting_changes', `Fund request ${frq.fundRequestId} is ${frq.status}; only a fund request in CHANGES_REQUESTED can be resubmitted`);
      }
      const { comment, ...input } = req.body as FundRequestResubmission;
      // The rules of a submission (POST above), against the budget of the period now asked for.
      refuse(fundRequestRefusal(input, await getBudget(partnerId, input.period)));
      if (!(await resubmitFundRequest(frq, input, actorOf(caller), comment))) {
        throw conflict('fund_request_not_awaiting_changes', 'The fund request is no longer waiting for changes');
      }
      try {
        await workflows.get().sendTaskSuccess(frq.resubmitToken, { resubmitted: true });
      } catch (error) {
        if (!(error instanceof TaskClosedError)) throw error;
        throw conflict('fund_request_review_closed', 'The review of this fund request had already ended');
      }
      return json(202, { fundRequestId: frq.fundRequestId, status: 'SUBMITTED' });
    },
  },
  'POST /partners/{partnerId}/fund-requests/{fundRequestId}/close': {
    auth: ['partner', 'channel_manager', 'admin'],
    handle: async (req) => {
      const caller = requirePartnerAccess(req.caller, req.params.partnerId!, ['channel_manager', 'admin'], { what: 'Fund request' });
      const frq = await getFundRequest(req.params.partnerId!, req.params.fundRequestId!);
      if (!frq) throw notFound('Fund request');
      if (frq.status !== 'APPROVED') throw conflict('fund_request_not_approved', `Fund request ${frq.fundRequestId} is ${frq.status}; only an approved one can be closed`);
      if (frq.inClaim > 0) throw conflict('claims_in_review', 'Claims against this fund request are still under review');
      if (!(await closeFundRequest(frq, actorOf(caller)))) throw conflict('concurrent_update', 'The fund request changed meanwhile; retry');
      return json(200, await fundRequestView((await getFundRequest(frq.partnerId, frq.fundRequestId))!));
    },
  },
  'POST /partners/{partnerId}/claims': {
    auth: ['partner'],
    body: ClaimInputSchema,
    idempotent: true,
    handle: async (req) => {
      const partnerId = req.params.partnerId!;
      const caller = requirePartnerAccess(req.caller, partnerId, []);
      const input = req.body as ClaimInput;
      const frq = await getFundRequest(partnerId, input.fundRequestId);
      if (!frq) throw notFound('Fund request');
      if (frq.status !== 'APPROVED') throw conflict('fund_request_not_approved', `Fund request ${frq.fundRequestId} is ${frq.status}, not APPROVED`);
      refuse(claimRefusal(input, frq, { today: todayUtc(), windowDays: config().claims.windowDays, claimable: frq.remaining, resubmission: false }));
      const now = new Date().toISOString();
      const claimId = newId('claim');
      const files = proofFiles(partnerId, claimId, input.proofOfPerformance, 0);
      const created = await createClaim(
        { claimId, partnerId, fundRequestId: frq.fundRequestId, period: frq.period, invoiceNumber: input.invoiceNumber, amount: input.amount, activityCompletedOn: input.activityCompletedOn, files, status: 'SUBMITTED', createdAt: now, updatedAt: now },
        actorOf(caller),
      );
      if (created === 'duplicate_invoice') throw conflict('duplicate_invoice', `Invoice ${input.invoiceNumber} was already claimed`);
      if (created === 'fund_request_not_approved') throw conflict('fund_request_not_approved', `Fund request ${frq.fundRequestId} is not APPROVED`);
      if (created === 'amount_exceeds_remaining') throw conflict('amount_exceeds_remaining', `Fund request ${frq.fundRequestId} does not have that much left`);
      await workflows.get().start('mdf-claim-review', { partnerId, claimId, timeouts: timeouts() }, claimId);
      return json(202, { claimId, status: 'SUBMITTED', uploads: await uploadsFor(files) });
    },
  },
  'GET /partners/{partnerId}/claims': {
    auth: ['partner', ...READERS],
    handle: async (req) => {
      requirePartnerAccess(req.caller, req.params.partnerId!, READERS);
      const items = statusFilter(await listClaims(req.params.partnerId!), req.query, CLAIM_STATUSES);
      return json(200, { claims: items.map((c) => claimView(c)) });
    },
  },
  'GET /partners/{partnerId}/claims/{claimId}': {
    auth: ['partner', ...READERS],
    handle: async (req) => {
      requirePartnerAccess(req.caller, req.params.partnerId!, READERS, { what: 'Claim' });
      // The record and its history side by side: one round trip; the history is dropped unless the claim is this partner's.
      const [claim, history] = await Promise.all([getClaim(req.params.partnerId!, req.params.claimId!), readHistory(`CLM#${req.params.claimId!}`)]);
      if (!claim) throw notFound('Claim');
      return json(200, claimView(claim, history));
    },
  },
  'PUT /partners/{partnerId}/claims/{claimId}': {
    auth: ['partner'],
    body: ClaimResubmissionSchema,
    handle: async (req) => {
      const partnerId = req.params.partnerId!;
      const caller = requirePartnerAccess(req.caller, partnerId, [], { what: 'Claim' });
      const claim = await ownClaim(partnerId, req.params.claimId!);
      if (claim.status !== 'CHANGES_REQUESTED' || !claim.resubmitToken) {
        throw conflict('claim_not_awaiting_changes', `Claim ${claim.claimId} is ${claim.status}; only a claim in CHANGES_REQUESTED can be resubmitted`);
      }
      const input = req.body as ClaimResubmission;
      const amount = input.amount ?? claim.amount;
      const activityCompletedOn = input.activityCompletedOn ?? claim.activityCompletedOn;
      const frq = await getFundRequest(partnerId, claim.fundRequestId);
      if (!frq) throw notFound('Fund request');
      // What the claim holds is in the fund request's inClaim: it may be claimed again.
      refuse(claimRefusal({ amount, activityCompletedOn }, frq, { today: todayUtc(), windowDays: config().claims.windowDays, claimable: frq.remaining + claim.amount.amount, resubmission: true }));
      const round = claim.files.reduce((max, f) => Math.max(max, Number(f.key.split('/').pop()!.split('-')[0]) || 0), 0) + 1;
      const files = input.proofOfPerformance ? proofFiles(partnerId, claim.claimId, input.proofOfPerformance, round) : claim.files;
      const outcome = await resubmitClaim(claim, { amount, activityCompletedOn, files }, actorOf(caller), input.comment);
      if (outcome === 'amount_exceeds_remaining') throw conflict('amount_exceeds_remaining', 'The fund request does not have that much left');
      if (outcome === 'not_awaiting') throw conflict('claim_not_awaiting_changes', 'The claim is no longer waiting for changes');
      try {
        await workflows.get().sendTaskSuccess(claim.resubmitToken, { resubmitted: true });
      } catch (error) {
        if (!(error instanceof TaskClosedError)) throw error;
        throw conflict('claim_review_closed', 'The review of this claim had already ended');
      }
      return json(202, { claimId: claim.claimId, status: 'IN_REVIEW', uploads: input.proofOfPerformance ? await uploadsFor(files) : [] });
    },
  },
});

function refuse(refusal: ClaimRefusal | FundRequestRefusal | undefined): void {
  if (refusal) throw new AppError(refusal.status, refusal.code, refusal.message);
}
