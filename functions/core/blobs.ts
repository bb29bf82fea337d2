import { createReadStream, statSync } from 'node:fs';
import { lazy, port } from './port.ts';
import { traced } from './tracing.ts';

export interface BlobStore {
  /** A URL the client PUTs the file to; content type and size are bound into it. */
  presignPut(key: string, contentType: string, sizeBytes: number, expiresInSeconds: number): Promise<string>;
  presignGet(key: string, expiresInSeconds: number): Promise<string>;
  exists(key: string): Promise<boolean>;
  /** Uploads a local file (streamed, never read whole into memory). */
  putFile(key: string, path: string, contentType: string): Promise<void>;
}

/** Deployed: S3, its client and the presigner imported on first use (see `lazy`). */
function s3BlobStore(): BlobStore {
  const sdk = lazy(async () => {
    const { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client, getSignedUrl } = await import('./aws/s3.ts');
    return { s3: traced(new S3Client({})), getSignedUrl, GetObjectCommand, HeadObjectCommand, PutObjectCommand };
  });
  const Bucket = () => process.env.BUCKET_NAME;
  return {
    async presignPut(key, contentType, sizeBytes, expiresIn) {
      const { s3, getSignedUrl, PutObjectCommand } = await sdk();
      return getSignedUrl(s3, new PutObjectCommand({ Bucket: Bucket(), Key: key, ContentType: contentType, ContentLength: sizeBytes }), {
        expiresIn,
        signableHeaders: new Set(['content-type', 'content-length']),
      });
    },
    async presignGet(key, expiresIn) {
      const { s3, getSignedUrl, GetObjectCommand } = await sdk();
      return getSignedUrl(s3, new GetObjectCommand({ Bucket: Bucket(), Key: key }), { expiresIn });
    },
    async putFile(key, path, contentType) {
      const { s3, PutObjectCommand } = await sdk();
      await s3.send(new PutObjectCommand({ Bucket: Bucket(), Key: key, Body: createReadStream(path), ContentLength: statSync(path).size, ContentType: contentType }));
    },
    async exists(key) {
      const { s3, HeadObjectCommand } = await sdk();
      try {
        await s3.send(new HeadObjectCommand({ Bucket: Bucket(), Key: key }));
        return true;
      } catch (error) {
        if ((error as Error).name === 'NotFound' || (error as Error).name === 'NoSuchKey') return false;
        throw error;
      }
    },
  };
}

export const blobs = port<BlobStore>(s3BlobStore);
