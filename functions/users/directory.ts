import type { PartnerRole } from '../core/auth.ts';
import { lazy, port } from '../core/port.ts';
import { traced } from '../core/tracing.ts';

export interface SignInRequest {
  email: string;
  partnerId: string;
  role: PartnerRole;
}

/**
 * Where people sign in. Deployed: the Cognito user pool (a user per person, `custom:partnerId`, one
 * group per role). Locally: a stand-in that signs local tokens (local/identity.ts).
 */
export interface UserDirectory {
  /** Creates the sign-in of an accepted invitation (or re-enables an existing one); answers its subject and, locally, a token. */
  createSignIn(request: SignInRequest): Promise<{ sub: string; token?: string }>;
  changeRole(email: string, from: PartnerRole, to: PartnerRole): Promise<void>;
  /** No more sign-ins, and every refresh token revoked (the API refuses the subject's ID tokens itself). */
  disable(email: string): Promise<void>;
}

function cognitoDirectory(): UserDirectory {
  const sdk = lazy(async () => {
    const commands = await import('../core/aws/cognito.ts');
    return { cognito: traced(new commands.CognitoIdentityProviderClient({})), ...commands };
  });
  const pool = () => {
    const id = process.env.USER_POOL_ID;
    if (!id) throw new Error('USER_POOL_ID is not set');
    return id;
  };
  return {
    async createSignIn({ email, partnerId, role }) {
      const c = await sdk();
      let sub: string | undefined;
      try {
        // Cognito emails the temporary password (through SES, see lib/auth.ts); the email is verified by the accepted invitation.
        const out = await c.cognito.send(
          new c.AdminCreateUserCommand({
            UserPoolId: pool(),
            Username: email,
            DesiredDeliveryMediums: ['EMAIL'],
            UserAttributes: [
              { Name: 'email', Value: email },
              { Name: 'email_verified', Value: 'true' },
              { Name: 'custom:partnerId', Value: partnerId },
            ],
          }),
        );
        sub = out.User?.Attributes?.find((a) => a.Name === 'sub')?.Value;
      } catch (error) {
        if ((error as Error).name !== 'UsernameExistsException') throw error;
        await c.cognito.send(new c.AdminEnableUserCommand({ UserPoolId: pool(), Username: email }));
        const existing = await c.cognito.send(new c.AdminGetUserCommand({ UserPoolId: pool(), Username: email }));
        sub = existing.UserAttributes?.find((a) => a.Name === 'sub')?.Value;
      }
      if (!sub) throw new Error(`Cognito answered no sub for ${email}`);
      await c.cognito.send(new c.AdminAddUserToGroupCommand({ UserPoolId: pool(), Username: email, GroupName: role }));
      return { sub };
    },
    async changeRole(email, from, to) {
      const c = await sdk();
      await c.cognito.send(new c.AdminAddUserToGroupCommand({ UserPoolId: pool(), Username: email, GroupName: to }));
      await c.cognito.send(new c.AdminRemoveUserFromGroupCommand({ UserPoolId: pool(), Username: email, GroupName: from }));
    },
    async disable(email) {
      const c = await sdk();
      await c.cognito.send(new c.AdminDisableUserCommand({ UserPoolId: pool(), Username: email }));
      await c.cognito.send(new c.AdminUserGlobalSignOutCommand({ UserPoolId: pool(), Username: email }));
    },
  };
}

export const userDirectory = port<UserDirectory>(cognitoDirectory);
