import { describe, expect, it } from 'vitest';
import { afterFree, dominant, monthlyCost, perPartnerAndUser, type MonthlyUsage } from '../../bench/lib/cost-model.ts';
import { FREE_TIERS, PRICES } from '../../bench/prices.ts';

const zero: MonthlyUsage = {
  stateTransitions: 0, lambdaRequests: 0, lambdaGbSeconds: 0, dynamodbReadUnits: 0, dynamodbWriteUnits: 0, dynamodbStorageGb: 0,
  emails: 0, apiRequests: 0, cognitoMau: 0, customEvents: 0, s3Puts: 0, s3Gets: 0, s3StorageGb: 0, logGbIngested: 0, logGbStored: 0,
  tracesRecorded: 0, secretsManagerCalls: 0, secrets: 0,
};

describe('cost model arithmetic', () => {
  it('takes the free tier off and never goes below zero', () => {
    expect(afterFree(5_000, 4_000)).toBe(1_000);
    expect(afterFree(3_000, 4_000)).toBe(0);
  });

  it('prices Cognito MAUs on the Essentials plan above the 10,000 free', () => {
    const u = { ...zero, cognitoMau: 30_000 };
    expect(PRICES.cognito.featurePlan).toBe('Essentials');
    expect(monthlyCost(u, { freeTiers: false }).Cognito).toBeCloseTo(30_000 * 0.015, 10);
    expect(monthlyCost(u, { freeTiers: true }).Cognito).toBeCloseTo((30_000 - FREE_TIERS.cognitoMau.amount) * 0.015, 10);
  });

  it('charges Step Functions only above 4,000 transitions with the free tier', () => {
    const u = { ...zero, stateTransitions: 10_000 };
    expect(monthlyCost(u, { freeTiers: false })['Step Functions']).toBeCloseTo(0.25, 10);
    expect(monthlyCost(u, { freeTiers: true })['Step Functions']).toBeCloseTo(0.15, 10);
  });

  it('shares the 5 GB CloudWatch Logs allowance between ingestion and storage', () => {
    const u = { ...zero, logGbIngested: 4, logGbStored: 4 };
    // 4 GB ingested are free, 1 GB of the allowance is left for storage: 3 GB-month billed.
    expect(monthlyCost(u, { freeTiers: true })['CloudWatch Logs']).toBeCloseTo(3 * 0.03, 10);
    expect(monthlyCost(u, { freeTiers: false })['CloudWatch Logs']).toBeCloseTo(4 * 0.5 + 4 * 0.03, 10);
  });

  it('names the dominant service and spreads the total per partner and per user', () => {
    const c = monthlyCost({ ...zero, cognitoMau: 20_000, apiRequests: 1_000_000, secrets: 1 }, { freeTiers: false });
    expect(dominant(c).service).toBe('Cognito');
    expect(c.total).toBeCloseTo(300 + 1 + 0.4, 10);
    const per = perPartnerAndUser(c.total, 10_000, 2);
    expect(per.perPartnerMonth).toBeCloseTo(c.total / 10_000, 12);
    expect(per.perUserMonth).toBeCloseTo(c.total / 20_000, 12);
  });
});
