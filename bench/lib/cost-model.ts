import { FREE_TIERS, PRICES } from '../prices.ts';

/**
 * Pure cost arithmetic of the cost model: monthly usage in, USD per service out, with and without
 * the free tiers (bench/prices.ts). No I/O, so test/unit/cost-model.test.ts can check it.
 */
export interface MonthlyUsage {
  stateTransitions: number;
  lambdaRequests: number;
  lambdaGbSeconds: number;
  dynamodbReadUnits: number;
  dynamodbWriteUnits: number;
  dynamodbStorageGb: number;
  emails: number;
  apiRequests: number;
  cognitoMau: number;
  customEvents: number;
  s3Puts: number;
  s3Gets: number;
  s3StorageGb: number;
  logGbIngested: number;
  /** Stored log GB-month (one month of retention: about one month of ingestion). */
  logGbStored: number;
  tracesRecorded: number;
  secretsManagerCalls: number;
  secrets: number;
}

export type ServiceCost = Record<'Step Functions' | 'Lambda' | 'DynamoDB' | 'SES' | 'API Gateway' | 'Cognito' | 'EventBridge' | 'S3' | 'CloudWatch Logs' | 'X-Ray' | 'Secrets Manager', number>;

/** What is left to pay for `used` once `free` is taken off (never below zero). */
export const afterFree = (used: number, free: number) => Math.max(0, used - free);

export function monthlyCost(u: MonthlyUsage, { freeTiers }: { freeTiers: boolean }): ServiceCost & { total: number } {
  const f = (used: number, free: number) => (freeTiers ? afterFree(used, free) : used);
  const t = FREE_TIERS;
  // The 5 GB CloudWatch Logs allowance covers ingestion and storage together: ingestion first.
  const logIngested = f(u.logGbIngested, t.cloudWatchLogsGb.amount);
  const logFreeLeft = freeTiers ? Math.max(0, t.cloudWatchLogsGb.amount - u.logGbIngested) : 0;
  const cost: ServiceCost = {
    'Step Functions': f(u.stateTransitions, t.stepFunctionsTransitions.amount) * PRICES.stepFunctions.perStateTransition,
    Lambda: f(u.lambdaRequests, t.lambdaRequests.amount) * PRICES.lambda.perRequest + f(u.lambdaGbSeconds, t.lambdaGbSeconds.amount) * PRICES.lambda.perGbSecond,
    DynamoDB:
      u.dynamodbReadUnits * PRICES.dynamodb.perReadUnit +
      u.dynamodbWriteUnits * PRICES.dynamodb.perWriteUnit +
      f(u.dynamodbStorageGb, t.dynamodbStorageGb.amount) * PRICES.dynamodb.perGbMonth +
      u.dynamodbStorageGb * PRICES.dynamodb.pitrPerGbMonth,
    SES: f(u.emails, t.sesEmails.amount) * PRICES.ses.perEmail,
    'API Gateway': f(u.apiRequests, t.apiGatewayHttpRequests.amount) * PRICES.apiGateway.perHttpRequest,
    Cognito: f(u.cognitoMau, t.cognitoMau.amount) * PRICES.cognito.perMau,
    EventBridge: u.customEvents * PRICES.eventBridge.perCustomEvent,
    S3: f(u.s3Puts, t.s3Puts.amount) * PRICES.s3.perPut + f(u.s3Gets, t.s3Gets.amount) * PRICES.s3.perGet + f(u.s3StorageGb, t.s3StorageGb.amount) * PRICES.s3.perGbMonth,
    'CloudWatch Logs': logIngested * PRICES.cloudWatchLogs.perGbIngested + afterFree(u.logGbStored, logFreeLeft) * PRICES.cloudWatchLogs.perGbMonthStored,
    'X-Ray': f(u.tracesRecorded, t.xrayTracesRecorded.amount) * PRICES.xray.perTraceRecorded,
    'Secrets Manager': u.secrets * PRICES.secretsManager.perSecretMonth + u.secretsManagerCalls * PRICES.secretsManager.perApiCall,
  };
  return { ...cost, total: Object.values(cost).reduce((s, v) => s + v, 0) };
}

/** The service that costs most, and its share of the total. */
export function dominant(cost: ServiceCost & { total: number }): { service: keyof ServiceCost; share: number } {
  const [service, value] = (Object.entries(cost) as [keyof ServiceCost | 'total', number][]).filter(([k]) => k !== 'total').sort((a, b) => b[1] - a[1])[0]! as [keyof ServiceCost, number];
  return { service, share: cost.total > 0 ? value / cost.total : 0 };
}

/** Monthly cost spread over partners and over their users (every user signs in: one MAU each). */
export function perPartnerAndUser(total: number, partners: number, usersPerPartner: number) {
  return { perPartnerMonth: total / partners, perUserMonth: total / (partners * usersPerPartner) };
}
