import { describe, expect, it } from 'vitest';
import { effectiveStatus, signLinkToken, verifyLinkToken } from '../../functions/approvals/model.ts';

const SECRET = 'test-secret';
const future = Math.floor(Date.now() / 1000) + 3600;

describe('approval link tokens', () => {
  const token = signLinkToken(SECRET, 'apr_1', 'cm@example.com', future);

  it('accepts the genuine token', () => {
    expect(verifyLinkToken(SECRET, 'apr_1', 'cm@example.com', token)).toEqual({ ok: true, expiresEpoch: future });
    expect(verifyLinkToken(SECRET, 'apr_1', 'CM@example.com', token).ok).toBe(true);
  });

  it('refuses a tampered signature, expiry, approval id, approver or secret', () => {
    const [exp, sig] = token.split('.') as [string, string];
    const flipped = sig.slice(0, -2) + (sig.at(-2) === 'A' ? 'B' : 'A') + sig.at(-1);
    expect(verifyLinkToken(SECRET, 'apr_1', 'cm@example.com', `${exp}.${flipped}`)).toEqual({ ok: false, reason: 'forged' });
    expect(verifyLinkToken(SECRET, 'apr_1', 'cm@example.com', `${Number(exp) + 1}.${sig}`)).toEqual({ ok: false, reason: 'forged' });
    expect(verifyLinkToken(SECRET, 'apr_2', 'cm@example.com', token)).toEqual({ ok: false, reason: 'forged' });
    expect(verifyLinkToken(SECRET, 'apr_1', 'other@example.com', token)).toEqual({ ok: false, reason: 'forged' });
    expect(verifyLinkToken('other-secret', 'apr_1', 'cm@example.com', token)).toEqual({ ok: false, reason: 'forged' });
    expect(verifyLinkToken(SECRET, 'apr_1', 'cm@example.com', 'garbage')).toEqual({ ok: false, reason: 'forged' });
    // The last base64url character of a 32-byte signature carries two padding bits: a spelling that
    // decodes to the same bytes is still not the issued token.
    const last = sig.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sameBytes = alphabet[alphabet.indexOf(last) + 1]!;
    expect(Buffer.from(sig.slice(0, -1) + sameBytes, 'base64url')).toEqual(Buffer.from(sig, 'base64url'));
    expect(verifyLinkToken(SECRET, 'apr_1', 'cm@example.com', `${exp}.${sig.slice(0, -1)}${sameBytes}`)).toEqual({ ok: false, reason: 'forged' });
    expect(verifyLinkToken(SECRET, 'apr_1', 'cm@example.com', '')).toEqual({ ok: false, reason: 'forged' });
  });

  it('reports expiry only for a genuine token', () => {
    const past = Math.floor(Date.now() / 1000) - 1;
    const expired = signLinkToken(SECRET, 'apr_1', 'cm@example.com', past);
    expect(verifyLinkToken(SECRET, 'apr_1', 'cm@example.com', expired)).toEqual({ ok: false, reason: 'expired' });
  });

  it('treats a pending approval past its deadline as expired', () => {
    expect(effectiveStatus({ status: 'PENDING', deadline: new Date(Date.now() - 1000).toISOString() })).toBe('EXPIRED');
    expect(effectiveStatus({ status: 'PENDING', deadline: new Date(Date.now() + 60_000).toISOString() })).toBe('PENDING');
    expect(effectiveStatus({ status: 'APPROVED', deadline: new Date(Date.now() - 1000).toISOString() })).toBe('APPROVED');
  });
});
