import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { config, type Tier } from '../functions/core/config.ts';
import { ddb, tableName } from '../functions/core/ddb.ts';
import { newId } from '../functions/core/ids.ts';
import { money } from '../functions/core/money.ts';
import { normaliseDomain, quarterOf, taxKey } from '../functions/applications/model.ts';
import { createApplication, markAwaitingApproval, provisionPartner, type ApplicationRecord } from '../functions/applications/store.ts';
import { inviteUser } from '../functions/users/service.ts';
import { assignChannelManager } from '../functions/users/store.ts';
import type { LocalSystem } from './runtime.ts';

export interface Demo {
  partnerId: string;
  legalName: string;
  tokens: { partner: string; admin: string; finance: string; channelManager: string; partnerSales: string; partnerFinance: string };
}

/** The demo partner's people: its owner (partner_admin) and two colleagues, invited through the same service the API uses. */
export const DEMO_USERS = [
  { email: 'dana@demo-reseller.example', name: 'Dana Demo', role: 'partner_admin' },
  { email: 'sam.sales@demo-reseller.example', name: 'Sam Sales', role: 'partner_sales' },
  { email: 'fin@demo-reseller.example', name: 'Fran Finance', role: 'partner_finance' },
] as const;

export interface DirectPartner {
  slug: string;
  legalName?: string;
  tier?: Tier;
  payeeReference?: string;
  country?: string;
  taxId?: string;
  contact?: { name: string; email: string };
  actor?: string;
}

/**
 * An ACTIVE partner with this quarter's budget, provisioned through the same store code an approved
 * application takes (no workflow, no email). For demo data, tests and benchmarks.
 */
export async function provisionPartnerDirectly(opts: DirectPartner): Promise<{ partnerId: string; contactEmail: string; legalName: string }> {
  const now = new Date().toISOString();
  const website = `https://${opts.slug}.example`;
  const contactEmail = opts.contact?.email ?? `owner@${opts.slug}.example`;
  const contactName = opts.contact?.name ?? 'Pat Partner';
  const taxId = opts.taxId ?? opts.slug;
  const legalName = opts.legalName ?? `Partner ${opts.slug}`;
  const country = opts.country ?? 'US';
  const tier = opts.tier ?? 'gold';
  const app: ApplicationRecord = {
    applicationId: newId('application'),
    company: { legalName, website, country, taxId },
    contact: { name: contactName, email: contactEmail },
    partnerType: 'reseller',
    businessPlan: { targetSegments: ['smb'], projectedAnnualRevenue: money(200_000_000, 'USD'), marketingPlan: 'Webinars' },
    status: 'SUBMITTED',
    taxKey: taxKey(country, taxId),
    domain: normaliseDomain(website),
    createdAt: now,
    updatedAt: now,
  };
  await createApplication(app);
  await markAwaitingApproval(app, now);
  const partnerId = newId('partner');
  const outcome = await provisionPartner(
    { ...app, status: 'AWAITING_APPROVAL' },
    { partnerId, legalName, country, partnerType: 'reseller', tier, status: 'ACTIVE', contactEmail, contactName, applicationId: app.applicationId, ...(opts.payeeReference ? { payeeReference: opts.payeeReference } : {}), createdAt: now },
    { period: quarterOf(new Date()), allocated: money(config().tierQuarterlyBudget[tier], config().budgetCurrency) },
    { by: opts.actor ?? 'seed', at: now },
  );
  if (!outcome.ok) throw new Error(`Could not provision partner ${opts.slug}`);
  return { partnerId, contactEmail, legalName };
}

const MARKER = { pk: 'LOCAL#DEMO', sk: 'SEED' };

/** An approved demo partner (gold, with this quarter's budget), created once through the same store code. */
export async function seedDemo(system: LocalSystem): Promise<Demo> {
  const existing = (await ddb().send(new GetCommand({ TableName: tableName(), Key: MARKER }))).Item;
  let partnerId = existing?.partnerId as string | undefined;
  const legalName = 'Demo Reseller GmbH';
  if (!partnerId) {
    ({ partnerId } = await provisionPartnerDirectly({ slug: 'demo-reseller', legalName, country: 'DE', taxId: 'DE999999999', contact: { name: 'Dana Demo', email: 'dana@demo-reseller.example' }, actor: 'demo-seed' }));
    await assignChannelManager(partnerId, config().approvers.channelManager, 'demo-seed', new Date().toISOString());
    for (const user of DEMO_USERS) await inviteUser({ partnerId, partnerName: legalName, email: user.email, name: user.name, role: user.role, actor: 'demo-seed' });
    await ddb().send(new PutCommand({ TableName: tableName(), Item: { ...MARKER, partnerId } }));
  }
  const cfg = config();
  return {
    partnerId,
    legalName,
    tokens: {
      partner: await system.token({ sub: 'demo-partner-user', email: 'dana@demo-reseller.example', groups: ['partner'], partnerId }),
      admin: await system.token({ sub: 'demo-admin', email: cfg.approvers.escalation, groups: ['admin'] }),
      finance: await system.token({ sub: 'demo-finance', email: cfg.approvers.finance, groups: ['finance'] }),
      channelManager: await system.token({ sub: 'demo-cm', email: cfg.approvers.channelManager, groups: ['channel_manager'] }),
      partnerSales: await system.token({ sub: 'demo-partner-sales', email: DEMO_USERS[1].email, groups: ['partner_sales'], partnerId }),
      partnerFinance: await system.token({ sub: 'demo-partner-finance', email: DEMO_USERS[2].email, groups: ['partner_finance'], partnerId }),
    },
  };
}
