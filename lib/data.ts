import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { BlockPublicAccess, Bucket, BucketEncryption, HttpMethods, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { TABLE_DEFINITION } from '../functions/core/table.ts';

const key = (name: string) => ({ name, type: AttributeType.STRING });

/**
 * Request headers a browser sends with a presigned PUT/GET: the SDK's flexible checksums
 * (x-amz-checksum-sha256, x-amz-sdk-checksum-algorithm) and If-None-Match (no overwrite).
 */
export const PRESIGNED_UPLOAD_HEADERS = ['content-type', 'content-length', 'x-amz-checksum-sha256', 'x-amz-sdk-checksum-algorithm', 'if-none-match'];

export interface DataProps {
  /** Browser origins allowed to PUT/GET the presigned blob URLs (CORS). */
  webOrigins: readonly string[];
}

/** The single table (built from TABLE_DEFINITION) and the bucket for proofs and exports. */
export class Data extends Construct {
  readonly table: Table;
  readonly bucket: Bucket;

  constructor(scope: Construct, id: string, { webOrigins }: DataProps) {
    super(scope, id);

    this.table = new Table(this, 'Table', {
      partitionKey: key(TABLE_DEFINITION.partitionKey),
      sortKey: key(TABLE_DEFINITION.sortKey),
      timeToLiveAttribute: TABLE_DEFINITION.timeToLiveAttribute,
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const gsi of TABLE_DEFINITION.globalSecondaryIndexes) {
      this.table.addGlobalSecondaryIndex({ indexName: gsi.indexName, partitionKey: key(gsi.partitionKey), sortKey: key(gsi.sortKey) });
    }

    // The access-log destination needs no access log of its own (cdk-nag S1 agrees).
    const accessLogs = new Bucket(this, 'AccessLogs', {
      encryption: BucketEncryption.S3_MANAGED, // log delivery cannot write to SSE-KMS buckets
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      lifecycleRules: [{ expiration: Duration.days(365) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // SSE-S3 rather than KMS so presigned PUT/GET URLs need no kms:* grants on the callers.
    this.bucket = new Bucket(this, 'Blobs', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true, // proofs of performance back money claims: keep overwritten versions
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'blobs/',
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        // An overwritten or deleted proof stays recoverable for 30 days, then stops costing storage.
        { id: 'ExpireNoncurrentVersions', noncurrentVersionExpiration: Duration.days(30) },
        { id: 'AbortIncompleteMultipartUploads', abortIncompleteMultipartUploadAfter: Duration.days(3) },
        // A delete marker whose versions have all expired hides nothing: remove it.
        { id: 'RemoveExpiredDeleteMarkers', expiredObjectDeleteMarker: true },
      ],
      cors: [
        {
          allowedOrigins: [...webOrigins],
          allowedMethods: [HttpMethods.PUT, HttpMethods.GET, HttpMethods.HEAD],
          allowedHeaders: PRESIGNED_UPLOAD_HEADERS,
          exposedHeaders: ['ETag'],
          maxAge: 3600,
        },
      ],
    });
  }
}
