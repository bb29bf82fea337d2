import { createHash } from 'node:crypto';
import type { UserDirectory } from '../functions/users/directory.ts';
import type { LocalJwt } from './jwt.ts';

/**
 * Local stand-in for the Cognito user pool behind users/directory.ts: a sign-in is a subject derived
 * from the email, and accepting an invitation answers a local token with the claims Cognito would
 * put in the ID token (`custom:partnerId`, the role as group). Disabling needs nothing here: the API
 * refuses a disabled subject itself (core/revocations.ts), deployed as locally.
 */
export function localDirectory(jwt: LocalJwt): UserDirectory {
  const subOf = (email: string) => `local-${createHash('sha256').update(email).digest('hex').slice(0, 24)}`;
  return {
    async createSignIn({ email, partnerId, role }) {
      const sub = subOf(email);
      return { sub, token: await jwt.sign({ sub, email, groups: [role], partnerId }) };
    },
    async changeRole() {
      // Locally the role is in the token: the user gets the new one with their next token.
    },
    async disable() {},
  };
}
