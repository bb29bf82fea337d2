import { actorOf, hasRole, PARTNER_ROLES, PARTNER_ROUTE_ROLES, STAFF_ROLES, requireCaller, requirePartnerAccess, type Caller } from '../core/auth.ts';
import { ROUTES, routeKey } from '../catalog.ts';
import { AppError, conflict, notFound } from '../core/errors.ts';
import { html, page } from '../core/html.ts';
import { httpApi, json, parseWith, wantsHtml, type Reply } from '../core/http.ts';
import { userDirectory } from './directory.ts';
import { wouldRemoveLastAdmin, type PartnerUser } from './model.ts';
import { AcceptSchema, ChannelManagerSchema, InviteSchema, RoleChangeSchema, UserListQuerySchema } from './schema.ts';
import { redeemInvitation, inviteUser } from './service.ts';
import { activeAdmins, assignChannelManager, changeRole, channelManagerOf, disableUser, getUser, listUsers, userBySub } from './store.ts';

/** Staff who may see a partner's people; only admins (and the partner's own admins) change them. */
const USER_READERS = ['channel_manager', 'admin'] as const;

function view(u: PartnerUser) {
  return {
    userId: u.userId,
    partnerId: u.partnerId,
    email: u.email,
    ...(u.name ? { name: u.name } : {}),
    role: u.role,
    status: u.status.toLowerCase(),
    invitedBy: u.invitedBy,
    invitedAt: u.invitedAt,
    ...(u.activatedAt ? { activatedAt: u.activatedAt } : {}),
    ...(u.disabledAt ? { disabledAt: u.disabledAt, disabledBy: u.disabledBy } : {}),
  };
}

async function ownUser(partnerId: string, userId: string): Promise<PartnerUser> {
  const user = await getUser(partnerId, userId);
  if (!user) throw notFound('User');
  return user;
}

async function refuseLastAdmin(user: PartnerUser, change: Parameters<typeof wouldRemoveLastAdmin>[2]) {
  if (user.role !== 'partner_admin') return;
  if (wouldRemoveLastAdmin(await activeAdmins(user.partnerId), user.userId, change)) {
    throw conflict('last_partner_admin', 'A partner keeps at least one partner_admin: make someone else partner_admin first');
  }
}

/** Route keys the caller may call (for GET /me): by role, and for partner users by their role inside the partner. */
function mayCall(caller: Caller): string[] {
  const held = caller.groups.filter((g) => (PARTNER_ROLES as readonly string[]).includes(g));
  // The legacy `partner` group (when no role inside the partner is held) has every partner right.
  const partnerRoles = held.length ? held : caller.groups.includes('partner') ? ['partner_admin'] : [];
  const staff = hasRole(caller, STAFF_ROLES);
  return ROUTES.filter((r) => r.auth === 'jwt')
    .map(routeKey)
    .filter((key) => {
      const allowed = PARTNER_ROUTE_ROLES[key];
      if (allowed && partnerRoles.some((r) => r === 'partner_admin' || (allowed as readonly string[]).includes(r))) return true;
      return staff;
    });
}

function acceptPage(invitationId: string, secret: string): string {
  return page(
    'Accept your invitation',
    html`<h1>Accept your invitation</h1><p>Accepting creates your sign-in for the partner portal. The link works once.</p>
<form method="post" action="/invitations/${invitationId}/accept"><input type="hidden" name="s" value="${secret}"><button type="submit">Accept</button></form>`,
  );
}

function acceptedPage(accepted: Awaited<ReturnType<typeof redeemInvitation>>): string {
  return page(
    'Invitation accepted',
    html`<h1 class="ok">Welcome</h1><p>${accepted.email} is now ${accepted.role} of ${accepted.partnerId}.</p>${
      accepted.token
        ? html`<p>Your bearer token (local runtime):</p><pre style="white-space:pre-wrap;word-break:break-all">${accepted.token}</pre>`
        : html`<p>Sign in with the temporary password we emailed you.</p>`
    }`,
  );
}

export const handler = httpApi({
  'GET /me': {
    auth: ['partner', 'partner_admin', 'partner_sales', 'partner_finance', 'channel_manager', 'marketing_director', 'finance', 'admin'],
    handle: async (req) => {
      const caller = requireCaller(req.caller);
      const user = await userBySub(caller.sub);
      return json(200, {
        sub: caller.sub,
        email: caller.email,
        // `partner` is implied for a partner user whose role allows the route (core/auth.ts); show the roles held.
        roles: caller.groups.filter((g, i, all) => all.indexOf(g) === i && !(g === 'partner' && all.some((r) => (PARTNER_ROLES as readonly string[]).includes(r)))),
        ...(caller.partnerId ? { partnerId: caller.partnerId } : {}),
        ...(user ? { user: view(user) } : {}),
        may: mayCall(caller),
      });
    },
  },
  'POST /partners/{partnerId}/users': {
    auth: ['partner', 'admin'],
    body: InviteSchema,
    handle: async (req) => {
      const partnerId = req.params.partnerId!;
      const caller = requirePartnerAccess(req.caller, partnerId, ['admin']);
      const body = req.body as { email: string; name?: string; role: PartnerUser['role'] };
      const result = await inviteUser({ partnerId, email: body.email, ...(body.name ? { name: body.name } : {}), role: body.role, actor: actorOf(caller) });
      return json(result.created ? 201 : 200, view(result.user));
    },
  },
  'GET /partners/{partnerId}/users': {
    auth: ['partner', ...USER_READERS],
    handle: async (req) => {
      const partnerId = req.params.partnerId!;
      requirePartnerAccess(req.caller, partnerId, USER_READERS);
      const { limit, after } = parseWith(UserListQuerySchema, req.query, 'Query');
      const { users, next } = await listUsers(partnerId, limit, after);
      return json(200, { users: users.map(view), ...(next ? { next } : {}) });
    },
  },
  'PATCH /partners/{partnerId}/users/{userId}': {
    auth: ['partner', 'admin'],
    body: RoleChangeSchema,
    handle: async (req) => {
      const partnerId = req.params.partnerId!;
      const caller = requirePartnerAccess(req.caller, partnerId, ['admin']);
      const { role } = req.body as { role: PartnerUser['role'] };
      const user = await ownUser(partnerId, req.params.userId!);
      if (user.status === 'DISABLED') throw conflict('user_disabled', 'A disabled user keeps the role it had');
      if (user.role === role) return json(200, view(user));
      await refuseLastAdmin(user, { role });
      if (user.status === 'ACTIVE') await userDirectory.get().changeRole(user.email, user.role, role);
      if (!(await changeRole(user, role, actorOf(caller), new Date().toISOString()))) throw conflict('concurrent_update', 'The user changed meanwhile; read it again');
      return json(200, view({ ...user, role }));
    },
  },
  'DELETE /partners/{partnerId}/users/{userId}': {
    auth: ['partner', 'admin'],
    handle: async (req) => {
      const partnerId = req.params.partnerId!;
      const caller = requirePartnerAccess(req.caller, partnerId, ['admin']);
      const user = await ownUser(partnerId, req.params.userId!);
      if (user.status === 'DISABLED') return json(200, view(user));
      await refuseLastAdmin(user, { disable: true });
      const now = new Date().toISOString();
      if (!(await disableUser(user, user.status === 'INVITED' ? user.openInvitationId : undefined, actorOf(caller), now))) {
        throw conflict('concurrent_update', 'The user changed meanwhile; read it again');
      }
      // After the table: the API refuses the user from now on even if this call fails; a retry of DELETE repeats it.
      if (user.status === 'ACTIVE') await userDirectory.get().disable(user.email);
      return json(200, view({ ...user, status: 'DISABLED', disabledAt: now, disabledBy: actorOf(caller) }));
    },
  },
  'PUT /partners/{partnerId}/channel-manager': {
    auth: ['admin'],
    body: ChannelManagerSchema,
    handle: async (req) => {
      const partnerId = req.params.partnerId!;
      const { email } = req.body as { email: string };
      await assignChannelManager(partnerId, email.toLowerCase(), actorOf(req.caller), new Date().toISOString());
      return json(200, { partnerId, channelManager: await channelManagerOf(partnerId) });
    },
  },
  'GET /invitations/{invitationId}': {
    auth: 'public',
    // A GET never redeems: mail scanners open links before people do.
    handle: async (req): Promise<Reply> => ({ status: 200, html: acceptPage(req.params.invitationId!, req.query.s ?? '') }),
  },
  'POST /invitations/{invitationId}/accept': {
    auth: 'public',
    form: true,
    body: AcceptSchema,
    handle: async (req): Promise<Reply> => {
      try {
        const accepted = await redeemInvitation(req.params.invitationId!, (req.body as { s: string }).s);
        return wantsHtml(req.headers) ? { status: 200, html: acceptedPage(accepted) } : json(200, accepted);
      } catch (error) {
        if (error instanceof AppError && wantsHtml(req.headers)) return { status: error.status, html: page('Invitation not accepted', html`<h1 class="bad">Invitation not accepted</h1><p>${error.message}</p>`) };
        throw error;
      }
    },
  },
});
