import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PARTNER_ROUTE_ROLES, type Role } from '../../functions/core/auth.ts';
import { ROUTES, routeKey } from '../../functions/catalog.ts';
import type { LocalSystem } from '../../local/runtime.ts';
import { contractChecked } from '../support/api-client.ts';
import { claimBody, decide, fundRequestBody, uploadAll } from '../support/mdf.ts';
import { applicationBody, approvalLinkFor, client, eventually, startTestSystem, tokenFor, type Client } from '../support/system.ts';

const CM = 'channel.manager@example.com';
/** The channel manager of partners in Germany (config rule), who is not the one who approves applications. */
const DE_MANAGER = 'dana.de@example.com';

describe('partner users over HTTP: invitations, roles, own channel manager, disable', () => {
  let system: LocalSystem;
  let api: Client;
  let admin: string;

  beforeAll(async () => {
    system = await startTestSystem({ config: { channelManagersByCountry: { DE: DE_MANAGER }, claims: { uploadPollSeconds: 1 } } as never });
    // Every response of this suite is checked against docs/openapi.json.
    api = contractChecked(client(system));
    admin = await tokenFor(system, ['admin'], 'admin@example.com');
  });
  afterAll(async () => system?.stop());

  const patch = (path: string, body: unknown, token: string) => api.raw(path, { method: 'PATCH', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  const del = (path: string, token: string) => api.raw(path, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });

  function invitationFor(email: string) {
    const message = [...system.outbox.all()].reverse().find((m) => m.to.includes(email) && m.text.includes('/invitations/'));
    const match = message?.text.match(/\/invitations\/(inv_[0-9A-Z]+)\?s=(\S+)/);
    return match ? { invitationId: match[1]!, secret: decodeURIComponent(match[2]!) } : undefined;
  }

  async function accept(email: string) {
    const invitation = await eventually(async () => invitationFor(email));
    const res = await api.post(`/invitations/${invitation.invitationId}/accept`, { s: invitation.secret });
    expect(res.status, res.text).toBe(200);
    return { ...invitation, token: res.body.token as string, userId: res.body.userId as string };
  }

  /** Apply (German company) → the channel manager approves → an ACTIVE partner whose contact is invited as partner_admin. */
  async function approvedPartner() {
    const tag = ulid().toLowerCase();
    const email = `owner-${tag}@dealer-${tag}.example`;
    const applied = await api.post('/applications', applicationBody({ website: `https://dealer-${tag}.example`, taxId: `DE-${tag}`, email, country: 'DE' }));
    expect(applied.status).toBe(202);
    const applicationId = applied.body.applicationId as string;
    const link = await eventually(async () => approvalLinkFor(system, CM, applicationId));
    expect((await api.post(`/approvals/${link.approvalId}/decision`, { t: link.token, decision: 'approve' })).status).toBe(200);
    const app = await eventually(async () => {
      const res = await api.get(`/applications/${applicationId}`, admin);
      return res.body.status === 'APPROVED' ? res.body : undefined;
    });
    return { partnerId: app.partnerId as string, ownerEmail: email };
  }

  it('the curl tour: apply → approve → owner accepts → invites a sales colleague → their claim is approved by the partner’s own channel manager → disabled, refused', async () => {
    const { partnerId, ownerEmail } = await approvedPartner();
    const owner = await accept(ownerEmail);

    const me = await api.get('/me', owner.token);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ email: ownerEmail, partnerId, roles: ['partner_admin'], user: { role: 'partner_admin', status: 'active' } });
    expect(me.body.may).toContain('POST /partners/{partnerId}/users');

    const colleagueEmail = `Sales.Rep@${ownerEmail.split('@')[1]}`;
    const invited = await api.post(`/partners/${partnerId}/users`, { email: colleagueEmail, role: 'partner_sales', name: 'Sam Sales' }, { token: owner.token });
    expect(invited.status, invited.text).toBe(201);
    expect(invited.body).toMatchObject({ email: colleagueEmail.toLowerCase(), role: 'partner_sales', status: 'invited', invitedBy: ownerEmail });
    // Re-inviting the same person (another spelling) is idempotent: the same user, no second invitation.
    const again = await api.post(`/partners/${partnerId}/users`, { email: colleagueEmail.toUpperCase(), role: 'partner_sales' }, { token: owner.token });
    expect(again.status).toBe(200);
    expect(again.body.userId).toBe(invited.body.userId);
    expect(system.outbox.all().filter((m) => m.to.includes(colleagueEmail.toLowerCase()) && m.text.includes('/invitations/'))).toHaveLength(1);

    const sales = await accept(colleagueEmail.toLowerCase());
    const salesMe = await api.get('/me', sales.token);
    expect(salesMe.body.roles).toEqual(['partner_sales']);
    expect(salesMe.body.may).toContain('POST /partners/{partnerId}/claims');
    expect(salesMe.body.may).not.toContain('PUT /partners/{partnerId}/payee');
    expect(salesMe.body.may).not.toContain('POST /partners/{partnerId}/users');
    // A sales user runs MDF but cannot manage people or the payee.
    expect((await api.get(`/partners/${partnerId}/users`, sales.token)).status).toBe(403);
    expect((await api.put(`/partners/${partnerId}/payee`, { payeeReference: 'IBAN-X' }, { token: sales.token })).status).toBe(403);

    const frq = await api.post(`/partners/${partnerId}/fund-requests`, fundRequestBody(200_000), { token: sales.token });
    expect(frq.status, frq.text).toBe(202);
    const fundRequestId = frq.body.fundRequestId as string;
    await decide(system, api, DE_MANAGER, fundRequestId, { decision: 'approve' });
    expect(approvalLinkFor(system, CM, fundRequestId)).toBeUndefined();
    await eventually(async () => (await api.get(`/partners/${partnerId}/fund-requests/${fundRequestId}`, sales.token)).body.status === 'APPROVED');

    const claim = await api.post(`/partners/${partnerId}/claims`, claimBody(fundRequestId, 150_000, `INV-${ulid()}`), { token: sales.token });
    expect(claim.status, claim.text).toBe(202);
    await uploadAll(claim.body.uploads);
    const claimId = claim.body.claimId as string;
    await decide(system, api, DE_MANAGER, claimId, { decision: 'approve' });
    const approved = await eventually(async () => {
      const res = await api.get(`/partners/${partnerId}/claims/${claimId}`, sales.token);
      return res.body.status === 'APPROVED' ? res.body : undefined;
    });
    expect(approved.history.at(-1).actor).toBe(DE_MANAGER);
    expect(approvalLinkFor(system, CM, claimId)).toBeUndefined();

    // The admin disables the colleague: the very next call with their still unexpired token is refused.
    const disabled = await del(`/partners/${partnerId}/users/${sales.userId}`, admin);
    expect(disabled.status, disabled.text).toBe(200);
    expect(disabled.body).toMatchObject({ status: 'disabled', disabledBy: 'admin@example.com', email: colleagueEmail.toLowerCase() });
    const refused = await api.get(`/partners/${partnerId}/claims/${claimId}`, sales.token);
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('user_disabled');
    // History keeps who they were.
    const list = await api.get(`/partners/${partnerId}/users`, owner.token);
    expect(list.body.users.find((u: { userId: string }) => u.userId === sales.userId)).toMatchObject({ name: 'Sam Sales', status: 'disabled' });
  });

  it('isolation and the rules: another partner’s users are 404, no staff roles, the last partner_admin stays, invitations are single-use and expire', async () => {
    const a = await approvedPartner();
    const b = await approvedPartner();
    const ownerA = await accept(a.ownerEmail);
    const ownerB = await accept(b.ownerEmail);

    expect((await api.get(`/partners/${b.partnerId}/users`, ownerA.token)).status).toBe(404);
    expect((await api.post(`/partners/${b.partnerId}/users`, { email: `x-${ulid()}@e.example`, role: 'partner_sales' }, { token: ownerA.token })).status).toBe(404);
    expect((await patch(`/partners/${b.partnerId}/users/${ownerB.userId}`, { role: 'partner_sales' }, ownerA.token)).status).toBe(404);
    expect((await del(`/partners/${b.partnerId}/users/${ownerB.userId}`, ownerA.token)).status).toBe(404);
    // A user id of partner B under partner A's path is not found either.
    expect((await del(`/partners/${a.partnerId}/users/${ownerB.userId}`, ownerA.token)).status).toBe(404);

    const staff = await api.post(`/partners/${a.partnerId}/users`, { email: `boss-${ulid()}@e.example`, role: 'admin' }, { token: ownerA.token });
    expect(staff.status).toBe(400);
    // One person, one user: B's owner cannot be invited into A.
    const taken = await api.post(`/partners/${a.partnerId}/users`, { email: b.ownerEmail, role: 'partner_sales' }, { token: ownerA.token });
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe('email_in_use');

    const last = await patch(`/partners/${a.partnerId}/users/${ownerA.userId}`, { role: 'partner_finance' }, ownerA.token);
    expect(last.status).toBe(409);
    expect(last.body.error.code).toBe('last_partner_admin');
    expect((await del(`/partners/${a.partnerId}/users/${ownerA.userId}`, admin)).body.error.code).toBe('last_partner_admin');

    // Single use: the owner's invitation cannot be redeemed again; a forged secret is not found.
    const reused = await api.post(`/invitations/${ownerA.invitationId}/accept`, { s: ownerA.secret });
    expect(reused.status).toBe(409);
    expect(reused.body.error.code).toBe('invitation_used');
    const forged = await api.post(`/invitations/${ownerA.invitationId}/accept`, { s: 'x'.repeat(43) });
    expect(forged.status).toBe(404);

    // A disabled invitee's link no longer works.
    const finance = `fin-${ulid().toLowerCase()}@e.example`;
    const inv = await api.post(`/partners/${a.partnerId}/users`, { email: finance, role: 'partner_finance' }, { token: ownerA.token });
    expect((await del(`/partners/${a.partnerId}/users/${inv.body.userId}`, ownerA.token)).status).toBe(200);
    const link = invitationFor(finance)!;
    const revoked = await api.post(`/invitations/${link.invitationId}/accept`, { s: link.secret });
    expect(revoked.status).toBe(410);
    // The page behind the emailed link never redeems on GET (mail scanners).
    const page = await api.get(`/invitations/${link.invitationId}?s=${encodeURIComponent(link.secret)}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<form');
  });

  it('route × role: every partner route answers allowed / 403 (own partner, role not allowed) / 404 (another partner) for each role inside a partner', async () => {
    const own = 'ptr_01JZ0000000000000000000000';
    const other = 'ptr_01JZ9999999999999999999999';
    const partnerRoutes = ROUTES.filter((r) => r.path.startsWith('/partners/{partnerId}') && PARTNER_ROUTE_ROLES[routeKey(r)]);
    expect(partnerRoutes.length).toBeGreaterThan(10);
    const table: string[] = [];
    for (const role of ['partner_admin', 'partner_sales', 'partner_finance'] as Role[]) {
      const token = await tokenFor(system, [role], `${role}@table.example`, own);
      for (const route of partnerRoutes) {
        const path = (partnerId: string) => route.path.replace('{partnerId}', partnerId).replace(/\{(\w+)\}/g, (_, name: string) => `${name}-x`);
        const call = (partnerId: string) => api.raw(path(partnerId), { method: route.method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(route.method === 'GET' || route.method === 'DELETE' ? {} : { body: '{}' }) });
        const allowed = PARTNER_ROUTE_ROLES[routeKey(route)]!.includes(role as never) || role === 'partner_admin';
        const ownStatus = (await call(own)).status;
        const otherStatus = (await call(other)).status;
        table.push(`${routeKey(route).padEnd(58)} ${role.padEnd(16)} own ${ownStatus} other ${otherStatus}`);
        // Allowed: the route's own answer (400 for the empty body, 404 for the made-up record), never 403.
        if (allowed) expect(ownStatus, `${role} ${routeKey(route)}`).not.toBe(403);
        else expect(ownStatus, `${role} ${routeKey(route)}`).toBe(403);
        expect(otherStatus, `${role} ${routeKey(route)} on another partner`).toBe(404);
      }
    }
    console.log(`route × role (partner users):\n${table.join('\n')}`);
  });
});
