import { createReadStream, statSync } from 'node:fs';
import { lazy, port } from './port.ts';
import { traced } from './tracing.ts';

/** What a presigned upload must carry: the declared content type, size and SHA-256 (hex). */
export interface UploadDeclaration {
  contentType: string;
  sizeBytes: number;
  sha256: string;
}

export interface PresignedUpload {
  url: string;
  /** Headers the client must send with the PUT, exactly: they are signed into the URL. */
  headers: Record<string, string>;
}

/** What the store holds under a key: its size and full-object SHA-256 (hex; absent when it holds none). */
export interface BlobHead {
  sizeBytes: number;
  sha256?: string;
}

export interface BlobStore {
  /**
   * A URL the client PUTs the file to once: content type, size and SHA-256 are bound into it (the
   * store refuses other bytes with 400 BadDigest), and it only creates (a second write is 412).
   */
  presignPut(key: string, upload: UploadDeclaration, expiresInSeconds: number): Promise<PresignedUpload>;
  presignGet(key: string, expiresInSeconds: number): Promise<string>;
  exists(key: string): Promise<boolean>;
  /** Size and SHA-256 of what is stored under `key`, or undefined when nothing is. */
  head(key: string): Promise<BlobHead | undefined>;
  /** Uploads a local file (streamed, never read whole into memory). */
  putFile(key: string, path: string, contentType: string): Promise<void>;
}

/** The S3 checksum header value of a hex SHA-256 (base64 of the 32 bytes). */
export const sha256Base64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');

/**
 * The headers a checksum-bound upload sends (deployed and locally alike). `if-none-match: *` makes
 * S3 refuse a second write to the key (412), so a file cannot be replaced once uploaded.
 */
export function uploadHeaders(upload: UploadDeclaration): Record<string, string> {
  return {
    'content-type': upload.contentType,
    'x-amz-checksum-sha256': sha256Base64(upload.sha256),
    'x-amz-sdk-checksum-algorithm': 'SHA256',
    'if-none-match': '*',
  };
}

const isNotFound = (error: unknown) => ['NotFound', 'NoSuchKey'].includes((error as Error).name);

/** Deployed: S3, its client and the presigner imported on first use (see `lazy`). */
function s3BlobStore(): BlobStore {
  const sdk = lazy(async () => {
    const { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client, getSignedUrl } = await import('./aws/s3.ts');
    return { s3: traced(new S3Client({})), getSignedUrl, GetObjectCommand, HeadObjectCommand, PutObjectCommand };
  });
  const Bucket = () => process.env.BUCKET_NAME;
  return {
    async presignPut(key, upload, expiresIn) {
      const { s3, getSignedUrl, PutObjectCommand } = await sdk();
      const command = new PutObjectCommand({
        Bucket: Bucket(),
        Key: key,
        ContentType: upload.contentType,
        ContentLength: upload.sizeBytes,
        ChecksumAlgorithm: 'SHA256',
        ChecksumSHA256: sha256Base64(upload.sha256),
        IfNoneMatch: '*',
      });
      const url = await getSignedUrl(s3, command, {
        expiresIn,
        // Signed, so the client must send them with these values; the checksum pair stays a header
        // (S3 checks x-amz-checksum-* only as headers, not hoisted into the query string).
        signableHeaders: new Set(['content-type', 'content-length', 'if-none-match', 'x-amz-checksum-sha256', 'x-amz-sdk-checksum-algorithm']),
        unhoistableHeaders: new Set(['x-amz-checksum-sha256', 'x-amz-sdk-checksum-algorithm']),
      });
      return { url, headers: uploadHeaders(upload) };
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
        if (isNotFound(error)) return false;
        throw error;
      }
    },
    async head(key) {
      const { s3, HeadObjectCommand } = await sdk();
      try {
        const object = await s3.send(new HeadObjectCommand({ Bucket: Bucket(), Key: key, ChecksumMode: 'ENABLED' }));
        // A single-part PUT has a full-object checksum; a multipart one ("…-N", COMPOSITE) is not the file's hash.
        const full = object.ChecksumSHA256 && object.ChecksumType !== 'COMPOSITE' && !object.ChecksumSHA256.includes('-');
        return { sizeBytes: object.ContentLength ?? 0, ...(full ? { sha256: Buffer.from(object.ChecksumSHA256!, 'base64').toString('hex') } : {}) };
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
  };
}

export const blobs = port<BlobStore>(s3BlobStore);
