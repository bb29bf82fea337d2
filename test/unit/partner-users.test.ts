import { describe, expect, it } from 'vitest';
import { partnerCallerFor, type Caller } from '../../functions/core/auth.ts';
import { AppError } from '../../functions/core/errors.ts';
import { canonicalEmail, checkInvitation, invitationExpiry, wouldRemoveLastAdmin, type Invitation } from '../../functions/users/model.ts';

const caller = (groups: Caller['groups'], partnerId = 'ptr_A'): Caller => ({ sub: 's', email: 'e@x.example', groups, partnerId });
const statusOf = (fn: () => unknown) => {
  try {
    fn();
    return 'allowed';
  } catch (error) {
    return (error as AppError).status;
  }
};

describe('roles inside a partner (partnerCallerFor)', () => {
  it('partner_admin and the legacy partner group act as `partner`; sales and finance only where the table allows', () => {
    expect(partnerCallerFor(caller(['partner_admin']), 'PUT /partners/{partnerId}/payee', 'ptr_A')!.groups).toContain('partner');
    expect(partnerCallerFor(caller(['partner']), 'POST /partners/{partnerId}/users', 'ptr_A')!.groups).toEqual(['partner']);
    expect(partnerCallerFor(caller(['partner_finance']), 'PUT /partners/{partnerId}/payee', 'ptr_A')!.groups).toContain('partner');
    expect(statusOf(() => partnerCallerFor(caller(['partner_sales']), 'PUT /partners/{partnerId}/payee', 'ptr_A'))).toBe(403);
    expect(statusOf(() => partnerCallerFor(caller(['partner_finance']), 'POST /partners/{partnerId}/claims', 'ptr_A'))).toBe(403);
    expect(statusOf(() => partnerCallerFor(caller(['partner_sales']), 'POST /partners/{partnerId}/users', 'ptr_A'))).toBe(403);
  });

  it('another partner’s path is 404 for every partner role, allowed or not; staff are untouched', () => {
    for (const groups of [['partner'], ['partner_admin'], ['partner_sales'], ['partner_finance']] as Caller['groups'][]) {
      expect(statusOf(() => partnerCallerFor(caller(groups), 'GET /partners/{partnerId}/claims', 'ptr_B'))).toBe(404);
      expect(statusOf(() => partnerCallerFor(caller(groups), 'PUT /partners/{partnerId}/payee', 'ptr_B'))).toBe(404);
    }
    const admin = caller(['admin'], undefined);
    expect(partnerCallerFor(admin, 'GET /partners/{partnerId}/claims', 'ptr_B')).toBe(admin);
  });

  it('a route no partner role is listed for is refused to sales and finance', () => {
    expect(statusOf(() => partnerCallerFor(caller(['partner_sales']), 'POST /payout-runs', undefined))).toBe(403);
  });
});

describe('partner user rules', () => {
  it('one person, one user: emails are canonical (case, NFKC fullwidth, zero-width)', () => {
    expect(canonicalEmail('Ada@Example.COM')).toBe('ada@example.com');
    expect(canonicalEmail('ａｄａ@example.com')).toBe('ada@example.com');
    expect(canonicalEmail('a\u200Bda@example.com')).toBe('ada@example.com');
  });

  it('the last partner_admin can be neither demoted nor disabled; another admin can', () => {
    const one = [{ userId: 'usr_1' }];
    expect(wouldRemoveLastAdmin(one, 'usr_1', { role: 'partner_sales' })).toBe(true);
    expect(wouldRemoveLastAdmin(one, 'usr_1', { disable: true })).toBe(true);
    expect(wouldRemoveLastAdmin(one, 'usr_1', { role: 'partner_admin' })).toBe(false);
    expect(wouldRemoveLastAdmin([...one, { userId: 'usr_2' }], 'usr_1', { disable: true })).toBe(false);
  });

  it('invitations: unknown or wrong secret 404, used 409, withdrawn or expired 410', () => {
    const now = new Date('2026-12-04T12:00:00Z');
    const open: Invitation = { invitationId: 'inv_1', userId: 'usr_1', partnerId: 'ptr_A', email: 'a@x.example', secretHash: 'h', expiresAt: invitationExpiry(now), status: 'OPEN' };
    expect(checkInvitation(open, true, now)).toEqual({ ok: true });
    expect(checkInvitation(open, false, now)).toMatchObject({ status: 404 });
    expect(checkInvitation(undefined, true, now)).toMatchObject({ status: 404 });
    expect(checkInvitation({ ...open, status: 'ACCEPTED' }, true, now)).toMatchObject({ status: 409, code: 'invitation_used' });
    expect(checkInvitation({ ...open, status: 'REVOKED' }, true, now)).toMatchObject({ status: 410 });
    expect(checkInvitation(open, true, new Date(now.getTime() + 7 * 86_400_000))).toMatchObject({ status: 410, code: 'invitation_expired' });
    expect(checkInvitation(open, true, new Date(now.getTime() + 7 * 86_400_000 - 1))).toEqual({ ok: true });
  });
});
