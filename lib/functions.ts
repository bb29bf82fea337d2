import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { ArnFormat, AssetHashType, Duration, Stack, Validations, type ILocalBundling } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Code, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { CfnBucket, IBucket } from 'aws-cdk-lib/aws-s3';
import type { IUserPool } from 'aws-cdk-lib/aws-cognito';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IEmailIdentity } from 'aws-cdk-lib/aws-ses';
import type { Construct } from 'constructs';
import type { FunctionSpec } from '../functions/catalog.ts';
import { TABLE_DEFINITION } from '../functions/core/table.ts';
import { BUNDLE_OPTIONS } from './bundling.ts';

/** Repository root: catalog entries and ASL files are relative to it. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface PrmFunctionProps {
  spec: FunctionSpec;
  environment?: Record<string, string>;
}

/**
 * esbuild, in the synth process, with BUNDLE_OPTIONS (lib/bundling.ts): `index.mjs` plus the chunks
 * code splitting makes, and their source maps. The aws-lambda-nodejs bundler cannot split (it
 * always passes --outfile). `entry` is a property so that the asset cache tells functions apart.
 */
class EsbuildBundling implements ILocalBundling {
  constructor(readonly entry: string) {}

  tryBundle(outputDir: string): boolean {
    buildSync({ ...BUNDLE_OPTIONS, entryPoints: { index: this.entry }, outdir: outputDir });
    return true;
  }
}

/**
 * Every Lambda function of the system, with the defaults in one place: Node.js 22 on arm64, an ESM
 * bundle (minified, source maps), X-Ray, its own log group and its own role. The `bind*` methods
 * grant access and set the matching environment variable together, so neither can be forgotten.
 *
 * The AWS SDK is bundled rather than taken from the runtime: the functions run the exact @aws-sdk
 * version the tests ran against, and loading the runtime's unbundled SDK took 190-870 ms of init.
 * Bundled, it is still ~70% of a bundle's bytes (esbuild metafile, `npm run bench -- coldstart`),
 * so what init has to read is kept down: the credential providers Lambda never reaches are left
 * out (LAZY_EXTERNALS in lib/bundling.ts, -104 to -130 KB per function); S3, SES, EventBridge and
 * Secrets Manager are `import()`ed on first use and, with code splitting, are files of their own
 * that init does not read; health serves its route without idempotency.ts (no DynamoDB client);
 * money.ts's zod schemas are pure, so task functions that import no schema module drop zod. Measured:
 * median init 20-97 ms (was 103-153 ms) with 35-397 KB read at init; a first call that uses every
 * lazily loaded client adds up to ~60 ms. Bundle sizes (all files) are 35 KB for health and
 * 322-643 KB for the others (was 458-747 KB): DynamoDB with the SDK core (~200 KB), zod (~88 KB
 * in the API functions), the logger (~20 KB) and the function's own code are needed at init, so
 * the 200 KB target is out of reach for every function that uses DynamoDB.
 */
export class PrmFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, { spec, environment = {} }: PrmFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, { retention: RetentionDays.ONE_MONTH });
    // An explicit role instead of AWSLambdaBasicExecutionRole: it may write to this log group only.
    const role = new Role(scope, `${id}Role`, { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    logGroup.grantWrite(role);
    super(scope, id, {
      // Given `code`, NodejsFunction skips its own bundler (which cannot split) and uses this one.
      code: Code.fromAsset(ROOT, {
        assetHashType: AssetHashType.OUTPUT,
        bundling: {
          local: new EsbuildBundling(join(ROOT, spec.entry)),
          // Required by the type, never used: local bundling succeeds or fails the synth, it never declines.
          image: Runtime.NODEJS_22_X.bundlingImage,
        },
      }),
      handler: 'index.handler',
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: spec.memoryMB ?? 512,
      timeout: Duration.seconds(spec.timeoutSeconds ?? 10),
      tracing: Tracing.ACTIVE,
      logGroup,
      role,
      // Node's --enable-source-maps costs 16-42 ms of init per bundle (`npm run bench -- coldstart`),
      // so it is off unless the app is synthesized with `-c sourceMaps=true` (e.g. while chasing an
      // error); the .map files ship either way, to map a stack trace by hand.
      environment: { ...(scope.node.tryGetContext('sourceMaps') === true || scope.node.tryGetContext('sourceMaps') === 'true' ? { NODE_OPTIONS: '--enable-source-maps' } : {}), ...environment },
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

  /** Exactly the Cognito admin actions of the user lifecycle (users/directory.ts), on this pool only. */
  bindUserDirectory(pool: IUserPool): this {
    pool.grant(
      this,
      'cognito-idp:AdminCreateUser',
      'cognito-idp:AdminGetUser',
      'cognito-idp:AdminEnableUser',
      'cognito-idp:AdminAddUserToGroup',
      'cognito-idp:AdminRemoveUserFromGroup',
      'cognito-idp:AdminDisableUser',
      'cognito-idp:AdminUserGlobalSignOut',
    );
    this.addEnvironment('USER_POOL_ID', pool.userPoolId);
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
