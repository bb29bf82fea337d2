import { exactly, heading, round, sleep, table, targetsTable, type PartResult, type Target } from './lib/report.ts';
import {
  APPROVERS,
  applyAndApprove,
  approvalLink,
  expectStatus,
  finished,
  fundedRequest,
  quarterNow,
  submitClaim,
  submitFundRequest,
  uploadAll,
  type Bench,
  startBench,
} from './lib/system.ts';

/**
 * Concurrency: many requests at once against money that fits only some of them, through the HTTP
 * API with the real workflows, approvals by emailed link, and the settlements that move the money.
 *  A. 200 claims submitted at once against one fund request that fits 20; the accepted ones are
 *     approved by the channel manager, all decisions at once, so the settlements race too.
 *  B. 200 fund requests against one budget that fits 20, all approved at once: the reservations race.
 * Overspend is read back from the records themselves (sums of approved amounts), not only from the
 * ledger's counters.
 */
const REQUESTS = Number(process.env.BENCH_CONCURRENCY_REQUESTS ?? 200);
const FITS = 20;
const CLAIM = 60_000; // 600.00 USD: one channel-manager approval for a gold partner
const FUND_REQUEST = 100_000; // 1,000.00 USD

/** One approval link per record id, once every one of them has been emailed. */
async function linksFor(b: Bench, approver: string, ids: string[], timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const links = new Map(ids.map((id) => [id, approvalLink(b, approver, id)] as const));
    if ([...links.values()].every(Boolean)) return links as Map<string, NonNullable<ReturnType<typeof approvalLink>>>;
    if (Date.now() > deadline) throw new Error(`only ${[...links.values()].filter(Boolean).length} of ${ids.length} approval emails arrived`);
    await sleep(200);
  }
}

const histogram = (codes: string[]) => Object.entries(codes.reduce<Record<string, number>>((h, c) => ((h[c] = (h[c] ?? 0) + 1), h), {})).map(([k, v]) => `${k} x${v}`).join(', ');

async function claimsRace(b: Bench) {
  const partner = await applyAndApprove(b);
  const fundRequestId = await fundedRequest(b, partner, FITS * CLAIM);
  const t0 = performance.now();
  const replies = await Promise.all(Array.from({ length: REQUESTS }, () => submitClaim(b, partner, fundRequestId, CLAIM, { upload: false })));
  const submitMs = performance.now() - t0;
  const accepted = replies.filter((r) => r.status === 202);
  const refused = replies.filter((r) => r.status !== 202).map((r) => `${r.status} ${r.body?.error?.code ?? ''}`.trim());
  await Promise.all(accepted.map((r) => uploadAll(b, r.body.uploads)));
  const ids = accepted.map((r) => r.body.claimId as string);
  const links = await linksFor(b, APPROVERS.channelManager, ids);
  const decisions = await Promise.all(ids.map((id) => b.call('POST', `/approvals/${links.get(id)!.approvalId}/decision`, { body: { t: links.get(id)!.token, decision: 'approve' } })));
  for (const id of ids) await finished(b, id);

  const frq = expectStatus(await b.call('GET', `/partners/${partner.partnerId}/fund-requests/${fundRequestId}`, { token: partner.token }), 200, 'GET fund request').body;
  const claims = expectStatus(await b.call('GET', `/partners/${partner.partnerId}/claims`, { token: partner.token }), 200, 'GET claims').body.claims as { status: string; approvedAmount?: { amount: number } }[];
  const approved = claims.filter((c) => c.status === 'APPROVED');
  const approvedSum = approved.reduce((s, c) => s + (c.approvedAmount?.amount ?? 0), 0);
  const limit = frq.approvedAmount.amount as number;
  const budget = expectStatus(await b.call('GET', `/partners/${partner.partnerId}/budgets/${quarterNow()}`, { token: partner.token }), 200, 'GET budget').body;
  const budgetOver = Math.max(0, (budget.reserved.amount as number) + (budget.approved.amount as number) - (budget.allocated.amount as number)) + Math.max(0, -(budget.available.amount as number));
  return {
    submitted: REQUESTS,
    fits: FITS,
    accepted: accepted.length,
    refused: histogram(refused),
    decisions: histogram(decisions.map((d) => String(d.status))),
    approved: approved.length,
    approvedSum,
    limit,
    ledger: { claimed: frq.claimed.amount as number, inClaim: frq.inClaim.amount as number, remaining: frq.remaining.amount as number, budgetApproved: budget.approved.amount as number, budgetAvailable: budget.available.amount as number },
    overspend: Math.max(0, approvedSum - limit) + Math.max(0, (frq.claimed.amount as number) + (frq.inClaim.amount as number) - limit) + budgetOver,
    submitSeconds: round(submitMs / 1000, 1),
  };
}

async function fundRequestsRace(b: Bench) {
  const partner = await applyAndApprove(b);
  const cm = await b.token(['channel_manager'], APPROVERS.channelManager);
  const period = quarterNow();
  expectStatus(await b.call('PUT', `/partners/${partner.partnerId}/budgets/${period}`, { token: cm, body: { allocated: { amount: FITS * FUND_REQUEST, currency: 'USD' } } }), 200, 'PUT budget');
  const submitted = await Promise.all(Array.from({ length: REQUESTS }, () => submitFundRequest(b, partner, FUND_REQUEST)));
  const links = await linksFor(b, APPROVERS.channelManager, submitted);
  const t0 = performance.now();
  const decisions = await Promise.all(submitted.map((id) => b.call('POST', `/approvals/${links.get(id)!.approvalId}/decision`, { body: { t: links.get(id)!.token, decision: 'approve' } })));
  for (const id of submitted) await finished(b, id);
  const decideMs = performance.now() - t0;

  const list = expectStatus(await b.call('GET', `/partners/${partner.partnerId}/fund-requests`, { token: partner.token }), 200, 'GET fund requests').body.fundRequests as { status: string; approvedAmount?: { amount: number } }[];
  const approved = list.filter((f) => f.status === 'APPROVED');
  const approvedSum = approved.reduce((s, f) => s + (f.approvedAmount?.amount ?? 0), 0);
  const budget = expectStatus(await b.call('GET', `/partners/${partner.partnerId}/budgets/${period}`, { token: partner.token }), 200, 'GET budget').body;
  const allocated = budget.allocated.amount as number;
  return {
    submitted: REQUESTS,
    fits: FITS,
    decisions: histogram(decisions.map((d) => String(d.status))),
    approved: approved.length,
    rejected: list.filter((f) => f.status === 'REJECTED').length,
    approvedSum,
    limit: allocated,
    ledger: { reserved: budget.reserved.amount as number, approved: budget.approved.amount as number, available: budget.available.amount as number },
    overspend: Math.max(0, approvedSum - allocated) + Math.max(0, (budget.reserved.amount as number) + (budget.approved.amount as number) - allocated) + Math.max(0, -(budget.available.amount as number)),
    decideSeconds: round(decideMs / 1000, 1),
  };
}

export async function run(): Promise<PartResult> {
  const t0 = performance.now();
  heading(`concurrency: ${REQUESTS} at once against money that fits ${FITS}`);
  const b = await startBench({ config: { claims: { uploadPollSeconds: 1 } } as never });
  try {
    const claims = await claimsRace(b);
    const frqs = await fundRequestsRace(b);
    console.log(
      table(
        ['race', 'at once', 'fit', 'accepted', 'approved', 'approved sum', 'limit', 'overspend', 'refused / decisions'],
        [
          [`claims on one fund request (${(CLAIM / 100).toFixed(2)} each)`, claims.submitted, claims.fits, claims.accepted, claims.approved, claims.approvedSum, claims.limit, claims.overspend, `refused: ${claims.refused}; decisions: ${claims.decisions}`],
          [`fund requests on one budget (${(FUND_REQUEST / 100).toFixed(2)} each)`, frqs.submitted, frqs.fits, frqs.submitted, frqs.approved, frqs.approvedSum, frqs.limit, frqs.overspend, `decisions: ${frqs.decisions}; ${frqs.rejected} REJECTED`],
        ],
        ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
      ),
    );
    console.log(`Amounts in minor units (USD cents). Fund request after the claims: ${JSON.stringify(claims.ledger)}; budget after the fund requests: ${JSON.stringify(frqs.ledger)}.`);
    const targets: Target[] = [exactly('overspend: claims racing on one fund request', claims.overspend, 0, 'USD minor units'), exactly('overspend: fund-request approvals racing on one budget', frqs.overspend, 0, 'USD minor units')];
    console.log(`\nTargets:\n${targetsTable(targets)}`);
    const notes: string[] = [];
    if (claims.overspend) notes.push(`claims: ${claims.approvedSum} approved against ${claims.limit} (ledger ${JSON.stringify(claims.ledger)}).`);
    if (frqs.overspend) notes.push(`fund requests: ${frqs.approvedSum} reserved against ${frqs.limit} (ledger ${JSON.stringify(frqs.ledger)}).`);
    if (claims.approved !== FITS) notes.push(`only ${claims.approved} of the ${FITS} claims that fit were approved (accepted ${claims.accepted}; refused: ${claims.refused}).`);
    if (frqs.approved !== FITS) notes.push(`only ${frqs.approved} of the ${FITS} fund requests that fit were approved.`);
    for (const n of notes) console.log(`NOTE: ${n}`);
    return { part: 'concurrency', targets, notes, raw: { claims, fundRequests: frqs }, seconds: round((performance.now() - t0) / 1000, 1) };
  } finally {
    await b.stop();
  }
}
