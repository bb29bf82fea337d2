import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/runtime.ts';
import { apiClient, bearer, type ApiClient } from '../support/api-client.ts';
import { applicationBody, approvalLinkFor, client, eventually, startTestSystem, tokenFor, type Client } from '../support/system.ts';

const CM = 'channel.manager@example.com';

describe('partner application, end to end over HTTP', () => {
  let system: LocalSystem;
  let api: ApiClient;
  /** Untyped, for what a typed client cannot send: a HEAD, text/plain, broken JSON. */
  let raw: Client;
  let admin: string;

  beforeAll(async () => {
    system = await startTestSystem();
    api = apiClient(system);
    raw = client(system);
    admin = await tokenFor(system, ['admin'], 'admin@example.com');
  });
  afterAll(() => system?.stop());

  const submit = (body: ReturnType<typeof applicationBody>, key?: string) =>
    api.POST('/applications', { body, ...(key ? { params: { header: { 'Idempotency-Key': key } } } : {}) });
  const application = (applicationId: string) => api.GET('/applications/{applicationId}', { params: { path: { applicationId } }, headers: bearer(admin) });
  const approvalPage = (approvalId: string, t: string) => api.GET('/approvals/{approvalId}', { params: { path: { approvalId }, query: { t } }, parseAs: 'text' });
  const decideJson = (approvalId: string, body: { t: string; decision: 'approve' | 'reject' | 'request_changes'; comment?: string }, headers: Record<string, string> = {}) =>
    api.POST('/approvals/{approvalId}/decision', { params: { path: { approvalId } }, body, headers });

  it('answers /health', async () => {
    const health = await api.GET('/health');
    expect(health.response.status).toBe(200);
    expect(health.data).toEqual({ status: 'ok' });
  });

  it('submit → emailed link → GET changes nothing → POST approve → partner, budget and welcome email', async () => {
    const submitted = await submit(applicationBody({ legalName: 'Acme <script>alert(1)</script>' }), 'acme-1');
    expect(submitted.response.status).toBe(202);
    const applicationId = submitted.data!.applicationId;
    expect(applicationId).toMatch(/^app_/);

    const replay = await submit(applicationBody({ legalName: 'Acme <script>alert(1)</script>' }), 'acme-1');
    expect(replay.data!.applicationId).toBe(applicationId);
    const reused = await submit(applicationBody({ legalName: 'Other' }), 'acme-1');
    expect(reused.response.status).toBe(409);
    expect(reused.error!.error.code).toBe('idempotency_key_reused');

    const link = await eventually(async () => approvalLinkFor(system, CM, applicationId));
    const email = system.outbox.all().find((m) => m.text.includes(link.approvalId))!;
    expect(email.html).not.toContain('<script>');
    expect(email.html).toContain('&lt;script&gt;');

    const page = await approvalPage(link.approvalId, link.token);
    expect(page.response.status).toBe(200);
    expect(page.response.headers.get('content-type')).toContain('text/html');
    expect(page.data).toContain(applicationId);
    expect(page.data).not.toContain('<script>alert(1)</script>');
    await raw.raw(`/approvals/${link.approvalId}?t=${encodeURIComponent(link.token)}`, { method: 'HEAD' });
    expect((await application(applicationId)).data!.status).toBe('AWAITING_APPROVAL');

    const forged = await decideJson(link.approvalId, { t: `${link.token.split('.')[0]}.${'A'.repeat(43)}`, decision: 'approve' });
    expect(forged.response.status).toBe(403);
    expect((await application(applicationId)).data!.status).toBe('AWAITING_APPROVAL');

    const decided = await decideJson(link.approvalId, { t: link.token, decision: 'approve', comment: 'Welcome aboard' });
    expect(decided.response.status).toBe(200);
    expect(decided.data).toMatchObject({ approvalId: link.approvalId, status: 'APPROVED' });
    const again = await decideJson(link.approvalId, { t: link.token, decision: 'reject' });
    expect(again.response.status).toBe(409);

    const app = await eventually(async () => {
      const r = await application(applicationId);
      return r.data?.status === 'APPROVED' ? r.data : undefined;
    });
    expect(app.tier).toBe('gold');
    expect(app.decision).toMatchObject({ by: CM, comment: 'Welcome aboard' });
    expect(app.history.map((h) => h.toStatus)).toEqual(['SUBMITTED', 'AWAITING_APPROVAL', 'APPROVED']);

    const partner = await api.GET('/partners/{partnerId}', { params: { path: { partnerId: app.partnerId! } }, headers: bearer(admin) });
    expect(partner.data).toMatchObject({ partnerId: app.partnerId, status: 'ACTIVE', tier: 'gold', country: 'US', partnerType: 'reseller' });

    const welcome = await eventually(async () => system.outbox.all().find((m) => m.to.includes('ada@acme.example') && m.subject.startsWith('Welcome')));
    expect(welcome.text).toContain(app.partnerId);
    expect(welcome.text).toContain(applicationId);

    const execution = system.engine.list().find((e) => e.name === applicationId)!;
    expect((await system.engine.waitFor(execution.executionArn)).status).toBe('SUCCEEDED');
  });

  it('rejects a second application for the same tax id, naming the partner', async () => {
    const first = await submit(applicationBody({ website: 'https://dup-one.example', taxId: '98-7654321' }));
    const link = await eventually(async () => approvalLinkFor(system, CM, first.data!.applicationId));
    await decideJson(link.approvalId, { t: link.token, decision: 'approve' });
    const approved = await eventually(async () => {
      const r = await application(first.data!.applicationId);
      return r.data?.status === 'APPROVED' ? r.data : undefined;
    });

    const dup = await submit(applicationBody({ website: 'https://dup-two.example', taxId: '987654321' }));
    const rejected = await eventually(async () => {
      const r = await application(dup.data!.applicationId);
      return r.data?.status === 'REJECTED' ? r.data : undefined;
    });
    expect(rejected.decision!.comment).toContain(approved.partnerId);
  });

  it('refuses bad input with 4xx and changes nothing', async () => {
    const invalid = await api.POST('/applications', { body: { company: { legalName: '' } } as never });
    expect(invalid.response.status).toBe(400);
    expect(invalid.error!.error.code).toBe('validation_failed');
    expect(invalid.error!.error.details!.length).toBeGreaterThan(0);
    const broken = await api.POST('/applications', { body: '{not json' as never, bodySerializer: (b) => b as unknown as string });
    expect(broken.response.status).toBe(400);
    const media = await api.POST('/applications', { body: 'x' as never, bodySerializer: (b) => b as unknown as string, headers: { 'content-type': 'text/plain' } });
    expect(media.response.status).toBe(415);
    const big = await api.POST('/applications', { body: { pad: 'x'.repeat(300 * 1024) } as never });
    expect(big.response.status).toBe(413);
    const float = await api.POST('/applications', { body: { ...applicationBody(), businessPlan: { ...applicationBody().businessPlan, projectedAnnualRevenue: { amount: 10.5, currency: 'USD' } } } as never });
    expect(float.response.status).toBe(400);
    expect(JSON.stringify(float.error)).not.toMatch(/at .*\.ts/);
    const appId = 'app_01ARZ3NDEKTSV4RRFFQ69G5FAV';
    expect((await api.GET('/applications/{applicationId}', { params: { path: { applicationId: appId } } })).response.status).toBe(401);
    const partner = await tokenFor(system, ['partner'], 'p@example.com', 'ptr_01ARZ3NDEKTSV4RRFFQ69G5FAV');
    expect((await api.GET('/applications/{applicationId}', { params: { path: { applicationId: appId } }, headers: bearer(partner) })).response.status).toBe(403);
    expect((await api.GET('/partners/{partnerId}', { params: { path: { partnerId: 'ptr_01ARZ3NDEKTSV4RRFFQ69G5FAW' } }, headers: bearer(partner) })).response.status).toBe(404);
  });

  describe('hardening: group claims, the origin of approval decisions, anonymous idempotency keys', () => {
    const submitN = (n: string, key?: string) =>
      submit(applicationBody({ legalName: `Hardening ${n}`, website: `https://hardening-${n}.example`, taxId: `HD-${n}`, email: `owner@hardening-${n}.example` }), key);

    const pendingLink = async (n: string) => {
      const submitted = await submitN(n);
      expect(submitted.response.status).toBe(202);
      const link = await eventually(async () => approvalLinkFor(system, CM, submitted.data!.applicationId));
      return { ...link, applicationId: submitted.data!.applicationId };
    };

    const decideForm = (link: { approvalId: string; token: string }, decision: string, origin: string) =>
      api.POST('/approvals/{approvalId}/decision', {
        params: { path: { approvalId: link.approvalId } },
        // openapi-fetch writes a form body for this content type, as the approval page's form posts it.
        body: { t: link.token, decision },
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
        parseAs: 'text',
      });

    it('a token whose group name has a comma is refused, not read as several roles', async () => {
      const token = await system.token({ sub: 'comma', email: 'comma@example.com', groups: ['partner,admin' as never] });
      const res = await api.GET('/approvals', { params: { query: { status: 'PENDING' } }, headers: bearer(token) });
      expect(res.response.status).toBe(401);
      expect(res.error!.error.code).toBe('invalid_groups_claim');
      expect((await api.GET('/approvals', { params: { query: { status: 'PENDING' } }, headers: bearer(admin) })).response.status).toBe(200);
    });

    it('a decision POSTed from a foreign Origin (or Origin: null) is refused with 403 foreign_origin and decides nothing', async () => {
      const link = await pendingLink('origin1');
      for (const origin of ['https://evil.example', 'null', system.url.replace('http:', 'https:'), 'http://127.0.0.1:1']) {
        const json = await decideJson(link.approvalId, { t: link.token, decision: 'approve' }, { origin });
        expect(json.response.status, origin).toBe(403);
        expect((json.error as { error: { code: string } }).error.code).toBe('foreign_origin');
        const html = await decideForm(link, 'approve', origin);
        expect(html.response.status, origin).toBe(403);
        expect(html.response.headers.get('content-type')).toContain('text/html');
      }
      expect((await application(link.applicationId)).data!.status).toBe('AWAITING_APPROVAL');
      const page = await approvalPage(link.approvalId, link.token);
      expect(page.response.status).toBe(200);
    });

    it("the page's own origin passes, and so does a request without Origin (not a browser)", async () => {
      const own = await pendingLink('origin2');
      const decided = await decideForm(own, 'approve', system.url);
      expect(decided.response.status).toBe(200);
      expect(decided.data).toContain('Decision recorded');

      const bare = await pendingLink('origin3');
      const res = await decideJson(bare.approvalId, { t: bare.token, decision: 'reject' });
      expect(res.response.status).toBe(200);
      expect(res.data).toMatchObject({ status: 'REJECTED' });
    });

    it('an anonymous Idempotency-Key belongs to its applicant: another applicant with the same key gets an answer of its own', async () => {
      const first = await submitN('idem-a', 'shared-key-1');
      expect(first.response.status).toBe(202);
      const other = await submitN('idem-b', 'shared-key-1');
      expect(other.response.status).toBe(202);
      expect(other.response.headers.get('idempotent-replayed')).toBeNull();
      expect(other.data!.applicationId).not.toBe(first.data!.applicationId);
      // Each applicant's own retry still replays its own answer.
      const retryA = await submitN('idem-a', 'shared-key-1');
      expect(retryA.response.headers.get('idempotent-replayed')).toBe('true');
      expect(retryA.data!.applicationId).toBe(first.data!.applicationId);
      const retryB = await submitN('idem-b', 'shared-key-1');
      expect(retryB.data!.applicationId).toBe(other.data!.applicationId);
    });
  });
});
