/**
 * Runtime configuration: approver routing, thresholds, tier budgets, timeouts. Defaults suit the
 * local runtime; deployed, `PRM_CONFIG` (JSON, deep-merged over the defaults) overrides any part.
 */
export type Tier = 'registered' | 'silver' | 'gold' | 'platinum';
export const TIERS: readonly Tier[] = ['registered', 'silver', 'gold', 'platinum'];

export interface PrmConfig {
  baseUrl: string;
  emailFrom: string;
  approvers: {
    channelManager: string;
    marketingDirector: string;
    finance: string;
    escalation: string;
  };
  /** Seconds an approver has before the workflow times the approval out. */
  approvalTimeoutSeconds: number;
  /** A new partner's channel manager by its country (ISO 3166-1 alpha-2); otherwise the approver of its application. */
  channelManagersByCountry: Record<string, string>;
  /** Seconds a partner has to resubmit a claim after changes were requested. */
  resubmissionTimeoutSeconds: number;
  /** Tier from projected annual revenue (USD-equivalent minor units): highest threshold reached. */
  tierThresholds: { tier: Tier; fromAnnualRevenue: number }[];
  /** Quarterly MDF budget by tier, in minor units of `budgetCurrency`. */
  tierQuarterlyBudget: Record<Tier, number>;
  budgetCurrency: string;
  claims: {
    windowDays: number;
    autoApproveMaxAmount: number;
    autoApproveTiers: Tier[];
    singleApprovalMaxAmount: number;
    /** How long after submission proof files may still arrive before the claim is sent back. */
    uploadWindowSeconds: number;
    /** Pause between checks for proof files that are not uploaded yet. */
    uploadPollSeconds: number;
  };
  idempotencyTtlSeconds: number;
  /**
   * How long an IN_PROGRESS idempotency record holds its key when the function's deadline is not
   * known (the API functions pass the time they have left instead); after it a retry takes over.
   */
  idempotencyInProgressSeconds: number;
  /**
   * A payout run takes the sales posted up to this many seconds before it started; later ones are
   * late and go to the next run. Deployed, a sale stamped just before the start may still be in
   * flight for up to the sales API's timeout (lib/ sets it above that); locally a sale is written
   * before its POST answers, so 0.
   */
  salesSettleSeconds: number;
}

export const DEFAULT_CONFIG: PrmConfig = {
  baseUrl: 'http://127.0.0.1:3000',
  emailFrom: 'prm@example.com',
  approvers: {
    channelManager: 'channel.manager@example.com',
    marketingDirector: 'marketing.director@example.com',
    finance: 'finance@example.com',
    escalation: 'admin@example.com',
  },
  approvalTimeoutSeconds: 3 * 24 * 3600,
  channelManagersByCountry: {},
  resubmissionTimeoutSeconds: 14 * 24 * 3600,
  tierThresholds: [
    { tier: 'registered', fromAnnualRevenue: 0 },
    { tier: 'silver', fromAnnualRevenue: 25_000_000 },
    { tier: 'gold', fromAnnualRevenue: 100_000_000 },
    { tier: 'platinum', fromAnnualRevenue: 500_000_000 },
  ],
  tierQuarterlyBudget: { registered: 500_000, silver: 1_500_000, gold: 5_000_000, platinum: 15_000_000 },
  budgetCurrency: 'USD',
  claims: {
    windowDays: 60,
    autoApproveMaxAmount: 50_000,
    autoApproveTiers: ['gold', 'platinum'],
    singleApprovalMaxAmount: 1_000_000,
    uploadWindowSeconds: 3600,
    uploadPollSeconds: 60,
  },
  idempotencyTtlSeconds: 24 * 3600,
  idempotencyInProgressSeconds: 30,
  salesSettleSeconds: 0,
};

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };

function merge<T>(base: T, override: DeepPartial<T> | undefined): T {
  if (!override) return base;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(override)) {
    const current = out[key];
    out[key] =
      value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object' && !Array.isArray(current)
        ? merge(current, value as DeepPartial<typeof current>)
        : value;
  }
  return out as T;
}

let cached: { raw: string | undefined; config: PrmConfig } | undefined;

export function config(): PrmConfig {
  const raw = process.env.PRM_CONFIG;
  if (!cached || cached.raw !== raw) {
    cached = { raw, config: merge(DEFAULT_CONFIG, raw ? (JSON.parse(raw) as DeepPartial<PrmConfig>) : undefined) };
  }
  return cached.config;
}

/** Half a rung of the escalation ladder, rounded up: the first wait, after which the approver is reminded. */
export const halfRung = (rungSeconds: number): number => Math.max(1, Math.ceil(rungSeconds / 2));

/** The approval timeouts every workflow's input carries (its waiting states read them). */
export function approvalTimeouts(): { approvalSeconds: number; approvalHalfSeconds: number } {
  const rung = config().approvalTimeoutSeconds;
  return { approvalSeconds: rung, approvalHalfSeconds: halfRung(rung) };
}
