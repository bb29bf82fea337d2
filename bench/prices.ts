/**
 * List prices the cost model counts with: us-east-1, as stated for 2026-12 (docs/design.md, "Cost and
 * performance", lists them). Keep every price here; the benchmarks never type a price anywhere else.
 * Each line names the AWS pricing page it comes from; free tiers are listed apart (FREE_TIERS), each
 * marked "always free" or "12-month" (the 12-month offers exist only for accounts opened before
 * 2025-07-15; newer accounts get credits instead).
 */
const AS_OF = '2026-12';

export const PRICES = {
  region: 'us-east-1',
  asOf: AS_OF,
  stepFunctions: {
    /** Standard workflows, per state transition ($0.025 per 1,000). */
    perStateTransition: 0.025 / 1_000,
    source: 'AWS Step Functions pricing, https://aws.amazon.com/step-functions/pricing/',
  },
  lambda: {
    perRequest: 0.2 / 1_000_000,
    /** arm64 (lib/functions.ts deploys Architecture.ARM_64), first 7.5 billion GB-s a month. */
    perGbSecond: 0.0000133334,
    /** Lambda bills duration rounded up to the next millisecond. */
    durationGranularityMs: 1,
    source: 'AWS Lambda pricing, https://aws.amazon.com/lambda/pricing/',
  },
  dynamodb: {
    /** On-demand write request unit (1 KB; transactional writes count double). */
    perWriteUnit: 0.625 / 1_000_000,
    /** On-demand read request unit (4 KB strongly consistent; eventual costs half). */
    perReadUnit: 0.125 / 1_000_000,
    /** Table storage, per GB-month. */
    perGbMonth: 0.25,
    /** Point-in-time recovery (lib/data.ts enables it), per GB-month of table size. */
    pitrPerGbMonth: 0.2,
    source: 'Amazon DynamoDB pricing for on-demand capacity, https://aws.amazon.com/dynamodb/pricing/on-demand/',
  },
  ses: {
    perEmail: 0.1 / 1_000,
    source: 'Amazon SES pricing, https://aws.amazon.com/ses/pricing/',
  },
  apiGateway: {
    /** HTTP API, first 300 million requests a month, metered in 512 KB increments. */
    perHttpRequest: 1.0 / 1_000_000,
    source: 'Amazon API Gateway pricing (HTTP APIs), https://aws.amazon.com/api-gateway/pricing/',
  },
  cognito: {
    /** lib/auth.ts sets no featurePlan: a new user pool is on Essentials (the Cognito default). */
    featurePlan: 'Essentials',
    /** Per monthly active user above the free tier, direct sign-in (Essentials). */
    perMau: 0.015,
    /** Lite, for comparison (first tier above the free 10,000: 10,001-100,000 MAU). */
    litePerMau: 0.0055,
    source: 'Amazon Cognito pricing (user pool feature plans), https://aws.amazon.com/cognito/pricing/',
  },
  eventBridge: {
    /** Custom events published to an event bus, per 64 KB chunk. */
    perCustomEvent: 1.0 / 1_000_000,
    source: 'Amazon EventBridge pricing, https://aws.amazon.com/eventbridge/pricing/',
  },
  s3: {
    /** S3 Standard: PUT, COPY, POST, LIST per request ($0.005 per 1,000). */
    perPut: 0.005 / 1_000,
    /** S3 Standard: GET, SELECT and others ($0.0004 per 1,000). */
    perGet: 0.0004 / 1_000,
    /** S3 Standard storage, first 50 TB, per GB-month. */
    perGbMonth: 0.023,
    source: 'Amazon S3 pricing (S3 Standard, requests and storage), https://aws.amazon.com/s3/pricing/',
  },
  cloudWatchLogs: {
    /** Standard log class ingestion (custom logs; Lambda and Step Functions vended logs start at the same $0.50). */
    perGbIngested: 0.5,
    /** Archived (stored) logs, per GB-month; every log group here keeps one month (RetentionDays.ONE_MONTH). */
    perGbMonthStored: 0.03,
    source: 'Amazon CloudWatch pricing (Logs), https://aws.amazon.com/cloudwatch/pricing/',
  },
  xray: {
    /** Traces recorded (functions and state machines have tracing active). */
    perTraceRecorded: 5.0 / 1_000_000,
    source: 'AWS X-Ray pricing, https://aws.amazon.com/xray/pricing/',
  },
  secretsManager: {
    perSecretMonth: 0.4,
    /** GetSecretValue and other API calls ($0.05 per 10,000). */
    perApiCall: 0.05 / 10_000,
    source: 'AWS Secrets Manager pricing, https://aws.amazon.com/secrets-manager/pricing/',
  },
  /** Per-seat PRM licences the product is compared with (per user per month). */
  seatLicencesPerUserMonth: [2, 25],
} as const;

export type FreeTierKind = 'always free' | '12-month';

/** Monthly free allowances, per account, in the units the prices above are quoted in. */
export const FREE_TIERS = {
  lambdaRequests: { amount: 1_000_000, kind: 'always free', source: PRICES.lambda.source },
  lambdaGbSeconds: { amount: 400_000, kind: 'always free', source: PRICES.lambda.source },
  stepFunctionsTransitions: { amount: 4_000, kind: 'always free', source: PRICES.stepFunctions.source },
  /** The 25 GB of storage; the 25 WCU/RCU are provisioned capacity, not on-demand request units. */
  dynamodbStorageGb: { amount: 25, kind: 'always free', source: PRICES.dynamodb.source },
  cognitoMau: { amount: 10_000, kind: 'always free', source: PRICES.cognito.source },
  xrayTracesRecorded: { amount: 100_000, kind: 'always free', source: PRICES.xray.source },
  /** 5 GB a month of ingestion, storage and Logs Insights scans together. */
  cloudWatchLogsGb: { amount: 5, kind: 'always free', source: PRICES.cloudWatchLogs.source },
  apiGatewayHttpRequests: { amount: 1_000_000, kind: '12-month', source: PRICES.apiGateway.source },
  sesEmails: { amount: 3_000, kind: '12-month', source: PRICES.ses.source },
  s3StorageGb: { amount: 5, kind: '12-month', source: PRICES.s3.source },
  s3Gets: { amount: 20_000, kind: '12-month', source: PRICES.s3.source },
  s3Puts: { amount: 2_000, kind: '12-month', source: PRICES.s3.source },
  /** EventBridge custom events and Secrets Manager have no free tier (a 30-day trial per new secret only). */
} as const satisfies Record<string, { amount: number; kind: FreeTierKind; source: string }>;

/** Memory of a deployed function when functions/catalog.ts does not set one (lib/functions.ts). */
export const DEFAULT_MEMORY_MB = 512;

/**
 * What the cost part still leaves out: the per-record table prices Step Functions, Lambda, DynamoDB
 * units and SES; the month table (bench/lib/cost-model.ts) adds every other service above, but these
 * are not counted anywhere yet.
 */
export const UNPRICED = ['DynamoDB storage and PITR (table size not measured)', 'CloudWatch custom metrics and alarms (per metric/alarm-month)', 'Step Functions execution logs (LogLevel.ALL) and API access logs', 'data transfer out'] as const;
