/**
 * List prices the cost model counts with: us-east-1 (docs/design.md, "Cost and performance", lists
 * them). Keep every price here; the benchmarks never type a price anywhere else.
 */
export const PRICES = {
  region: 'us-east-1',
  stepFunctions: {
    /** Standard workflows, per state transition. */
    perStateTransition: 0.025 / 1_000,
  },
  lambda: {
    perRequest: 0.2 / 1_000_000,
    /** arm64. */
    perGbSecond: 0.0000133334,
    /** Lambda bills duration rounded up to the next millisecond. */
    durationGranularityMs: 1,
  },
  dynamodb: {
    /** On-demand write request unit (1 KB; transactional writes count double). */
    perWriteUnit: 0.625 / 1_000_000,
    /** On-demand read request unit (4 KB strongly consistent; eventual costs half). */
    perReadUnit: 0.125 / 1_000_000,
  },
  ses: {
    perEmail: 0.1 / 1_000,
  },
  /** Per-seat PRM licences the product is compared with (one user per partner). */
  seatLicencesPerUserMonth: [2, 25],
} as const;

/** Memory of a deployed function when functions/catalog.ts does not set one (lib/functions.ts). */
export const DEFAULT_MEMORY_MB = 512;

/** Services a deployment also uses that have no price here yet: counted, not priced. */
export const UNPRICED = ['API Gateway HTTP API requests', 'S3 requests (proof uploads)', 'EventBridge events', 'CloudWatch Logs / X-Ray', 'Cognito users', 'Secrets Manager calls'] as const;
