import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/runtime.ts';
import { applicationBody, approvalLinkFor, client, eventually, startTestSystem, tokenFor, type Client } from '../support/system.ts';

const CM = 'channel.manager@example.com';

/** Security hardening over HTTP: group claims, the origin of approval decisions, idempotency keys of anonymous callers. */
describe('hardening over HTTP', () => {
  let system: LocalSystem;
  let api: Client;
  let admin: string;

  beforeAll(async () => {
    system = await startTestSystem();
    api = client(system);
    admin = await tokenFor(system, ['admin'], 'admin@example.com');
  });
  afterAll(() => system?.stop());

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
