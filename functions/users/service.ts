import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { PartnerRole } from '../core/auth.ts';
import { config } from '../core/config.ts';
import { AppError, conflict } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { sendEmail } from '../notifications/email.ts';
import { userDirectory } from './directory.ts';
import { canonicalEmail, checkInvitation, invitationExpiry, type Invitation, type PartnerUser } from './model.ts';
import { acceptInvitation, createInvitedUser, getInvitation, getUser } from './store.ts';

const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

export function invitationLink(invitationId: string, secret: string): string {
  return `${config().baseUrl.replace(/\/$/, '')}/invitations/${encodeURIComponent(invitationId)}?s=${encodeURIComponent(secret)}`;
}

export interface InviteRequest {
  partnerId: string;
  partnerName?: string;
  email: string;
  name?: string;
  role: PartnerRole;
  actor: string;
}

export type InviteResult = { created: true; user: PartnerUser } | { created: false; user: PartnerUser };

/**
 * Invites a person into a partner: an INVITED user and a single-use invitation (7 days), emailed as a
 * link. Inviting an email that is already this partner's user answers that user (idempotent); an
 * email that belongs to another partner's user is refused without naming it.
 */
export async function inviteUser(request: InviteRequest, now = new Date()): Promise<InviteResult> {
  const email = canonicalEmail(request.email);
  const at = now.toISOString();
  const user: PartnerUser = {
    userId: newId('user'),
    partnerId: request.partnerId,
    email,
    ...(request.name ? { name: request.name } : {}),
    role: request.role,
    status: 'INVITED',
    invitedBy: request.actor,
    invitedAt: at,
    updatedAt: at,
  };
  const secret = randomBytes(32).toString('base64url');
  const invitation: Invitation = {
    invitationId: newId('invitation'),
    userId: user.userId,
    partnerId: user.partnerId,
    email,
    secretHash: hashSecret(secret),
    expiresAt: invitationExpiry(now),
    status: 'OPEN',
  };
  user.openInvitationId = invitation.invitationId;
  const outcome = await createInvitedUser(user, invitation, request.actor);
  if (!outcome.ok) {
    if (outcome.existing.partnerId !== request.partnerId) throw conflict('email_in_use', 'This email already belongs to a user of another partner');
    const existing = await getUser(outcome.existing.partnerId, outcome.existing.userId);
    if (!existing) throw new Error(`User lock without user: ${outcome.existing.userId}`);
    return { created: false, user: existing };
  }
  await sendEmail({
    to: [email],
    subject: `You are invited to ${request.partnerName ?? request.partnerId} on the partner portal`,
    paragraphs: [
      `${request.actor} invited you to ${request.partnerName ?? request.partnerId} as ${request.role.replace('partner_', '')}.`,
      `The link below works once, until ${invitation.expiresAt}. Accepting it creates your sign-in.`,
    ],
    facts: [
      { label: 'Partner', value: request.partnerId },
      { label: 'Role', value: request.role },
    ],
    action: { label: 'Accept the invitation', url: invitationLink(invitation.invitationId, secret) },
  });
  return { created: true, user };
}

export interface Accepted {
  userId: string;
  partnerId: string;
  email: string;
  role: PartnerRole;
  /** Locally: a bearer token for the new user (deployed, Cognito emails a temporary password instead). */
  token?: string;
}

/** Redeems an invitation once: creates the sign-in and activates the user. */
export async function redeemInvitation(invitationId: string, secret: string, now = new Date()): Promise<Accepted> {
  const invitation = await getInvitation(invitationId);
  const given = Buffer.from(hashSecret(secret));
  const matches = Boolean(invitation) && given.length === invitation!.secretHash.length && timingSafeEqual(given, Buffer.from(invitation!.secretHash));
  const check = checkInvitation(invitation, matches, now);
  if (!check.ok) throw new AppError(check.status, check.code, check.message);
  const user = await getUser(invitation!.partnerId, invitation!.userId);
  if (!user || user.status !== 'INVITED') throw new AppError(410, 'invitation_revoked', 'This invitation no longer leads to an active user');
  const signIn = await userDirectory.get().createSignIn({ email: user.email, partnerId: user.partnerId, role: user.role });
  if (!(await acceptInvitation(invitation!, signIn.sub, now.toISOString()))) throw conflict('invitation_used', 'This invitation was already accepted');
  return { userId: user.userId, partnerId: user.partnerId, email: user.email, role: user.role, ...(signIn.token ? { token: signIn.token } : {}) };
}
