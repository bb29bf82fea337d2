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

  describe('hardening: group claims, the origin of approval decisions, anonymous idempotency keys', () => {

    const submit = async (n: string, key?: string) => {
      const res = await api.post('/applications', applicationBody({ legalName: `Hardening ${n}`, website: `https://hardening-${n}.example`, taxId: `HD-${n}`, email: `owner@hardening-${n}.example` }), key ? { headers: { 'idempotency-key': key } } : {});
      return res;
    };

    const pendingLink = async (n: string) => {
      const submitted = await submit(n);
      expect(submitted.status).toBe(202);
      const link = await eventually(async () => approvalLinkFor(system, CM, submitted.body.applicationId));
      return { ...link, applicationId: submitted.body.applicationId as string };
    };

    const form = (link: { token: string }, decision: string) => new URLSearchParams({ t: link.token, decision }).toString();

    it('a token whose group name has a comma is refused, not read as several roles', async () => {
      const token = await system.token({ sub: 'comma', email: 'comma@example.com', groups: ['partner,admin' as never] });
      const res = await api.get('/approvals?status=PENDING', token);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('invalid_groups_claim');
      expect((await api.get('/approvals?status=PENDING', admin)).status).toBe(200);
    });

    it('a decision POSTed from a foreign Origin (or Origin: null) is refused with 403 foreign_origin and decides nothing', async () => {
      const link = await pendingLink('origin1');
      for (const origin of ['https://evil.example', 'null', system.url.replace('http:', 'https:'), 'http://127.0.0.1:1']) {
        const json = await api.post(`/approvals/${link.approvalId}/decision`, { t: link.token, decision: 'approve' }, { headers: { origin } });
        expect(json.status, origin).toBe(403);
        expect(json.body.error.code).toBe('foreign_origin');
        const html = await api.raw(`/approvals/${link.approvalId}/decision`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
          body: form(link, 'approve'),
        });
        expect(html.status, origin).toBe(403);
        expect(html.headers.get('content-type')).toContain('text/html');
      }
      expect((await api.get(`/applications/${link.applicationId}`, admin)).body.status).toBe('AWAITING_APPROVAL');
      const page = await api.get(`/approvals/${link.approvalId}?t=${encodeURIComponent(link.token)}`);
      expect(page.status).toBe(200);
    });

    it("the page's own origin passes, and so does a request without Origin (not a browser)", async () => {
      const own = await pendingLink('origin2');
      const decided = await api.raw(`/approvals/${own.approvalId}/decision`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: system.url },
        body: form(own, 'approve'),
      });
      expect(decided.status).toBe(200);
      expect(decided.text).toContain('Decision recorded');

      const bare = await pendingLink('origin3');
      const res = await api.post(`/approvals/${bare.approvalId}/decision`, { t: bare.token, decision: 'reject' });
      expect(res).toMatchObject({ status: 200, body: { status: 'REJECTED' } });
    });

    it('an anonymous Idempotency-Key belongs to its applicant: another applicant with the same key gets an answer of its own', async () => {
      const first = await submit('idem-a', 'shared-key-1');
      expect(first.status).toBe(202);
      const other = await submit('idem-b', 'shared-key-1');
      expect(other.status).toBe(202);
      expect(other.headers.get('idempotent-replayed')).toBeNull();
      expect(other.body.applicationId).not.toBe(first.body.applicationId);
      // Each applicant's own retry still replays its own answer.
      const retryA = await submit('idem-a', 'shared-key-1');
      expect(retryA.headers.get('idempotent-replayed')).toBe('true');
      expect(retryA.body.applicationId).toBe(first.body.applicationId);
      const retryB = await submit('idem-b', 'shared-key-1');
      expect(retryB.body.applicationId).toBe(other.body.applicationId);
    });
  });
});
