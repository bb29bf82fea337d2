import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { copyFileSync, createReadStream, existsSync, linkSync, mkdirSync, mkdtempSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { sha256Base64, uploadHeaders, type BlobHead, type BlobStore, type PresignedUpload, type UploadDeclaration } from '../functions/core/blobs.ts';

/** A refusal in S3's terms: the status and error code S3 answers for the same request. */
export interface BlobRefusal {
  status: 400 | 403 | 412;
  code: 'SignatureDoesNotMatch' | 'AccessDenied' | 'BadDigest' | 'PreconditionFailed';
  message: string;
}

/**
 * S3 stand-in: presigned PUT/GET URLs on the local server, HMAC-signed over method, key, expiry and
 * (for PUT) content type, size and SHA-256, so a URL cannot be reused for another file or a bigger
 * one. A PUT is refused as S3 refuses it: a signed header missing or different (403), bytes whose
 * SHA-256 is not the one in `x-amz-checksum-sha256` (400 BadDigest, nothing stored), a key that
 * already holds a file (412 PreconditionFailed: the URL is signed with `If-None-Match: *`).
 */
export class LocalBlobStore implements BlobStore {
  private readonly secret = randomBytes(32);

  private readonly dir: string;
  private readonly temporary: boolean;

  /** Files live in `dir` (persisted) or in a temporary folder of their own, removed by `dispose`. */
  constructor(
    private readonly baseUrl: () => string,
    dir?: string,
  ) {
    this.temporary = dir === undefined;
    this.dir = dir ?? mkdtempSync(join(tmpdir(), 'prm-blobs-'));
    mkdirSync(this.dir, { recursive: true });
  }

  /** Removes the temporary folder (a persisted `dir` is kept). */
  dispose(): void {
    if (this.temporary) rmSync(this.dir, { recursive: true, force: true });
  }

  async putFile(key: string, path: string, _contentType: string) {
    copyFileSync(path, this.file(key));
  }

  /** Path of a stored file, for streaming it out. */
  pathOf(key: string): string | undefined {
    return existsSync(this.file(key)) ? this.file(key) : undefined;
  }

  private sign(parts: string[]): string {
    return createHmac('sha256', this.secret).update(parts.join('\n')).digest('base64url');
  }

  private url(method: string, key: string, expiresInSeconds: number, extra: Record<string, string>): string {
    const expires = String(Math.floor(Date.now() / 1000) + expiresInSeconds);
    const sig = this.sign([method, key, expires, ...Object.values(extra)]);
    const query = new URLSearchParams({ ...extra, expires, sig });
    return `${this.baseUrl()}/_local/blobs/${encodeURIComponent(key)}?${query}`;
  }

  async presignPut(key: string, upload: UploadDeclaration, expiresInSeconds: number): Promise<PresignedUpload> {
    const url = this.url('PUT', key, expiresInSeconds, { contentType: upload.contentType, size: String(upload.sizeBytes), sha256: sha256Base64(upload.sha256) });
    return { url, headers: uploadHeaders(upload) };
  }

  async presignGet(key: string, expiresInSeconds: number) {
    return this.url('GET', key, expiresInSeconds, {});
  }

  async exists(key: string) {
    return existsSync(this.file(key));
  }

  /** Size and SHA-256 of the stored bytes (hashed here, as S3 keeps the checksum it verified). */
  async head(key: string): Promise<BlobHead | undefined> {
    const path = this.pathOf(key);
    if (!path) return undefined;
    const hash = createHash('sha256');
    await pipeline(createReadStream(path), hash);
    return { sizeBytes: statSync(path).size, sha256: hash.digest('hex') };
  }

  private file(key: string) {
    return join(this.dir, Buffer.from(key).toString('base64url'));
  }

  /** Checks a presigned request; returns S3's refusal, or undefined when it is valid. */
  verify(method: 'PUT' | 'GET', key: string, query: URLSearchParams, headers: Record<string, string | string[] | undefined> = {}, size?: number): BlobRefusal | undefined {
    const denied = (message: string): BlobRefusal => ({ status: 403, code: 'SignatureDoesNotMatch', message });
    const expires = query.get('expires') ?? '';
    const sig = query.get('sig') ?? '';
    const extra = method === 'PUT' ? [query.get('contentType') ?? '', query.get('size') ?? '', query.get('sha256') ?? ''] : [];
    const expected = Buffer.from(this.sign([method, key, expires, ...extra]));
    const given = Buffer.from(sig);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return denied('signature does not match');
    if (Number(expires) < Date.now() / 1000) return { status: 403, code: 'AccessDenied', message: 'Request has expired' };
    if (method === 'PUT') {
      const header = (name: string) => {
        const value = headers[name];
        return (Array.isArray(value) ? value.join(',') : (value ?? '')).trim();
      };
      // Every header below is signed into the deployed URL: S3 refuses a request without it, or with another value.
      if (header('content-type').split(';')[0]!.trim() !== query.get('contentType')) return denied('Content-Type differs from the one signed');
      if (size !== Number(query.get('size'))) return denied('body size differs from the one signed');
      if (header('x-amz-checksum-sha256') !== query.get('sha256')) return denied('x-amz-checksum-sha256 is missing or differs from the one signed');
      if (header('x-amz-sdk-checksum-algorithm').toUpperCase() !== 'SHA256') return denied('x-amz-sdk-checksum-algorithm is missing or differs from the one signed');
      if (header('if-none-match') !== '*') return denied('If-None-Match is missing or differs from the one signed');
    }
    return undefined;
  }

  /**
   * Stores the body of a verified presigned PUT: only when its SHA-256 is the signed one, and only
   * if the key is still empty (create-only, atomically: the bytes are written aside, then linked in).
   */
  receive(key: string, query: URLSearchParams, body: Buffer): BlobRefusal | undefined {
    if (createHash('sha256').update(body).digest('base64') !== query.get('sha256')) {
      return { status: 400, code: 'BadDigest', message: 'The SHA256 you specified did not match the calculated checksum.' };
    }
    const aside = join(this.dir, `.upload-${randomBytes(8).toString('hex')}`);
    writeFileSync(aside, body);
    try {
      linkSync(aside, this.file(key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return { status: 412, code: 'PreconditionFailed', message: 'At least one of the pre-conditions you specified did not hold' };
      throw error;
    } finally {
      unlinkSync(aside);
    }
    return undefined;
  }

  /** Writes straight into the store, past every check (what a bucket administrator could do). */
  put(key: string, body: Buffer) {
    writeFileSync(this.file(key), body);
  }
}
