import { createHash } from 'node:crypto';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobs } from '../../functions/core/blobs.ts';

/** The deployed (S3) blob adapter: what its presigned PUT binds, and how `head` reads S3's checksum. */
describe('S3 blob store', () => {
  const saved = { ...process.env };
  const s3 = mockClient(S3Client);
  beforeAll(() => {
    Object.assign(process.env, { AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', BUCKET_NAME: 'proofs-bucket' });
    delete process.env.AWS_SESSION_TOKEN;
    blobs.set(undefined);
  });
  afterAll(() => {
    process.env = saved;
    s3.restore();
    blobs.set(undefined);
  });

  const sha = createHash('sha256').update('proof').digest();

  it('presigns a create-only PUT that signs content type, size and the SHA-256 pair, sent as headers', async () => {
    const { url, headers } = await blobs.get().presignPut('proofs/p/c/0-0-invoice.pdf', { contentType: 'application/pdf', sizeBytes: 5, sha256: sha.toString('hex') }, 3600);
    const query = new URL(url).searchParams;
    expect(query.get('X-Amz-SignedHeaders')!.split(';')).toEqual(
      expect.arrayContaining(['content-type', 'content-length', 'if-none-match', 'x-amz-checksum-sha256', 'x-amz-sdk-checksum-algorithm']),
    );
    // Not hoisted into the query: S3 checks the checksum only as a header, so the client must send it.
    expect([...query.keys()].map((k) => k.toLowerCase())).not.toContain('x-amz-checksum-sha256');
    expect([...query.keys()].map((k) => k.toLowerCase())).not.toContain('x-amz-sdk-checksum-algorithm');
    expect(headers).toEqual({ 'content-type': 'application/pdf', 'x-amz-checksum-sha256': sha.toString('base64'), 'x-amz-sdk-checksum-algorithm': 'SHA256', 'if-none-match': '*' });
  });

  it('head asks for the checksum and answers it as hex; a composite (multipart) checksum or a missing key is not a file hash', async () => {
    s3.reset();
    s3.on(HeadObjectCommand, { Key: 'whole' }).resolves({ ContentLength: 5, ChecksumSHA256: sha.toString('base64'), ChecksumType: 'FULL_OBJECT' });
    s3.on(HeadObjectCommand, { Key: 'parts' }).resolves({ ContentLength: 5, ChecksumSHA256: `${sha.toString('base64')}-2`, ChecksumType: 'COMPOSITE' });
    s3.on(HeadObjectCommand, { Key: 'gone' }).rejects(Object.assign(new Error('Not Found'), { name: 'NotFound' }));
    expect(await blobs.get().head('whole')).toEqual({ sizeBytes: 5, sha256: sha.toString('hex') });
    expect(s3.commandCalls(HeadObjectCommand)[0]!.args[0].input).toMatchObject({ Bucket: 'proofs-bucket', Key: 'whole', ChecksumMode: 'ENABLED' });
    expect(await blobs.get().head('parts')).toEqual({ sizeBytes: 5 });
    expect(await blobs.get().head('gone')).toBeUndefined();
  });
});
