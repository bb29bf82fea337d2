import * as z from 'zod';
import { PARTNER_ROLES } from '../core/auth.ts';
import { requiredText } from '../core/fields.ts';

const EmailSchema = z.string().trim().min(3).max(254).email('must be an email address');

export const InviteSchema = z.object({
  email: EmailSchema,
  name: requiredText(200).optional(),
  /** Roles inside a partner only: a partner admin can never grant a staff role. */
  role: z.enum(PARTNER_ROLES),
});

export const RoleChangeSchema = z.object({ role: z.enum(PARTNER_ROLES) });

export const UserListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  after: z.string().regex(/^usr_[0-9A-HJKMNP-TV-Z]{26}$/, 'must be a userId from the previous page').optional(),
});

export const AcceptSchema = z.object({ s: z.string().min(1).max(200) });

export const ChannelManagerSchema = z.object({ email: EmailSchema });
