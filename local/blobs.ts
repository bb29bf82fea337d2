import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BlobStore } from '../functions/core/blobs.ts';

/**
 * S3 stand-in: presigned PUT/GET URLs on the local server, HMAC-signed over method, key, expiry and
 * (for PUT) content type and size, so a URL cannot be reused for another file or a bigger one.
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

  async presignPut(key: string, contentType: string, sizeBytes: number, expiresInSeconds: number) {
    return this.url('PUT', key, expiresInSeconds, { contentType, size: String(sizeBytes) });
  }

  async presignGet(key: string, expiresInSeconds: number) {
    return this.url('GET', key, expiresInSeconds, {});
  }

  async exists(key: string) {
    return existsSync(this.file(key));
  }

  private file(key: string) {
    return join(this.dir, Buffer.from(key).toString('base64url'));
  }

  /** Checks a presigned request; returns an error message or undefined when it is valid. */
  verify(method: 'PUT' | 'GET', key: string, query: URLSearchParams, contentType?: string, size?: number): string | undefined {
    const expires = query.get('expires') ?? '';
    const sig = query.get('sig') ?? '';
    const extra = method === 'PUT' ? [query.get('contentType') ?? '', query.get('size') ?? ''] : [];
    const expected = Buffer.from(this.sign([method, key, expires, ...extra]));
    const given = Buffer.from(sig);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'signature does not match';
    if (Number(expires) < Date.now() / 1000) return 'URL has expired';
    if (method === 'PUT') {
      if ((contentType ?? '').split(';')[0]!.trim() !== query.get('contentType')) return 'Content-Type differs from the one signed';
      if (size !== Number(query.get('size'))) return 'body size differs from the one signed';
    }
    return undefined;
  }

  put(key: string, body: Buffer) {
    writeFileSync(this.file(key), body);
  }
}
