import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

// Off the Lambda runtime (npm start, tests) the embedded-metric JSON would only clutter stdout.
if (!process.env.AWS_LAMBDA_FUNCTION_NAME && process.env.POWERTOOLS_METRICS_DISABLED === undefined) {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
}

/** CloudWatch metrics in embedded metric format, flushed at the end of every invocation (http-base, tasks). */
export const metrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'PRM', serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'prm' });

/** The business figures a channel team watches; each is a count unless stated. */
export type BusinessMetric =
  | 'ApplicationsApproved'
  | 'FundRequestsApproved'
  | 'ClaimsApproved'
  | 'ClaimsRejected'
  | 'ApprovalsEscalated'
  | 'ApprovalsExpired'
  | 'ApprovalRemindersSent'
  | 'ApprovalEmailsUndelivered'
  | 'PaymentsHeld'
  /** Minor units of one currency (the `currency` dimension) a run will pay. */
  | 'PayoutTotalMinor';

export function recordMetric(name: BusinessMetric, value = 1, dimensions: Record<string, string> = {}): void {
  if (Object.keys(dimensions).length === 0) {
    metrics.addMetric(name, MetricUnit.Count, value);
    return;
  }
  // A dimensioned figure goes in its own EMF document so its dimensions do not leak onto the others.
  const single = metrics.singleMetric();
  for (const [key, v] of Object.entries(dimensions)) single.addDimension(key, v);
  single.addMetric(name, MetricUnit.Count, value);
}

export function flushMetrics(): void {
  metrics.publishStoredMetrics();
}
