import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/runtime.ts';
import { applicationBody, approvalLinkFor, client, eventually, startTestSystem, tokenFor, type Client } from '../support/system.ts';

const CM = 'channel.manager@example.com';

describe('partner application, end to end over HTTP', () => {
  let system: LocalSystem;
  let api: Client;
  let admin: string;

  beforeAll(async () => {
    system = await startTestSystem();
    api = client(system);
    admin = await tokenFor(system, ['admin'], 'admin@example.com');
  });
  afterAll(() => system?.stop());

  it('answers /health', async () => {
    expect(await api.get('/health')).toMatchObject({ status: 200, body: { status: 'ok' } });
  });

  it('submit → emailed link → GET changes nothing → POST approve → partner, budget and welcome email', async () => {
    const submitted = await api.post('/applications', applicationBody({ legalName: 'Acme <script>alert(1)</script>' }), { headers: { 'idempotency-key': 'acme-1' } });
    expect(submitted.status).toBe(202);
    const { applicationId } = submitted.body;
    expect(applicationId).toMatch(/^app_/);

    const replay = await api.post('/applications', applicationBody({ legalName: 'Acme <script>alert(1)</script>' }), { headers: { 'idempotency-key': 'acme-1' } });
    expect(replay.body.applicationId).toBe(applicationId);
    const reused = await api.post('/applications', applicationBody({ legalName: 'Other' }), { headers: { 'idempotency-key': 'acme-1' } });
    expect(reused.status).toBe(409);
    expect(reused.body.error.code).toBe('idempotency_key_reused');

    const link = await eventually(async () => approvalLinkFor(system, CM, applicationId));
    const email = system.outbox.all().find((m) => m.text.includes(link.approvalId))!;
    expect(email.html).not.toContain('<script>');
    expect(email.html).toContain('&lt;script&gt;');

    const page = await api.get(`/approvals/${link.approvalId}?t=${encodeURIComponent(link.token)}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.text).toContain(applicationId);
    expect(page.text).not.toContain('<script>alert(1)</script>');
    await api.raw(`/approvals/${link.approvalId}?t=${encodeURIComponent(link.token)}`, { method: 'HEAD' });
    expect((await api.get(`/applications/${applicationId}`, admin)).body.status).toBe('AWAITING_APPROVAL');

    const forged = await api.post(`/approvals/${link.approvalId}/decision`, { t: `${link.token.split('.')[0]}.${'A'.repeat(43)}`, decision: 'approve' });
    expect(forged.status).toBe(403);
    expect((await api.get(`/applications/${applicationId}`, admin)).body.status).toBe('AWAITING_APPROVAL');

    const decided = await api.post(`/approvals/${link.approvalId}/decision`, { t: link.token, decision: 'approve', comment: 'Welcome aboard' });
    expect(decided).toMatchObject({ status: 200, body: { approvalId: link.approvalId, status: 'APPROVED' } });
    const again = await api.post(`/approvals/${link.approvalId}/decision`, { t: link.token, decision: 'reject' });
    expect(again.status).toBe(409);

    const app = await eventually(async () => {
      const r = await api.get(`/applications/${applicationId}`, admin);
      return r.body.status === 'APPROVED' ? r.body : undefined;
    });
    expect(app.tier).toBe('gold');
    expect(app.decision).toMatchObject({ by: CM, comment: 'Welcome aboard' });
    expect(app.history.map((h: { toStatus: string }) => h.toStatus)).toEqual(['SUBMITTED', 'AWAITING_APPROVAL', 'APPROVED']);

    const partner = await api.get(`/partners/${app.partnerId}`, admin);
    expect(partner.body).toMatchObject({ partnerId: app.partnerId, status: 'ACTIVE', tier: 'gold', country: 'US', partnerType: 'reseller' });

    const welcome = await eventually(async () => system.outbox.all().find((m) => m.to.includes('ada@acme.example') && m.subject.startsWith('Welcome')));
    expect(welcome.text).toContain(app.partnerId);
    expect(welcome.text).toContain(applicationId);

    const execution = system.engine.list().find((e) => e.name === applicationId)!;
    expect((await system.engine.waitFor(execution.executionArn)).status).toBe('SUCCEEDED');
  });

  it('rejects a second application for the same tax id, naming the partner', async () => {
    const first = await api.post('/applications', applicationBody({ website: 'https://dup-one.example', taxId: '98-7654321' }));
    const link = await eventually(async () => approvalLinkFor(system, CM, first.body.applicationId));
    await api.post(`/approvals/${link.approvalId}/decision`, { t: link.token, decision: 'approve' });
    const approved = await eventually(async () => {
      const r = await api.get(`/applications/${first.body.applicationId}`, admin);
      return r.body.status === 'APPROVED' ? r.body : undefined;
    });

    const dup = await api.post('/applications', applicationBody({ website: 'https://dup-two.example', taxId: '987654321' }));
    const rejected = await eventually(async () => {
      const r = await api.get(`/applications/${dup.body.applicationId}`, admin);
      return r.body.status === 'REJECTED' ? r.body : undefined;
    });
    expect(rejected.decision.comment).toContain(approved.partnerId);
  });

  it('refuses bad input with 4xx and changes nothing', async () => {
    const invalid = await api.post('/applications', { company: { legalName: '' } });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.code).toBe('validation_failed');
    expect(invalid.body.error.details.length).toBeGreaterThan(0);
    expect((await api.post('/applications', '{not json')).status).toBe(400);
    const media = await api.raw('/applications', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    expect(media.status).toBe(415);
    const big = await api.post('/applications', { pad: 'x'.repeat(300 * 1024) });
    expect(big.status).toBe(413);
    const float = await api.post('/applications', { ...applicationBody(), businessPlan: { ...applicationBody().businessPlan, projectedAnnualRevenue: { amount: 10.5, currency: 'USD' } } });
    expect(float.status).toBe(400);
    expect(float.text).not.toMatch(/at .*\.ts/);
    expect((await api.get('/applications/app_01ARZ3NDEKTSV4RRFFQ69G5FAV')).status).toBe(401);
    const partner = await tokenFor(system, ['partner'], 'p@example.com', 'ptr_01ARZ3NDEKTSV4RRFFQ69G5FAV');
    expect((await api.get('/applications/app_01ARZ3NDEKTSV4RRFFQ69G5FAV', partner)).status).toBe(403);
    expect((await api.get('/partners/ptr_01ARZ3NDEKTSV4RRFFQ69G5FAW', partner)).status).toBe(404);
  });
});
