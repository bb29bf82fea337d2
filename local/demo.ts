import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '../functions/core/config.ts';
import { ddb, tableName } from '../functions/core/ddb.ts';
import { newId } from '../functions/core/ids.ts';
import { money } from '../functions/core/money.ts';
import { normaliseDomain, quarterOf, taxKey } from '../functions/applications/model.ts';
import { createApplication, markAwaitingApproval, provisionPartner, type ApplicationRecord } from '../functions/applications/store.ts';
import type { LocalSystem } from './runtime.ts';

export interface Demo {
  partnerId: string;
  legalName: string;
  tokens: { partner: string; admin: string; finance: string; channelManager: string };
}

const MARKER = { pk: 'LOCAL#DEMO', sk: 'SEED' };

/** An approved demo partner (gold, with this quarter's budget), created once through the same store code. */
export async function seedDemo(system: LocalSystem): Promise<Demo> {
  const existing = (await ddb().send(new GetCommand({ TableName: tableName(), Key: MARKER }))).Item;
  let partnerId = existing?.partnerId as string | undefined;
  const legalName = 'Demo Reseller GmbH';
  if (!partnerId) {
    const now = new Date().toISOString();
    const website = 'https://demo-reseller.example';
    const app: ApplicationRecord = {
      applicationId: newId('application'),
      company: { legalName, website, country: 'DE', taxId: 'DE999999999' },
      contact: { name: 'Dana Demo', email: 'dana@demo-reseller.example' },
      partnerType: 'reseller',
      businessPlan: { targetSegments: ['mid-market'], projectedAnnualRevenue: money(200_000_000, 'USD'), marketingPlan: 'Events and webinars' },
      status: 'SUBMITTED',
      taxKey: taxKey('DE', 'DE999999999'),
      domain: normaliseDomain(website),
      createdAt: now,
      updatedAt: now,
    };
    await createApplication(app);
    await markAwaitingApproval(app, now);
    const pid = newId('partner');
    const outcome = await provisionPartner(
      { ...app, status: 'AWAITING_APPROVAL' },
      { partnerId: pid, legalName, country: 'DE', partnerType: 'reseller', tier: 'gold', status: 'ACTIVE', contactEmail: app.contact.email, contactName: app.contact.name, applicationId: app.applicationId, createdAt: now },
      { period: quarterOf(new Date()), allocated: money(config().tierQuarterlyBudget.gold, config().budgetCurrency) },
      { by: 'demo-seed', at: now, comment: 'Demo data' },
    );
    if (!outcome.ok) throw new Error('Could not seed the demo partner');
    partnerId = pid;
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
    },
  };
}
