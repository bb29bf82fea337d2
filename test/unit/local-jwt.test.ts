import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { LocalJwt } from '../../local/jwt.ts';

const SECRET = 'local-jwt-unit-test-secret-0123456789';
const key = new TextEncoder().encode(SECRET);
const jwt = new LocalJwt(SECRET);
const now = () => Math.floor(Date.now() / 1000);

/** A token signed with the local key, with exactly the registered claims given (nothing added by default). */
function token(claims: { iat?: number; exp?: number }, alg = 'HS256') {
  const t = new SignJWT({ email: 'ada@acme.example', 'cognito:groups': ['partner'] })
    .setProtectedHeader({ alg })
    .setSubject('user-1')
    .setIssuer('prm-local')
    .setAudience('prm-api');
  if (claims.iat !== undefined) t.setIssuedAt(claims.iat);
  if (claims.exp !== undefined) t.setExpirationTime(claims.exp);
  return t.sign(key);
}

/** local/jwt.ts verifies like the Cognito authorizer: a token Cognito would never issue is refused. */
describe('local token verifier', () => {
  it('accepts the tokens it signs, with claims shaped like API Gateway passes them', async () => {
    const claims = await jwt.verify(await jwt.sign({ sub: 'u', email: 'a@b.example', groups: ['partner', 'admin'] }));
    expect(claims).toMatchObject({ sub: 'u', 'cognito:groups': '[partner admin]' });
  });

  it('accepts a token whose iat is within the clock skew', async () => {
    await expect(jwt.verify(await token({ iat: now() + 30, exp: now() + 3600 }))).resolves.toMatchObject({ sub: 'user-1' });
  });

  it('refuses a token without exp', async () => {
    await expect(jwt.verify(await token({ iat: now() }))).rejects.toThrow();
  });

  it('refuses a token without iat', async () => {
    await expect(jwt.verify(await token({ exp: now() + 3600 }))).rejects.toThrow();
  });

  it('refuses a token issued in the future (beyond 60 s of skew)', async () => {
    await expect(jwt.verify(await token({ iat: now() + 600, exp: now() + 3600 }))).rejects.toThrow();
  });

  it('refuses an expired token and another algorithm', async () => {
    await expect(jwt.verify(await token({ iat: now() - 7200, exp: now() - 3600 }))).rejects.toThrow();
    await expect(jwt.verify(await token({ iat: now(), exp: now() + 3600 }, 'HS512'))).rejects.toThrow();
  });

  it('delivers cognito:groups as API Gateway does ("[a b]"), and refuses a group name with white space that would read as two', async () => {
    const sign = (groups: string[]) => jwt.sign({ sub: 'u', email: 'a@b.example', groups: groups as never });
    expect((await jwt.verify(await sign(['admin,finance'])))['cognito:groups']).toBe('[admin,finance]');
    expect((await jwt.verify(await sign([])))['cognito:groups']).toBe('[]');
    await expect(jwt.verify(await sign(['x admin']))).rejects.toThrow();
    await expect(jwt.verify(await sign(['x\tadmin']))).rejects.toThrow();
  });
});
