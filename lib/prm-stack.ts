import { CfnOutput, Duration, Stack, Tags, TimeZone, Validations, type CfnElement, type StackProps } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { EventBus } from 'aws-cdk-lib/aws-events';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { FUNCTIONS, ROUTES, STATE_MACHINES, type FunctionName, type FunctionSpec, type Grant } from '../functions/catalog.ts';
import { Api } from './api.ts';
import { Auth } from './auth.ts';
import { Data } from './data.ts';
import { PrmFunction, stateMachineArn } from './functions.ts';
import { Notifications } from './notifications.ts';
import { Operations } from './operations.ts';
import { Workflows, deployableStateMachines } from './workflows.ts';

/** Context `prmConfig`: a JSON object (or its string form) merged under the deployed PRM_CONFIG. */
function prmConfigContext(scope: Construct): Record<string, unknown> {
  const raw: unknown = scope.node.tryGetContext('prmConfig');
  if (raw === undefined) return {};
  return (typeof raw === 'string' ? JSON.parse(raw) : raw) as Record<string, unknown>;
}

/** Placeholder like DEFAULT_EMAIL_IDENTITY: a deployment sets its web app's origin(s). */
export const DEFAULT_WEB_ORIGINS = ['https://prm.example.com'];

export interface PrmStackProps extends StackProps {
  /** Where alarm notifications are emailed (context `alarmEmail`); no subscription when unset. */
  alarmEmail?: string;
  /**
   * Origins (`https://host[:port]`) of the web app: CORS on the API and on presigned blob URLs.
   * Context `webOrigins`: a comma-separated string or a JSON array. Default DEFAULT_WEB_ORIGINS.
   */
  webOrigins?: string[];
}

/** Props, else context, else the default; each must be a bare origin (no path, no trailing slash). */
function webOrigins(scope: Construct, fromProps?: string[]): string[] {
  const raw: unknown = fromProps ?? scope.node.tryGetContext('webOrigins') ?? DEFAULT_WEB_ORIGINS;
  const origins = (Array.isArray(raw) ? raw : String(raw).split(',')).map((o) => String(o).trim()).filter(Boolean);
  for (const origin of origins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) throw new Error(`webOrigins: '${origin}' is not an origin like https://app.example.com`);
  }
  if (origins.length === 0) throw new Error('webOrigins: at least one origin');
  return origins;
}

/** The whole system, generated from functions/catalog.ts. */
export class PrmStack extends Stack {
  readonly functions = new Map<FunctionName, PrmFunction>();

  constructor(scope: Construct, id: string, props: PrmStackProps = {}) {
    super(scope, id, props);
    // Server access logs are delivered under a bucket policy, not the legacy LogDelivery ACL.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    Tags.of(this).add('app', 'prm');

    const origins = webOrigins(this, props.webOrigins);
    const data = new Data(this, 'Data', { webOrigins: origins });
    const auth = new Auth(this, 'Auth');
    const notifications = new Notifications(this, 'Notifications');
    const bus = new EventBus(this, 'Events');
    const linkSecret = new Secret(this, 'LinkSecret', {
      description: 'HMAC key that signs emailed approval links',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    Validations.of(linkSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating the link-signing key invalidates every approval link in flight (approvals wait up to PRM_CONFIG.approvalTimeoutSeconds, 3 days by default); it is rotated by hand in a quiet window, not on a schedule.',
    });
    const api = new Api(this, 'Api', { userPool: auth.userPool, client: auth.client, webOrigins: origins });

    const deployed = deployableStateMachines();
    const environment = {
      PRM_CONFIG: this.toJsonString({
        // A sale may still be landing up to the sales API's timeout after it was stamped (config.ts).
        salesSettleSeconds: (FUNCTIONS.incentivesApi.timeoutSeconds ?? 10) + 30,
        ...prmConfigContext(this),
        baseUrl: api.url,
        emailFrom: notifications.fromAddress,
      }),
    };
    const grants: Record<Grant, (fn: PrmFunction) => unknown> = {
      table: (fn) => fn.bindTable(data.table),
      bucket: (fn) => fn.bindBucket(data.bucket),
      mail: (fn) => fn.bindMail(notifications.identity),
      linkSecret: (fn) => fn.bindLinkSecret(linkSecret),
      events: (fn) => fn.bindEventBus(bus),
      userDirectory: (fn) => fn.bindUserDirectory(auth.userPool),
      taskCallbacks: (fn) => fn.bindTaskCallbacks(deployed.map((name) => stateMachineArn(this, name))),
    };

    const taskFunctions = new Map<string, IFunction>();
    for (const [name, spec] of Object.entries(FUNCTIONS) as [FunctionName, FunctionSpec][]) {
      const fn = new PrmFunction(this, name, { spec, environment });
      for (const grant of spec.grants) grants[grant](fn);
      for (const machine of spec.starts ?? []) {
        if (deployed.includes(machine)) fn.bindStateMachineStart(stateMachineArn(this, machine), STATE_MACHINES[machine].arnEnv);
      }
      if (spec.substitution) taskFunctions.set(spec.substitution, fn);
      this.functions.set(name, fn);
    }

    const workflows = new Workflows(this, 'Workflows', { taskFunctions });

    // Finance's monthly payout run for the previous month (skipped when one already exists, so a retry is safe).
    // Scheduler invokes the function asynchronously: its retry policy covers delivery (throttling, a
    // missing permission), the function's async invoke config covers the run failing. What both give
    // up on lands in one dead-letter queue, alarmed on below.
    const payoutTasks = this.functions.get('incentivesTasks')!;
    const payoutDeadLetters = new Queue(this, 'PayoutScheduleDLQ', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(payoutDeadLetters).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the payout schedule and of the payout task function; nothing consumes it but an operator.',
    });
    const payoutRetry = { retryAttempts: 3, maxEventAge: Duration.hours(6) }; // 4 attempts within the morning of the 1st
    payoutTasks.configureAsyncInvoke({ onFailure: new SqsDestination(payoutDeadLetters), retryAttempts: 2, maxEventAge: payoutRetry.maxEventAge });
    const scheduleRole = new Role(this, 'PayoutScheduleRole', { assumedBy: new ServicePrincipal('scheduler.amazonaws.com') });
    new Schedule(this, 'MonthlyPayoutRun', {
      description: 'Starts the payout run for the previous month',
      schedule: ScheduleExpression.cron({ day: '1', hour: '6', minute: '0', timeZone: TimeZone.ETC_UTC }),
      target: new LambdaInvoke(payoutTasks, {
        role: scheduleRole,
        input: ScheduleTargetInput.fromObject({ task: 'scheduledRun' }),
        deadLetterQueue: payoutDeadLetters,
        ...payoutRetry,
      }),
    });
    Validations.of(scheduleRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(payoutTasks.node.defaultChild as CfnElement)}.Arn>:*]`,
      reason: 'The Scheduler Lambda target grants invoke on the function and its versions (ARN:*); it is the one payout task function.',
    });
    api.addRoutes(ROUTES, (route) => this.functions.get(route.fn)!);

    const operations = new Operations(this, 'Operations', {
      alarmEmail: props.alarmEmail ?? (this.node.tryGetContext('alarmEmail') as string | undefined),
      functions: this.functions,
      stateMachines: workflows.machines,
      apiStage: api.stage,
      table: data.table,
      deadLetterQueues: { PayoutScheduleDLQ: payoutDeadLetters },
    });

    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'docs/design.md fixes the Lambda runtime at Node.js 22 (arm64); moving to a newer runtime is a deliberate, tested change.',
    });
    // Only the exact finding `Resource::*`; any other wildcard still fails. test/infra lists the actions.
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray (xray:PutTraceSegments/PutTelemetryRecords/GetSampling*) and CloudWatch Logs vended delivery for Step Functions (logs:*LogDelivery*, PutResourcePolicy, Describe*) have no resource-level permissions.',
    });

    new CfnOutput(this, 'ApiUrl', { value: api.url });
    new CfnOutput(this, 'UserPoolId', { value: auth.userPool.userPoolId });
    new CfnOutput(this, 'UserPoolClientId', { value: auth.client.userPoolClientId });
    new CfnOutput(this, 'BucketName', { value: data.bucket.bucketName });
    new CfnOutput(this, 'EventBusName', { value: bus.eventBusName });
    new CfnOutput(this, 'AlarmTopicArn', { value: operations.topic.topicArn });
    for (const [name, machine] of workflows.machines) new CfnOutput(this, `StateMachine-${name}`, { value: machine.stateMachineArn });
  }
}
