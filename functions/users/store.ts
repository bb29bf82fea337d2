import { GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { auditPut } from '../core/audit.ts';
import type { PartnerRole } from '../core/auth.ts';
import { ddb, tableName, transactUnlessRefused } from '../core/ddb.ts';
import { failedConditionIndexes, isConditionFailure } from '../core/errors.ts';
import { forgetRevocations, revocationPut } from '../core/revocations.ts';
import type { Invitation, PartnerUser } from './model.ts';

/*
 * Access patterns (users context)
 * - a partner's users, paginated:   pk = PUSERS#<partnerId>, sk begins_with USER#<userId>
 * - their history:                  pk = PUSERS#<partnerId>, sk begins_with HIST#
 * - the partner's channel manager:  pk = PUSERS#<partnerId>, sk = CHANNEL_MANAGER
 * - one person, one user:           pk = USEREMAIL#<canonical email>, sk = LOCK  ({ partnerId, userId })
 * - the user behind a token:        pk = USERSUB#<sub>, sk = META  ({ partnerId, userId })
 * - an invitation:                  pk = INVITE#<invitationId>, sk = META
 */
const partnerPk = (partnerId: string) => `PUSERS#${partnerId}`;
const userKey = (partnerId: string, userId: string) => ({ pk: partnerPk(partnerId), sk: `USER#${userId}` });
const emailKey = (email: string) => ({ pk: `USEREMAIL#${email}`, sk: 'LOCK' });
const subKey = (sub: string) => ({ pk: `USERSUB#${sub}`, sk: 'META' });
const inviteKey = (invitationId: string) => ({ pk: `INVITE#${invitationId}`, sk: 'META' });
const managerKey = (partnerId: string) => ({ pk: partnerPk(partnerId), sk: 'CHANNEL_MANAGER' });

const strip = <T>(item: Record<string, unknown>): T => {
  const { pk: _p, sk: _s, type: _t, ...rest } = item;
  return rest as T;
};

export type InviteOutcome = { ok: true } | { ok: false; existing: { partnerId: string; userId: string } };

/** A new INVITED user, the email lock and the invitation, with the audit entry; refused when the email already has a user. */
export async function createInvitedUser(user: PartnerUser, invitation: Invitation, actor: string): Promise<InviteOutcome> {
  const items = [
    { Put: { TableName: tableName(), Item: { ...emailKey(user.email), type: 'userEmail', partnerId: user.partnerId, userId: user.userId }, ConditionExpression: 'attribute_not_exists(pk)' } },
    { Put: { TableName: tableName(), Item: { ...userKey(user.partnerId, user.userId), type: 'partnerUser', ...user }, ConditionExpression: 'attribute_not_exists(pk)' } },
    { Put: { TableName: tableName(), Item: { ...inviteKey(invitation.invitationId), type: 'invitation', ...invitation }, ConditionExpression: 'attribute_not_exists(pk)' } },
    auditPut(partnerPk(user.partnerId), { at: user.invitedAt, actor, action: 'user_invited', fromStatus: null, toStatus: 'INVITED', comment: `${user.email} (${user.userId}) as ${user.role}` }),
  ];
  try {
    await ddb().send(new TransactWriteCommand({ TransactItems: items }));
    return { ok: true };
  } catch (error) {
    if (isConditionFailure(error) && failedConditionIndexes(error).includes(0)) {
      const lock = await ddb().send(new GetCommand({ TableName: tableName(), Key: emailKey(user.email), ConsistentRead: true }));
      if (lock.Item) return { ok: false, existing: { partnerId: String(lock.Item.partnerId), userId: String(lock.Item.userId) } };
    }
    throw error;
  }
}

export async function getUser(partnerId: string, userId: string): Promise<PartnerUser | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: tableName(), Key: userKey(partnerId, userId), ConsistentRead: true }));
  return out.Item ? strip<PartnerUser>(out.Item) : undefined;
}

export async function userBySub(sub: string): Promise<PartnerUser | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: tableName(), Key: subKey(sub), ConsistentRead: true }));
  return out.Item ? getUser(String(out.Item.partnerId), String(out.Item.userId)) : undefined;
}

export async function getInvitation(invitationId: string): Promise<Invitation | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: tableName(), Key: inviteKey(invitationId), ConsistentRead: true }));
  return out.Item ? strip<Invitation>(out.Item) : undefined;
}

/** A page of a partner's users in id order; `after` is the last userId of the previous page. */
export async function listUsers(partnerId: string, limit: number, after?: string): Promise<{ users: PartnerUser[]; next?: string }> {
  const out = await ddb().send(
    new QueryCommand({
      TableName: tableName(),
      KeyConditionExpression: after ? 'pk = :pk AND sk BETWEEN :from AND :to' : 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: after ? { ':pk': partnerPk(partnerId), ':from': `USER#${after}~`, ':to': 'USER#~' } : { ':pk': partnerPk(partnerId), ':prefix': 'USER#' },
      Limit: limit,
      ConsistentRead: true,
    }),
  );
  const users = (out.Items ?? []).map((i) => strip<PartnerUser>(i));
  return { users, ...(out.LastEvaluatedKey && users.length ? { next: users.at(-1)!.userId } : {}) };
}

/** The partner's users who hold partner_admin and are not disabled (few: read them all). */
export async function activeAdmins(partnerId: string): Promise<PartnerUser[]> {
  const admins: PartnerUser[] = [];
  let after: string | undefined;
  do {
    const page = await listUsers(partnerId, 500, after);
    admins.push(...page.users.filter((u) => u.role === 'partner_admin' && u.status !== 'DISABLED'));
    after = page.next;
  } while (after);
  return admins;
}

/** Redeems an OPEN invitation once: the user becomes ACTIVE with the sign-in's sub. False when it was no longer open. */
export async function acceptInvitation(invitation: Invitation, sub: string, now: string): Promise<boolean> {
  return transactUnlessRefused([
    { Update: { TableName: tableName(), Key: inviteKey(invitation.invitationId), UpdateExpression: 'SET #s = :accepted, acceptedAt = :now', ConditionExpression: '#s = :open', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':accepted': 'ACCEPTED', ':open': 'OPEN', ':now': now } } },
    { Update: { TableName: tableName(), Key: userKey(invitation.partnerId, invitation.userId), UpdateExpression: 'SET #s = :active, #sub = :sub, activatedAt = :now, updatedAt = :now', ConditionExpression: '#s = :invited', ExpressionAttributeNames: { '#s': 'status', '#sub': 'sub' }, ExpressionAttributeValues: { ':active': 'ACTIVE', ':invited': 'INVITED', ':sub': sub, ':now': now } } },
    { Put: { TableName: tableName(), Item: { ...subKey(sub), type: 'userSub', partnerId: invitation.partnerId, userId: invitation.userId } } },
    auditPut(partnerPk(invitation.partnerId), { at: now, actor: invitation.email, action: 'invitation_accepted', fromStatus: 'INVITED', toStatus: 'ACTIVE', comment: invitation.userId }),
  ]);
}

/** Changes a user's role if it is still `from` (optimistic); false when someone changed it meanwhile. */
export async function changeRole(user: PartnerUser, to: PartnerRole, actor: string, now: string): Promise<boolean> {
  return transactUnlessRefused([
    { Update: { TableName: tableName(), Key: userKey(user.partnerId, user.userId), UpdateExpression: 'SET #r = :to, updatedAt = :now', ConditionExpression: '#r = :from AND #s <> :disabled', ExpressionAttributeNames: { '#r': 'role', '#s': 'status' }, ExpressionAttributeValues: { ':to': to, ':from': user.role, ':disabled': 'DISABLED', ':now': now } } },
    auditPut(partnerPk(user.partnerId), { at: now, actor, action: 'user_role_changed', fromStatus: user.status, toStatus: user.status, comment: `${user.email} (${user.userId}): ${user.role} → ${to}` }),
  ]);
}

/**
 * Disables a user in one transaction: status DISABLED (name and history kept), its open invitation
 * no longer redeemable, and its sign-in's subject revoked so the API refuses its tokens at once.
 */
export async function disableUser(user: PartnerUser, openInvitationId: string | undefined, actor: string, now: string): Promise<boolean> {
  const ok = await transactUnlessRefused([
    { Update: { TableName: tableName(), Key: userKey(user.partnerId, user.userId), UpdateExpression: 'SET #s = :disabled, disabledAt = :now, disabledBy = :by, updatedAt = :now', ConditionExpression: '#s = :from', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':disabled': 'DISABLED', ':from': user.status, ':by': actor, ':now': now } } },
    ...(user.sub ? [revocationPut(user.sub, now, `user ${user.userId} disabled by ${actor}`)] : []),
    ...(openInvitationId ? [{ Update: { TableName: tableName(), Key: inviteKey(openInvitationId), UpdateExpression: 'SET #s = :revoked', ConditionExpression: 'attribute_exists(pk)', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':revoked': 'REVOKED' } } }] : []),
    auditPut(partnerPk(user.partnerId), { at: now, actor, action: 'user_disabled', fromStatus: user.status, toStatus: 'DISABLED', comment: `${user.email} (${user.userId})` }),
  ]);
  if (ok) forgetRevocations();
  return ok;
}

export interface ChannelManagerAssignment {
  email: string;
  assignedBy: string;
  assignedAt: string;
}

export async function assignChannelManager(partnerId: string, email: string, actor: string, now: string): Promise<void> {
  const current = await channelManagerOf(partnerId);
  await transactUnlessRefused([
    { Put: { TableName: tableName(), Item: { ...managerKey(partnerId), type: 'channelManager', email, assignedBy: actor, assignedAt: now } } },
    auditPut(partnerPk(partnerId), { at: now, actor, action: 'channel_manager_assigned', fromStatus: current?.email ?? null, toStatus: email }),
  ]);
}

export async function channelManagerOf(partnerId: string): Promise<ChannelManagerAssignment | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: tableName(), Key: managerKey(partnerId), ConsistentRead: true }));
  return out.Item ? { email: String(out.Item.email), assignedBy: String(out.Item.assignedBy), assignedAt: String(out.Item.assignedAt) } : undefined;
}
