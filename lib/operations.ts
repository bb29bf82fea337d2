import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type { HttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { Alarm, ComparisonOperator, MathExpression, Metric, TreatMissingData, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { TABLE_DEFINITION } from '../functions/core/table.ts';

/**
 * SES reviews an account at a 5% bounce rate and a 0.1% complaint rate (and pauses sending at 10%
 * and 0.5%); the alarms fire a little before the review, while there is time to clean the list.
 */
export const SES_BOUNCE_RATE_ALARM = 0.04;
export const SES_COMPLAINT_RATE_ALARM = 0.0008;

export interface OperationsProps {
  /** Subscribed to the alarm topic when given (it has to confirm the subscription email). */
  alarmEmail?: string;
  functions: ReadonlyMap<string, IFunction>;
  stateMachines: ReadonlyMap<string, IStateMachine>;
  apiStage: HttpStage;
  table: ITable;
  /** Queues that should stay empty: one message means something was not done. */
  deadLetterQueues: Readonly<Record<string, IQueue>>;
}

interface AlarmSpec {
  threshold: number;
  description: string;
  comparisonOperator?: ComparisonOperator;
}

/**
 * CloudWatch alarms on everything that fails quietly (function errors and throttles, failed or
 * stuck workflows, API 5xx, DynamoDB throttles, SES reputation, dead letters), all notifying one
 * SNS topic. Each alarm is in ALARM for one breaching period and recovers (OK, also notified) by itself.
 */
export class Operations extends Construct {
  readonly topic: Topic;
  private readonly action: SnsAction;

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    this.topic = new Topic(this, 'AlarmTopic', { displayName: `${Stack.of(this).stackName} alarms`, enforceSSL: true });
    Validations.of(this.topic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'The topic carries CloudWatch alarm notifications (alarm name, metric, threshold), no business data; CloudWatch cannot publish to a topic under the AWS-managed SNS key, and a customer key would only protect those alarm texts.',
    });
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
    this.action = new SnsAction(this.topic);

    const fiveMinutes = { period: Duration.minutes(5), statistic: 'Sum' };
    for (const [name, fn] of props.functions) {
      this.alarm(`${name}-Errors`, fn.metricErrors(fiveMinutes), {
        threshold: 1,
        description: `Lambda ${name} failed (unhandled error or timeout); its log group has the stack trace.`,
      });
      this.alarm(`${name}-Throttles`, fn.metricThrottles(fiveMinutes), {
        threshold: 1,
        description: `Lambda ${name} was throttled: the account's concurrency is exhausted.`,
      });
    }

    for (const [name, machine] of props.stateMachines) {
      this.alarm(`${name}-ExecutionsFailed`, machine.metricFailed(fiveMinutes), {
        threshold: 1,
        description: `A ${name} execution failed; the Step Functions console shows the failing state.`,
      });
      this.alarm(`${name}-ExecutionsTimedOut`, machine.metricTimedOut(fiveMinutes), {
        threshold: 1,
        description: `A ${name} execution timed out.`,
      });
      // Nothing in the system stops executions: an abort is a person's StopExecution, worth knowing about.
      this.alarm(`${name}-ExecutionsAborted`, machine.metricAborted(fiveMinutes), {
        threshold: 1,
        description: `A ${name} execution was stopped (StopExecution); whatever it was doing is left half done.`,
      });
    }

    this.alarm('Api-5xx', props.apiStage.metricServerError(fiveMinutes), {
      threshold: 5,
      description: 'The HTTP API answered 5xx at least 5 times in 5 minutes (function errors, timeouts or integration failures).',
    });

    // The table and each GSI (read and write throttle events); on-demand tables throttle on hot partitions.
    for (const indexName of [undefined, ...TABLE_DEFINITION.globalSecondaryIndexes.map((g) => g.indexName)]) {
      const dimensionsMap = { TableName: props.table.tableName, ...(indexName ? { GlobalSecondaryIndexName: indexName } : {}) };
      const events = (metricName: string) => new Metric({ namespace: 'AWS/DynamoDB', metricName, dimensionsMap, ...fiveMinutes });
      const label = indexName ? `index ${indexName}` : 'the table';
      this.alarm(
        `DynamoDb-${indexName ?? 'Table'}-Throttles`,
        new MathExpression({ expression: 'reads + writes', usingMetrics: { reads: events('ReadThrottleEvents'), writes: events('WriteThrottleEvents') }, period: Duration.minutes(5), label: `Throttle events on ${label}` }),
        { threshold: 1, description: `DynamoDB throttled requests to ${label} (a hot partition key or the account's table limits).` },
      );
    }

    // Account-level reputation metrics: the stack sends without a configuration set.
    const reputation = (metricName: string) => new Metric({ namespace: 'AWS/SES', metricName, statistic: 'Maximum', period: Duration.hours(1) });
    this.alarm('Ses-BounceRate', reputation('Reputation.BounceRate'), {
      threshold: SES_BOUNCE_RATE_ALARM,
      description: `SES bounce rate at ${SES_BOUNCE_RATE_ALARM * 100}% (review at 5%, sending paused at 10%): look for bad recipient addresses.`,
    });
    this.alarm('Ses-ComplaintRate', reputation('Reputation.ComplaintRate'), {
      threshold: SES_COMPLAINT_RATE_ALARM,
      description: `SES complaint rate at ${SES_COMPLAINT_RATE_ALARM * 100}% (review at 0.1%, sending paused at 0.5%).`,
    });

    // The business metric functions/approvals/request.ts emits (Powertools EMF: namespace PRM, dimension service).
    this.alarm(
      'Approvals-EmailsUndelivered',
      new Metric({ namespace: 'PRM', metricName: 'ApprovalEmailsUndelivered', dimensionsMap: { service: 'prm' }, ...fiveMinutes }),
      {
        threshold: 1,
        description: 'An approver could not be emailed after every retry: GET /approvals?undelivered=true lists the approvals that wait for someone who was not told.',
      },
    );

    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      this.alarm(`${name}-DeadLetters`, queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }), {
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        description: `${name} has messages: something that should have run did not. Read them, fix the cause, re-run by hand.`,
      });
    }
  }

  private alarm(id: string, metric: IMetric, { threshold, description, comparisonOperator }: AlarmSpec): Alarm {
    const alarm = new Alarm(this, id, {
      alarmName: `${Stack.of(this).stackName}-${id}`,
      alarmDescription: description,
      metric,
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: comparisonOperator ?? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    return alarm;
  }
}
