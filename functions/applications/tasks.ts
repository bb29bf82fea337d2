import { config, TIERS, type Tier } from '../core/config.ts';
import { publishEvent } from '../core/events.ts';
import { newId } from '../core/ids.ts';
import { formatDisplay, money } from '../core/money.ts';
import { taskHandler } from '../core/tasks.ts';
import type { ApprovalSummary } from '../approvals/model.ts';
import { sendEmail } from '../notifications/email.ts';
import { inviteUser } from '../users/service.ts';
import { assignChannelManager } from '../users/store.ts';
import { duplicateComment, quarterOf, tierForRevenue } from './model.ts';
import {
  closeApplication,
  findDuplicate,
  getApplication,
  markAwaitingApproval,
  provisionPartner,
  type ApplicationRecord,
  type PartnerRecord,
} from './store.ts';
import { recordMetric } from '../core/metrics.ts';

export interface ApproverDecision {
  approvalId: string;
  decision: 'approve' | 'reject' | 'request_changes';
  decidedBy: string;
  comment: string | null;
  tier: Tier | null;
}

async function load(applicationId: string): Promise<ApplicationRecord> {
  const app = await getApplication(applicationId);
  if (!app) throw Object.assign(new Error(`Application ${applicationId} not found`), { name: 'NotFound' });
  return app;
}

function summaryOf(app: ApplicationRecord): ApprovalSummary {
  const suggested = tierForRevenue(app.businessPlan.projectedAnnualRevenue, config());
  return {
    title: `Partner application from ${app.company.legalName}`,
    lines: [
      { label: 'Application', value: app.applicationId },
      { label: 'Company', value: app.company.legalName },
      { label: 'Website', value: app.company.website },
      { label: 'Country', value: app.company.country },
      { label: 'Tax id', value: app.company.taxId },
      { label: 'Partner type', value: app.partnerType },
      { label: 'Contact', value: `${app.contact.name} <${app.contact.email}>` },
      { label: 'Target segments', value: app.businessPlan.targetSegments.join(', ') },
      { label: 'Projected annual revenue', value: formatDisplay(app.businessPlan.projectedAnnualRevenue) },
      { label: 'Marketing plan', value: app.businessPlan.marketingPlan },
      { label: 'Suggested tier', value: suggested },
    ],
    tierChoices: { options: [...TIERS], suggested },
  };
}

async function tellApplicant(app: ApplicationRecord, subject: string, paragraphs: string[]) {
  await sendEmail({ to: [app.contact.email], subject: `${subject} (${app.applicationId})`, paragraphs: [`Dear ${app.contact.name},`, ...paragraphs] });
}

/**
 * Duplicate check; a duplicate ends REJECTED at once, otherwise the application awaits approval.
 * The result always has every field the ASL's ResultSelector names (AWS fails on a missing path).
 */
async function screen(input: { applicationId: string }) {
  const app = await load(input.applicationId);
  if (app.status !== 'SUBMITTED' && app.status !== 'AWAITING_APPROVAL') return { outcome: 'closed', summary: null };
  const now = new Date().toISOString();
  let duplicate = await findDuplicate(app);
  if (!duplicate && !(await markAwaitingApproval(app, now))) duplicate = await findDuplicate(app);
  if (duplicate) {
    const comment = duplicateComment(duplicate);
    const latest = await load(app.applicationId);
    const closed = await closeApplication(latest, 'REJECTED', { actor: 'screening', action: 'rejected_duplicate', comment, now, decision: { by: 'screening', at: now, comment } });
    if (!closed) return { outcome: 'closed', summary: null };
    await tellApplicant(app, 'Your partner application', [
      `Thank you for applying to our partner program. We could not accept application ${app.applicationId}: ${comment}.`,
      'If you believe this is a mistake, reply to this email.',
    ]);
    return { outcome: 'duplicate', summary: null };
  }
  return { outcome: 'awaiting_approval', summary: summaryOf(app) };
}

async function provision(app: ApplicationRecord, decision: ApproverDecision) {
  const cfg = config();
  const tier = decision.tier ?? tierForRevenue(app.businessPlan.projectedAnnualRevenue, cfg);
  const now = new Date();
  const partner: PartnerRecord = {
    partnerId: newId('partner'),
    legalName: app.company.legalName,
    country: app.company.country,
    partnerType: app.partnerType,
    tier,
    status: 'ACTIVE',
    contactEmail: app.contact.email,
    contactName: app.contact.name,
    applicationId: app.applicationId,
    createdAt: now.toISOString(),
  };
  const budget = { period: quarterOf(now), allocated: money(cfg.tierQuarterlyBudget[tier], cfg.budgetCurrency) };
  const outcome = await provisionPartner(app, partner, budget, { by: decision.decidedBy, at: partner.createdAt, ...(decision.comment ? { comment: decision.comment } : {}) });
  if (!outcome.ok) {
    const latest = await load(app.applicationId);
    if (latest.status === 'APPROVED') return { status: 'APPROVED', partnerId: latest.partnerId };
    // Another application won the same tax id or domain in a concurrent approval.
    const duplicate = await findDuplicate(latest);
    const comment = duplicate ? duplicateComment(duplicate) : 'Duplicate of an existing partner';
    await closeApplication(latest, 'REJECTED', { actor: 'provisioning', action: 'rejected_duplicate', comment, now: new Date().toISOString(), decision: { by: 'provisioning', at: new Date().toISOString(), comment } });
    await tellApplicant(latest, 'Your partner application', [`We could not accept application ${app.applicationId}: ${comment}.`]);
    return { status: 'REJECTED' };
  }
  await publishEvent('ApplicationApproved', app.applicationId, 'APPROVED', partner.partnerId);
  recordMetric('ApplicationsApproved');
  await tellApplicant(app, 'Welcome to the partner program', [
    `Your application ${app.applicationId} was approved. Your partner id is ${partner.partnerId}, at the ${tier} tier.`,
    `Your market development funds budget for ${budget.period} is ${formatDisplay(budget.allocated)}.`,
  ]);
  // The partner's own channel manager (by country rule, else whoever approved) and its first user.
  // Both are idempotent, so a retried task repeats them harmlessly.
  const manager = cfg.channelManagersByCountry[app.company.country] ?? decision.decidedBy;
  await assignChannelManager(partner.partnerId, manager.toLowerCase(), 'provisioning', new Date().toISOString());
  await inviteUser({ partnerId: partner.partnerId, partnerName: app.company.legalName, email: app.contact.email, name: app.contact.name, role: 'partner_admin', actor: 'provisioning' });
  return { status: 'APPROVED', partnerId: partner.partnerId };
}

async function decide(input: { applicationId: string; decision: ApproverDecision }) {
  const app = await load(input.applicationId);
  if (app.status === 'APPROVED') return { status: 'APPROVED', partnerId: app.partnerId };
  if (app.status !== 'AWAITING_APPROVAL') return { status: app.status };
  if (input.decision.decision === 'approve') return provision(app, input.decision);
  const now = new Date().toISOString();
  const comment = input.decision.comment ?? undefined;
  await closeApplication(app, 'REJECTED', {
    actor: input.decision.decidedBy,
    action: 'rejected',
    now,
    ...(comment ? { comment } : {}),
    decision: { by: input.decision.decidedBy, at: now, ...(comment ? { comment } : {}) },
  });
  await publishEvent('ApplicationRejected', app.applicationId, 'REJECTED');
  await tellApplicant(app, 'Your partner application', [
    `Thank you for applying. After review, application ${app.applicationId} was not accepted.`,
    ...(comment ? [`The reviewer's comment: ${comment}`] : []),
  ]);
  return { status: 'REJECTED' };
}

async function expire(input: { applicationId: string }) {
  const app = await load(input.applicationId);
  if (app.status !== 'AWAITING_APPROVAL' && app.status !== 'SUBMITTED') return { status: app.status };
  await closeApplication(app, 'EXPIRED', { actor: 'workflow', action: 'expired', comment: 'No decision before the deadline, after escalation', now: new Date().toISOString() });
  await tellApplicant(app, 'Your partner application', [
    `We are sorry: application ${app.applicationId} could not be reviewed in time and has expired. You are welcome to apply again.`,
  ]);
  return { status: 'EXPIRED' };
}

/** Last resort of the workflow's Catch: the application ends in a known status and an admin is told. */
async function fail(input: { applicationId: string; error?: { Error?: string; Cause?: string } }) {
  const app = await getApplication(input.applicationId);
  if (!app || (app.status !== 'AWAITING_APPROVAL' && app.status !== 'SUBMITTED')) return { status: app?.status ?? 'UNKNOWN' };
  const reason = `${input.error?.Error ?? 'Error'}: ${String(input.error?.Cause ?? '').slice(0, 500)}`;
  await closeApplication(app, 'FAILED', { actor: 'workflow', action: 'failed', comment: reason, now: new Date().toISOString() });
  await sendEmail({ to: [config().approvers.escalation], subject: `Application ${app.applicationId} failed`, paragraphs: [`The workflow for ${app.applicationId} stopped on an error and the application was marked FAILED.`, reason] });
  return { status: 'FAILED' };
}

export const handler = taskHandler({ screen, decide, expire, fail });
