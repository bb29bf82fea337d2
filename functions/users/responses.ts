import * as z from 'zod';
import { PARTNER_ROLES, ROLES } from '../core/auth.ts';

export const PartnerUserSchema = z
  .object({
    userId: z.string(),
    partnerId: z.string(),
    email: z.string(),
    name: z.string().optional(),
    role: z.enum(PARTNER_ROLES),
    status: z.enum(['invited', 'active', 'disabled']),
    invitedBy: z.string(),
    invitedAt: z.string(),
    activatedAt: z.string().optional(),
    disabledAt: z.string().optional(),
    disabledBy: z.string().optional(),
  })
  .meta({ id: 'PartnerUser' });

export const PartnerUserListSchema = z.object({ users: z.array(PartnerUserSchema), next: z.string().optional() });

export const MeSchema = z.object({
  sub: z.string(),
  email: z.string(),
  roles: z.array(z.enum(ROLES)),
  partnerId: z.string().optional(),
  user: PartnerUserSchema.optional(),
  /** Route keys ("POST /partners/{partnerId}/claims") the caller may call. */
  may: z.array(z.string()),
});

export const InvitationAcceptedSchema = z.object({
  userId: z.string(),
  partnerId: z.string(),
  email: z.string(),
  role: z.enum(PARTNER_ROLES),
  /** Locally only: a bearer token for the new user. */
  token: z.string().optional(),
});

export const ChannelManagerViewSchema = z.object({
  partnerId: z.string(),
  channelManager: z.object({ email: z.string(), assignedBy: z.string(), assignedAt: z.string() }).optional(),
});
