import { createReadStream, statSync } from 'node:fs';
import { HeadObjectCommand, PutObjectCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { port } from './port.ts';

export interface BlobStore {
  /** A URL the client PUTs the file to; content type and size are bound into it. */
  presignPut(key: string, contentType: string, sizeBytes: number, expiresInSeconds: number): Promise<string>;
  presignGet(key: string, expiresInSeconds: number): Promise<string>;
  exists(key: string): Promise<boolean>;
  /** Uploads a local file (streamed, never read whole into memory). */
  putFile(key: string, path: string, contentType: string): Promise<void>;
}

function s3BlobStore(): BlobStore {
  const s3 = new S3Client({});
  const Bucket = () => process.env.BUCKET_NAME;
  return {
    presignPut: (key, contentType, sizeBytes, expiresIn) =>
      getSignedUrl(s3, new PutObjectCommand({ Bucket: Bucket(), Key: key, ContentType: contentType, ContentLength: sizeBytes }), {
        expiresIn,
        signableHeaders: new Set(['content-type', 'content-length']),
      }),
    presignGet: (key, expiresIn) => getSignedUrl(s3, new GetObjectCommand({ Bucket: Bucket(), Key: key }), { expiresIn }),
    async putFile(key, path, contentType) {
      await s3.send(new PutObjectCommand({ Bucket: Bucket(), Key: key, Body: createReadStream(path), ContentLength: statSync(path).size, ContentType: contentType }));
    },
    async exists(key) {
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
