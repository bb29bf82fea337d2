import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/runtime.ts';
import { claimBody, decide, fundRequestBody, proofFile, startDemoSystem } from '../support/mdf.ts';
import { approvalLinkFor, eventually, type Client } from '../support/system.ts';

const CM = 'channel.manager@example.com';

interface Upload {
  fileName: string;
  url: string;
  method: string;
  headers: Record<string, string>;
}

/**
 * Proof uploads are bound to the declared bytes: the presigned PUT carries the declared SHA-256 and
 * is create-only, the local S3 stand-in refuses as S3 does, and the claim review compares what is
 * stored with the declaration before any approver sees a file.
 */
describe('checksum-bound proof uploads over HTTP', () => {
  let system: LocalSystem;
  let api: Client;
  let partnerId: string;
  let partner: string;
  let fundRequestId: string;
  let invoice = 0;

  beforeAll(async () => {
    ({ system, api, partnerId, partner } = await startDemoSystem());
    const frq = await api.post(`/partners/${partnerId}/fund-requests`, fundRequestBody(2_000_000), { token: partner });
    await decide(system, api, CM, frq.body.fundRequestId, { decision: 'approve' });
    await eventually(async () => (await api.get(`/partners/${partnerId}/fund-requests/${frq.body.fundRequestId}`, partner)).body.status === 'APPROVED');
    fundRequestId = frq.body.fundRequestId;
  });
  afterAll(() => system?.stop());

  /** A claim above the auto-approval limit (one approver), declaring `content` as its proof. */
  async function submit(content: string) {
    const res = await api.post(`/partners/${partnerId}/claims`, claimBody(fundRequestId, 100_000, `UP-${++invoice}`, content), { token: partner });
    expect(res.status, res.text).toBe(202);
    return { claimId: res.body.claimId as string, upload: res.body.uploads[0] as Upload };
  }
  const keyOf = (upload: Upload) => decodeURIComponent(new URL(upload.url).pathname.slice('/_local/blobs/'.length));
  const put = (upload: Upload, body: string, headers = upload.headers) => fetch(upload.url, { method: 'PUT', headers, body });
  const s3Code = async (res: Response) => /<Code>([^<]+)<\/Code>/.exec(await res.text())?.[1];
  const claim = async (claimId: string) => (await api.get(`/partners/${partnerId}/claims/${claimId}`, partner)).body;

  it('answers the signed headers, and the declared bytes with them are stored (200) and reach the approver', async () => {
    const { claimId, upload } = await submit('the real proof');
    const sha256 = createHash('sha256').update('the real proof').digest();
    expect(upload.headers).toEqual({
      'content-type': 'application/pdf',
      'x-amz-checksum-sha256': sha256.toString('base64'),
      'x-amz-sdk-checksum-algorithm': 'SHA256',
      'if-none-match': '*',
    });
    const res = await put(upload, 'the real proof');
    expect(res.status).toBe(200);
    expect(readFileSync(system.blobStore.pathOf(keyOf(upload))!, 'utf8')).toBe('the real proof');
    expect(await system.blobStore.head(keyOf(upload))).toEqual({ sizeBytes: 14, sha256: sha256.toString('hex') });
    await decide(system, api, CM, claimId, { decision: 'approve' });
    const approved = await eventually(async () => ((await claim(claimId)).status === 'APPROVED' ? claim(claimId) : undefined));
    expect(approved.history.map((h: { action: string }) => h.action)).not.toContain('proof_mismatch');
  });

  it('other bytes of the declared size are refused with 400 BadDigest and nothing is stored', async () => {
    const { upload } = await submit('proof');
    const res = await put(upload, 'forge'); // same length, other bytes, the signed headers
    expect(res.status).toBe(400);
    expect(await s3Code(res)).toBe('BadDigest');
    expect(system.blobStore.pathOf(keyOf(upload))).toBeUndefined();
    // Nothing was stored: the URL still takes the declared bytes.
    expect((await put(upload, 'proof')).status).toBe(200);
  });

  it('a PUT without the signed checksum header, or with the checksum of other bytes, is refused with 403', async () => {
    const { upload } = await submit('proof');
    const { 'x-amz-checksum-sha256': _checksum, ...withoutChecksum } = upload.headers;
    const missing = await put(upload, 'proof', withoutChecksum);
    expect(missing.status).toBe(403);
    expect(await s3Code(missing)).toBe('SignatureDoesNotMatch');
    const forged = await put(upload, 'forge', { ...upload.headers, 'x-amz-checksum-sha256': createHash('sha256').update('forge').digest('base64') });
    expect(forged.status).toBe(403);
    const { 'if-none-match': _create, ...overwriting } = upload.headers;
    expect((await put(upload, 'proof', overwriting)).status).toBe(403);
    expect(system.blobStore.pathOf(keyOf(upload))).toBeUndefined();
  });

  it('a second PUT of the same URL is refused with 412 PreconditionFailed, even with the right bytes, and the file stays', async () => {
    const { upload } = await submit('first and only');
    expect((await put(upload, 'first and only')).status).toBe(200);
    const path = system.blobStore.pathOf(keyOf(upload))!;
    const before = readFileSync(path);
    const again = await put(upload, 'first and only');
    expect(again.status).toBe(412);
    expect(await s3Code(again)).toBe('PreconditionFailed');
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('a stored file that differs from its declaration is caught by the review: proof_mismatch, changes requested, no approver asked', async () => {
    const { claimId, upload } = await submit('proof');
    // Written behind the URL, past its checks (as someone with bucket access could): same size, other bytes.
    system.blobStore.put(keyOf(upload), Buffer.from('forge'));
    const reviewed = await eventually(async () => {
      const c = await claim(claimId);
      return c.status === 'CHANGES_REQUESTED' ? c : undefined;
    });
    const mismatch = reviewed.history.find((h: { action: string }) => h.action === 'proof_mismatch');
    expect(mismatch?.comment).toContain(createHash('sha256').update('forge').digest('hex'));
    expect(reviewed.history.at(-1)).toMatchObject({ toStatus: 'CHANGES_REQUESTED' });
    expect(approvalLinkFor(system, CM, claimId)).toBeUndefined();
    const mail = await eventually(async () => system.outbox.all().find((m) => m.subject.includes(claimId) && m.subject.includes('needs changes')));
    expect(mail.text).toContain('does not match what was declared');

    // A different size is caught too.
    const other = await submit('proof');
    system.blobStore.put(keyOf(other.upload), Buffer.from('proof!'));
    const second = await eventually(async () => ((await claim(other.claimId)).status === 'CHANGES_REQUESTED' ? claim(other.claimId) : undefined));
    expect(second.history.map((h: { action: string }) => h.action)).toContain('proof_mismatch');
    expect(approvalLinkFor(system, CM, other.claimId)).toBeUndefined();
  });

  it('a resubmission with new, correctly uploaded files passes the review that caught the mismatch', async () => {
    const { claimId, upload } = await submit('proof');
    system.blobStore.put(keyOf(upload), Buffer.from('forge'));
    await eventually(async () => (await claim(claimId)).status === 'CHANGES_REQUESTED');
    const resubmitted = await api.put(`/partners/${partnerId}/claims/${claimId}`, { proofOfPerformance: [proofFile('proof, again')] }, { token: partner });
    expect(resubmitted.status, resubmitted.text).toBe(202);
    expect((await put(resubmitted.body.uploads[0], 'proof, again')).status).toBe(200);
    await decide(system, api, CM, claimId, { decision: 'approve' });
    expect((await eventually(async () => ((await claim(claimId)).status === 'APPROVED' ? claim(claimId) : undefined))).status).toBe('APPROVED');
  });
});
