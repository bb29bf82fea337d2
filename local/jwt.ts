import { SignJWT, jwtVerify } from 'jose';
import type { Role } from '../functions/core/auth.ts';

const ISSUER = 'prm-local';
const AUDIENCE = 'prm-api';
/** How far in the future a token's `iat` may be (clock skew between issuer and verifier). */
export const CLOCK_SKEW_SECONDS = 60;

export interface TokenRequest {
  sub: string;
  email: string;
  groups: Role[];
  partnerId?: string;
}

/** Local stand-in for Cognito: HS256 tokens with the claims a Cognito ID token carries. */
export class LocalJwt {
  private readonly key: Uint8Array;
  constructor(secret: string) {
    this.key = new TextEncoder().encode(secret);
  }

  sign(request: TokenRequest, ttlSeconds = 12 * 3600): Promise<string> {
    return new SignJWT({
      email: request.email,
      'cognito:groups': request.groups,
      ...(request.partnerId ? { 'custom:partnerId': request.partnerId } : {}),
    })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(request.sub)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .sign(this.key);
  }

  /**
   * Verifies like API Gateway's JWT authorizer (signature, issuer, audience, expiry) and returns the
   * claims as API Gateway passes them to Lambda: every value a string, arrays flattened to "[a b]".
   * A token Cognito never issues is refused: one without `exp` or `iat`, or issued more than
   * CLOCK_SKEW_SECONDS in the future.
   */
  async verify(token: string): Promise<Record<string, string>> {
    const { payload } = await jwtVerify(token, this.key, {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['HS256'],
      requiredClaims: ['exp', 'iat'],
    });
    if (typeof payload.iat !== 'number' || payload.iat > Math.floor(Date.now() / 1000) + CLOCK_SKEW_SECONDS) {
      throw new Error('The token was issued in the future');
    }
    const claims: Record<string, string> = {};
    for (const [k, v] of Object.entries(payload)) {
      if (Array.isArray(v) && v.some((item) => typeof item !== 'string' || /\s/.test(item))) {
        // Cognito never issues these (a group name has no white space); flattened they would read as other values.
        throw new Error(`The token's ${k} claim has an item that is not a string without white space`);
      }
      claims[k] = Array.isArray(v) ? `[${v.join(' ')}]` : String(v);
    }
    return claims;
  }
}
