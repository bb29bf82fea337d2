import { actorOf, requirePartnerAccess } from '../core/auth.ts';
import { readHistory } from '../core/audit.ts';
import { approvalTimeouts, config } from '../core/config.ts';
import { notFound } from '../core/errors.ts';
import { httpApi, json } from '../core/http.ts';
import { anonymousScope } from '../core/idempotency.ts';
import { newId } from '../core/ids.ts';
import { workflows } from '../core/workflow-client.ts';
import { normaliseDomain, normaliseEmail, taxKey } from './model.ts';
import { ApplicationInputSchema, PayeeInputSchema, type ApplicationInput } from './schema.ts';
import { appKey, createApplication, getApplication, getPartner, setPayeeReference, type PartnerRecord } from './store.ts';

const partnerView = (p: PartnerRecord) => ({
  partnerId: p.partnerId,
  legalName: p.legalName,
  country: p.country,
  partnerType: p.partnerType,
  tier: p.tier,
  status: p.status,
  ...(p.payeeReference ? { payeeReference: p.payeeReference } : {}),
  createdAt: p.createdAt,
});

export const handler = httpApi({
  'POST /applications': {
    auth: 'public',
    body: ApplicationInputSchema,
    idempotent: true,
    // Anonymous: an Idempotency-Key is the applicant's (canonical contact email and tax id), not everyone's.
    idempotencyScope: (req) => {
      const input = req.body as ApplicationInput;
      return anonymousScope(normaliseEmail(input.contact.email), taxKey(input.company.country, input.company.taxId));
    },
    handle: async (req) => {
      const input = req.body as ApplicationInput;
      const now = new Date().toISOString();
      const applicationId = newId('application');
      await createApplication({
        ...input,
        contact: { ...input.contact, email: normaliseEmail(input.contact.email) },
        applicationId,
        status: 'SUBMITTED',
        taxKey: taxKey(input.company.country, input.company.taxId),
        domain: normaliseDomain(input.company.website),
        createdAt: now,
        updatedAt: now,
      });
      await workflows.get().start('partner-application', { applicationId, timeouts: approvalTimeouts() }, applicationId);
      return json(202, { applicationId, status: 'SUBMITTED' });
    },
  },
  'GET /applications/{applicationId}': {
    auth: ['channel_manager', 'admin'],
    handle: async (req) => {
      const app = await getApplication(req.params.applicationId!);
      if (!app) throw notFound('Application');
      return json(200, {
        applicationId: app.applicationId,
        status: app.status,
        company: app.company,
        partnerType: app.partnerType,
        ...(app.partnerId ? { partnerId: app.partnerId } : {}),
        ...(app.tier ? { tier: app.tier } : {}),
        ...(app.decision ? { decision: app.decision } : {}),
        createdAt: app.createdAt,
        history: await readHistory(appKey(app.applicationId).pk),
      });
    },
  },
  'GET /partners/{partnerId}': {
    auth: ['partner', 'channel_manager', 'finance', 'admin'],
    handle: async (req) => {
      const partnerId = req.params.partnerId!;
      requirePartnerAccess(req.caller, partnerId, ['channel_manager', 'finance', 'admin']);
      const partner = await getPartner(partnerId);
      if (!partner) throw notFound('Partner');
      return json(200, partnerView(partner));
    },
  },
  'PUT /partners/{partnerId}/payee': {
    auth: ['partner', 'finance'],
    body: PayeeInputSchema,
    handle: async (req) => {
      const partnerId = req.params.partnerId!;
      const caller = requirePartnerAccess(req.caller, partnerId, ['finance']);
      const partner = await setPayeeReference(partnerId, (req.body as { payeeReference: string }).payeeReference, actorOf(caller));
      if (!partner) throw notFound('Partner');
      return json(200, partnerView(partner));
    },
  },
});

