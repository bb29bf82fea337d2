import { PARTNER_ROLES, type PartnerRole } from '../core/auth.ts';
import { canonicalIdentifier } from '../core/text.ts';

export type UserStatus = 'INVITED' | 'ACTIVE' | 'DISABLED';

/** A person at a partner. Their sign-in (Cognito, or the local stand-in) is created when they accept the invitation. */
export interface PartnerUser {
  userId: string;
  partnerId: string;
  /** Canonical (NFKC, case-folded): one person, one user. */
  email: string;
  name?: string;
  role: PartnerRole;
  status: UserStatus;
  invitedBy: string;
  invitedAt: string;
  /** The sign-in's subject once the invitation was accepted (tokens carry it as `sub`). */
  sub?: string;
  activatedAt?: string;
  disabledAt?: string;
  disabledBy?: string;
  /** The invitation still to be redeemed (INVITED users). */
  openInvitationId?: string;
  updatedAt: string;
}

export interface Invitation {
  invitationId: string;
  userId: string;
  partnerId: string;
  email: string;
  /** SHA-256 (hex) of the secret in the emailed link; the secret itself is never stored. */
  secretHash: string;
  expiresAt: string;
  status: 'OPEN' | 'ACCEPTED' | 'REVOKED';
}

export const canonicalEmail = (email: string) => canonicalIdentifier(email);

export const isPartnerRole = (role: string): role is PartnerRole => (PARTNER_ROLES as readonly string[]).includes(role);

/** How long an invitation link works. */
export const INVITATION_DAYS = 7;

export function invitationExpiry(now: Date, days = INVITATION_DAYS): string {
  return new Date(now.getTime() + days * 24 * 3600 * 1000).toISOString();
}

export type InvitationCheck = { ok: true } | { ok: false; status: 404 | 409 | 410; code: string; message: string };

/** Whether a presented invitation secret may be redeemed now (the hash comparison is the caller's). */
export function checkInvitation(invitation: Invitation | undefined, secretMatches: boolean, now: Date): InvitationCheck {
  if (!invitation || !secretMatches) return { ok: false, status: 404, code: 'not_found', message: 'Invitation not found' };
  if (invitation.status === 'ACCEPTED') return { ok: false, status: 409, code: 'invitation_used', message: 'This invitation was already accepted' };
  if (invitation.status === 'REVOKED') return { ok: false, status: 410, code: 'invitation_revoked', message: 'This invitation was withdrawn' };
  if (Date.parse(invitation.expiresAt) <= now.getTime()) return { ok: false, status: 410, code: 'invitation_expired', message: 'This invitation has expired; ask your partner administrator for a new one' };
  return { ok: true };
}

/**
 * The partner must keep at least one active (or invited) partner_admin: a change that would leave it
 * with none is refused. `admins` are the partner's users with role partner_admin that are not disabled.
 */
export function wouldRemoveLastAdmin(admins: readonly Pick<PartnerUser, 'userId'>[], userId: string, change: { role?: PartnerRole; disable?: boolean }): boolean {
  const losesAdmin = change.disable === true || (change.role !== undefined && change.role !== 'partner_admin');
  return losesAdmin && admins.length === 1 && admins[0]!.userId === userId;
}
