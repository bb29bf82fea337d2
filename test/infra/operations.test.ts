import { isDeepStrictEqual } from 'node:util';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { TABLE_DEFINITION } from '../../functions/core/table.ts';
import { ROUTES, routeKey } from '../../functions/catalog.ts';
import { SES_BOUNCE_RATE_ALARM, SES_COMPLAINT_RATE_ALARM } from '../../lib/operations.ts';
import { DEFAULT_WEB_ORIGINS, PrmStack, type PrmStackProps } from '../../lib/prm-stack.ts';

/** What an operator reads in the synthesized template: alarms, retries, lifecycle, CORS, throttles. */

type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: string | string[] };
type Resources = Record<string, Resource>;

const synth = (props?: PrmStackProps, context: Record<string, unknown> = {}) => {
  // Skip esbuild: this checks the template, `npx cdk synth` checks the bundles.
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  return Template.fromStack(new PrmStack(app, 'OpsTest', props));
};
const ids = (template: Template, type: string) => Object.keys(template.findResources(type));
const only = (template: Template, type: string): [string, Resource] => {
  const found = Object.entries(template.findResources(type) as Resources);
  expect(found, type).toHaveLength(1);
  return found[0]!;
};

const WEB_ORIGINS = ['https://portal.example.com', 'http://localhost:5173'];

let template: Template;
let alarms: Resource[];
let topicId: string;

beforeAll(() => {
  template = synth({ alarmEmail: 'ops@example.com', webOrigins: WEB_ORIGINS });
  alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm') as Resources);
  [topicId] = only(template, 'AWS::SNS::Topic');
});

const dimensionsOf = (metric: { Dimensions?: { Name: string; Value: unknown }[] }) =>
  Object.fromEntries((metric.Dimensions ?? []).map((d) => [d.Name, d.Value]));

/** Alarms on a plain metric (not metric math), with exactly these dimensions if given, e.g. { FunctionName: { Ref: id } }. */
const alarmsOn = (namespace: string, metricName: string, dimensions?: Record<string, unknown>) =>
  alarms.filter(
    (a) =>
      a.Properties.Namespace === namespace &&
      a.Properties.MetricName === metricName &&
      (!dimensions || isDeepStrictEqual(dimensionsOf(a.Properties), dimensions)),
  );

describe('alarms', () => {
  it('all notify the one alarm topic (alarm and OK) and treat missing data as not breaching', () => {
    expect(alarms.length).toBeGreaterThan(0);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions, alarm.Properties.AlarmName).toEqual([{ Ref: topicId }]);
      expect(alarm.Properties.OKActions, alarm.Properties.AlarmName).toEqual([{ Ref: topicId }]);
      expect(alarm.Properties.TreatMissingData, alarm.Properties.AlarmName).toBe('notBreaching');
      expect(alarm.Properties.AlarmDescription, alarm.Properties.AlarmName).toBeTruthy();
    }
  });

  it('emails the topic when alarmEmail is given, as a prop or as context, and not otherwise', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: { Ref: topicId } });
    synth(undefined, { alarmEmail: 'oncall@example.com' }).hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
    synth().resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('watches every Lambda function for errors and throttles', () => {
    const functions = ids(template, 'AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThan(0);
    for (const metric of ['Errors', 'Throttles']) {
      expect(alarmsOn('AWS/Lambda', metric), metric).toHaveLength(functions.length);
      for (const id of functions) expect(alarmsOn('AWS/Lambda', metric, { FunctionName: { Ref: id } }), `${id} ${metric}`).toHaveLength(1);
    }
  });

  it('watches every state machine for failed, timed out and aborted executions', () => {
    const machines = ids(template, 'AWS::StepFunctions::StateMachine');
    expect(machines.length).toBeGreaterThan(0);
    for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted']) {
      expect(alarmsOn('AWS/States', metric), metric).toHaveLength(machines.length);
      for (const id of machines) expect(alarmsOn('AWS/States', metric, { StateMachineArn: { Ref: id } }), `${id} ${metric}`).toHaveLength(1);
    }
  });

  it('watches the HTTP API stage for 5xx (ApiId and Stage dimensions)', () => {
    const [apiId] = only(template, 'AWS::ApiGatewayV2::Api');
    const [, stage] = only(template, 'AWS::ApiGatewayV2::Stage');
    const found = alarmsOn('AWS/ApiGateway', '5xx', { ApiId: { Ref: apiId }, Stage: stage.Properties.StageName });
    expect(found).toHaveLength(1);
    expect(found[0]!.Properties.Statistic).toBe('Sum');
  });

  it('watches the table and each GSI for read and write throttle events', () => {
    const [tableId] = only(template, 'AWS::DynamoDB::Table');
    const throttleAlarms = alarms.filter((a) => JSON.stringify(a.Properties.Metrics ?? []).includes('ThrottleEvents'));
    const targets = [undefined, ...TABLE_DEFINITION.globalSecondaryIndexes.map((g) => g.indexName)];
    expect(throttleAlarms).toHaveLength(targets.length);
    for (const index of targets) {
      const expected = { TableName: { Ref: tableId }, ...(index ? { GlobalSecondaryIndexName: index } : {}) };
      const matching = throttleAlarms.filter((a) => {
        const metrics = (a.Properties.Metrics as any[]).filter((m) => m.MetricStat).map((m) => m.MetricStat.Metric);
        return (
          isDeepStrictEqual(metrics.map((m) => m.MetricName).sort(), ['ReadThrottleEvents', 'WriteThrottleEvents']) &&
          metrics.every((m) => m.Namespace === 'AWS/DynamoDB' && isDeepStrictEqual(dimensionsOf(m), expected))
        );
      });
      expect(matching, index ?? 'table').toHaveLength(1);
    }
  });

  it('watches the SES bounce and complaint rates below the levels at which SES reviews the account', () => {
    const bounce = alarmsOn('AWS/SES', 'Reputation.BounceRate');
    const complaint = alarmsOn('AWS/SES', 'Reputation.ComplaintRate');
    expect(bounce).toHaveLength(1);
    expect(complaint).toHaveLength(1);
    expect(bounce[0]!.Properties.Threshold).toBe(SES_BOUNCE_RATE_ALARM);
    expect(complaint[0]!.Properties.Threshold).toBe(SES_COMPLAINT_RATE_ALARM);
    expect(SES_BOUNCE_RATE_ALARM).toBeLessThan(0.05);
    expect(SES_COMPLAINT_RATE_ALARM).toBeLessThan(0.001);
  });

  it('alarms on the first approver email that could not be delivered (the metric the approvals code emits)', () => {
    const undelivered = alarmsOn('PRM', 'ApprovalEmailsUndelivered');
    expect(undelivered).toHaveLength(1);
    expect(undelivered[0]!.Properties.Threshold).toBe(1);
    expect(undelivered[0]!.Properties.Dimensions).toEqual([{ Name: 'service', Value: 'prm' }]);
  });
});

describe('monthly payout schedule', () => {
  it('sends what it cannot deliver to an encrypted 14-day dead-letter queue, after a bounded retry policy', () => {
    const [queueId, queue] = only(template, 'AWS::SQS::Queue');
    expect(queue.Properties.SqsManagedSseEnabled === true || queue.Properties.KmsMasterKeyId !== undefined).toBe(true);
    expect(queue.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    const [, schedule] = only(template, 'AWS::Scheduler::Schedule');
    const { DeadLetterConfig, RetryPolicy } = schedule.Properties.Target;
    expect(DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } });
    expect(RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
    expect(RetryPolicy.MaximumRetryAttempts).toBeLessThanOrEqual(3); // at most 4 attempts
    expect(RetryPolicy.MaximumEventAgeInSeconds).toBeLessThan(24 * 3600); // less than the Scheduler default
  });

  it('sends a failed run of the target function to the same queue (Scheduler invokes asynchronously)', () => {
    const [queueId] = only(template, 'AWS::SQS::Queue');
    const [, schedule] = only(template, 'AWS::Scheduler::Schedule');
    const [functionId] = schedule.Properties.Target.Arn['Fn::GetAtt'];
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: functionId },
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
    });
  });

  it('alarms as soon as the dead-letter queue holds a message', () => {
    const [queueId] = only(template, 'AWS::SQS::Queue');
    const found = alarmsOn('AWS/SQS', 'ApproximateNumberOfMessagesVisible', { QueueName: { 'Fn::GetAtt': [queueId, 'QueueName'] } });
    expect(found).toHaveLength(1);
    expect(found[0]!.Properties).toMatchObject({ ComparisonOperator: 'GreaterThanThreshold', Threshold: 0 });
  });
});

/** The versioned bucket: the blobs (proofs and exports); the access-log bucket is not versioned. */
const blobsBucket = (t: Template) => {
  const versioned = Object.values(t.findResources('AWS::S3::Bucket') as Resources).filter((b) => b.Properties.VersioningConfiguration?.Status === 'Enabled');
  expect(versioned).toHaveLength(1);
  return versioned[0]!;
};
const lower = (values: string[]) => values.map((v) => v.toLowerCase());

describe('blobs bucket', () => {
  it('expires noncurrent versions, aborts incomplete multipart uploads within a week and removes expired delete markers', () => {
    const rules = blobsBucket(template).Properties.LifecycleConfiguration.Rules as any[];
    for (const rule of rules) expect(rule.Status).toBe('Enabled');
    const noncurrent = rules.filter((r) => r.NoncurrentVersionExpiration);
    expect(noncurrent).toHaveLength(1);
    expect(noncurrent[0].NoncurrentVersionExpiration.NoncurrentDays).toBeGreaterThan(0);
    const multipart = rules.filter((r) => r.AbortIncompleteMultipartUpload);
    expect(multipart).toHaveLength(1);
    expect(multipart[0].AbortIncompleteMultipartUpload.DaysAfterInitiation).toBeGreaterThanOrEqual(1);
    expect(multipart[0].AbortIncompleteMultipartUpload.DaysAfterInitiation).toBeLessThanOrEqual(7);
    expect(rules.filter((r) => r.ExpiredObjectDeleteMarker === true)).toHaveLength(1);
    // Current versions never expire: a proof backs a money claim.
    expect(rules.filter((r) => r.ExpirationInDays !== undefined || r.ExpirationDate !== undefined)).toEqual([]);
  });

  it('lets the web origins PUT, GET and HEAD presigned URLs with the checksum headers, and read the ETag', () => {
    const rules = blobsBucket(template).Properties.CorsConfiguration.CorsRules as any[];
    expect(rules).toHaveLength(1);
    const [rule] = rules;
    expect(rule.AllowedOrigins).toEqual(WEB_ORIGINS);
    expect([...rule.AllowedMethods].sort()).toEqual(['GET', 'HEAD', 'PUT']);
    for (const header of ['content-type', 'content-length', 'x-amz-checksum-sha256', 'x-amz-sdk-checksum-algorithm', 'if-none-match']) {
      expect(lower(rule.AllowedHeaders), header).toContain(header);
    }
    expect(rule.ExposedHeaders).toContain('ETag');
  });
});

describe('API CORS', () => {
  it('answers preflights for the web origins, every method of the catalog and the Authorization, Content-Type and Idempotency-Key headers', () => {
    const [, api] = only(template, 'AWS::ApiGatewayV2::Api');
    const cors = api.Properties.CorsConfiguration;
    expect(cors.AllowOrigins).toEqual(WEB_ORIGINS);
    expect([...cors.AllowMethods].sort()).toEqual([...new Set(ROUTES.map((r) => r.method))].sort());
    expect(lower(cors.AllowHeaders).sort()).toEqual(['authorization', 'content-type', 'idempotency-key']);
    expect(cors.AllowCredentials).not.toBe(true); // bearer tokens in a header, no cookies
  });

  it('takes the origins from context (comma-separated) or defaults them, for the API and the bucket alike', () => {
    const fromContext = synth(undefined, { webOrigins: 'https://a.example.com, https://b.example.com' });
    const byDefault = synth();
    for (const [t, expected] of [
      [fromContext, ['https://a.example.com', 'https://b.example.com']],
      [byDefault, DEFAULT_WEB_ORIGINS],
    ] as const) {
      expect(only(t, 'AWS::ApiGatewayV2::Api')[1].Properties.CorsConfiguration.AllowOrigins).toEqual(expected);
      expect(blobsBucket(t).Properties.CorsConfiguration.CorsRules[0].AllowedOrigins).toEqual(expected);
    }
  });

  it('refuses an origin with a path', () => {
    expect(() => synth({ webOrigins: ['https://portal.example.com/app'] })).toThrow(/webOrigins/);
  });
});

describe('API throttling', () => {
  it('keeps a default throttle for every route and gives each public route its own, lower one', () => {
    const [, stage] = only(template, 'AWS::ApiGatewayV2::Stage');
    const defaults = stage.Properties.DefaultRouteSettings;
    expect(defaults.ThrottlingRateLimit).toBeGreaterThan(0);
    expect(defaults.ThrottlingBurstLimit).toBeGreaterThan(0);

    const publicKeys = ROUTES.filter((r) => r.auth === 'public').map(routeKey);
    for (const key of ['POST /applications', 'GET /approvals/{approvalId}', 'POST /approvals/{approvalId}/decision']) expect(publicKeys).toContain(key);
    const settings = stage.Properties.RouteSettings as Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }>;
    expect(Object.keys(settings).sort()).toEqual([...publicKeys].sort());
    for (const key of publicKeys) {
      expect(settings[key]!.ThrottlingRateLimit, key).toBeGreaterThan(0);
      expect(settings[key]!.ThrottlingRateLimit, key).toBeLessThan(defaults.ThrottlingRateLimit);
      expect(settings[key]!.ThrottlingBurstLimit, key).toBeGreaterThan(0);
      expect(settings[key]!.ThrottlingBurstLimit, key).toBeLessThan(defaults.ThrottlingBurstLimit);
    }
  });

  it('creates the throttled routes before the stage (route settings must name existing routes)', () => {
    const [, stage] = only(template, 'AWS::ApiGatewayV2::Stage');
    const routes = Object.entries(template.findResources('AWS::ApiGatewayV2::Route') as Resources);
    const dependsOn = [stage.DependsOn ?? []].flat();
    for (const key of Object.keys(stage.Properties.RouteSettings)) {
      const [id] = routes.find(([, r]) => r.Properties.RouteKey === key) ?? [];
      expect(id, key).toBeDefined();
      expect(dependsOn, key).toContain(id);
    }
  });
});
