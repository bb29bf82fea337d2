import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { CfnBucket, IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IEmailIdentity } from 'aws-cdk-lib/aws-ses';
import type { Construct } from 'constructs';
import type { FunctionSpec } from '../functions/catalog.ts';
import { TABLE_DEFINITION } from '../functions/core/table.ts';

/** Repository root: catalog entries and ASL files are relative to it. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface PrmFunctionProps {
  spec: FunctionSpec;
  environment?: Record<string, string>;
}

/**
 * Every Lambda function of the system, with the defaults in one place: Node.js 22 on arm64, an ESM
 * bundle (minified, source maps), X-Ray, its own log group and its own role. The `bind*` methods
 * grant access and set the matching environment variable together, so neither can be forgotten.
 */
export class PrmFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, { spec, environment = {} }: PrmFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, { retention: RetentionDays.ONE_MONTH });
    // An explicit role instead of AWSLambdaBasicExecutionRole: it may write to this log group only.
    const role = new Role(scope, `${id}Role`, { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    logGroup.grantWrite(role);
    super(scope, id, {
      entry: join(ROOT, spec.entry),
      handler: 'handler',
      projectRoot: ROOT,
      depsLockFilePath: join(ROOT, 'package-lock.json'),
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: spec.memoryMB ?? 512,
      timeout: Duration.seconds(spec.timeoutSeconds ?? 10),
      tracing: Tracing.ACTIVE,
      logGroup,
      role,
      environment: { NODE_OPTIONS: '--enable-source-maps', ...environment },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        // CommonJS dependencies bundled into ESM still call require(): give them one.
        banner: "import { createRequire as __prmCreateRequire } from 'node:module'; const require = __prmCreateRequire(import.meta.url);",
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // The SDK is bundled rather than taken from the runtime: the functions run the exact
        // @aws-sdk version the tests ran against, and one tree-shaken file initialises in ~150 ms
        // where the runtime's unbundled SDK takes ~500 ms to load (measured by `npm run bench --
        // coldstart`). The price is size: the clients are ~450 KB of each ~600 KB bundle.
        externalModules: [],
      },
    });
  }

  bindTable(table: ITable): this {
    const indexArns = TABLE_DEFINITION.globalSecondaryIndexes.map((g) => `${table.tableArn}/index/${g.indexName}`);
    this.addToRolePolicy(
      new PolicyStatement({
        actions: [
          'dynamodb:GetItem',
          'dynamodb:BatchGetItem',
          'dynamodb:Query',
          'dynamodb:Scan',
          'dynamodb:ConditionCheckItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          'dynamodb:BatchWriteItem',
          'dynamodb:DescribeTable',
        ],
        resources: [table.tableArn, ...indexArns],
      }),
    );
    this.addEnvironment('TABLE_NAME', table.tableName);
    return this;
  }

  /** Presigned PUT/GET and HeadObject; ListBucket so that a missing key answers 404, not 403. */
  bindBucket(bucket: IBucket): this {
    this.addToRolePolicy(new PolicyStatement({ actions: ['s3:GetObject', 's3:PutObject'], resources: [bucket.arnForObjects('*')] }));
    this.addToRolePolicy(new PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }));
    const bucketId = Stack.of(this).resolve((bucket.node.defaultChild as CfnBucket).logicalId) as string;
    Validations.of(this.role!).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/*]`,
      reason: 'Proof and export object keys are generated per upload, so s3:GetObject/PutObject must reach any key of this one bucket.',
    });
    this.addEnvironment('BUCKET_NAME', bucket.bucketName);
    return this;
  }

  bindLinkSecret(secret: ISecret): this {
    secret.grantRead(this);
    this.addEnvironment('LINK_SECRET_ARN', secret.secretArn);
    return this;
  }

  bindEventBus(bus: IEventBus): this {
    bus.grantPutEventsTo(this);
    this.addEnvironment('EVENT_BUS_NAME', bus.eventBusName);
    return this;
  }

  /** The sender address itself travels in PRM_CONFIG.emailFrom, shared by every function. */
  bindMail(identity: IEmailIdentity): this {
    identity.grant(this, 'ses:SendEmail');
    return this;
  }

  bindStateMachineStart(stateMachineArn: string, arnEnv: string): this {
    this.addToRolePolicy(new PolicyStatement({ actions: ['states:StartExecution'], resources: [stateMachineArn] }));
    this.addEnvironment(arnEnv, stateMachineArn);
    return this;
  }

  bindTaskCallbacks(stateMachineArns: string[]): this {
    if (stateMachineArns.length === 0) return this;
    this.addToRolePolicy(
      new PolicyStatement({ actions: ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'], resources: stateMachineArns }),
    );
    return this;
  }
}

/**
 * State machines get fixed names, so a function can be granted a machine's ARN without referring to
 * the machine resource: a task function that also starts or answers a machine makes no cycle.
 */
export function stateMachineName(scope: Construct, name: string): string {
  return `${Stack.of(scope).stackName}-${name}`;
}

export function stateMachineArn(scope: Construct, name: string): string {
  return Stack.of(scope).formatArn({
    service: 'states',
    resource: 'stateMachine',
    resourceName: stateMachineName(scope, name),
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}
