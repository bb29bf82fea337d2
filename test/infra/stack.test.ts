import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CfnResource } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS, ROUTES, STATE_MACHINES, routeKey, type FunctionName, type FunctionSpec, type StateMachineName } from '../../functions/catalog.ts';
import { ROLES } from '../../functions/core/auth.ts';
import { TABLE_DEFINITION } from '../../functions/core/table.ts';
import { ROOT } from '../../lib/functions.ts';
import { PrmStack } from '../../lib/prm-stack.ts';

/**
 * Actions allowed on `Resource: "*"`, each with the reason: these services have no resource-level
 * permissions for them. Anything else on "*" fails the test.
 */
const JUSTIFIED_STAR_ACTIONS: Record<string, string> = {
  'xray:PutTraceSegments': 'X-Ray tracing (Lambda, Step Functions): no resource-level permissions',
  'xray:PutTelemetryRecords': 'X-Ray tracing: no resource-level permissions',
  'xray:GetSamplingRules': 'X-Ray tracing (Step Functions): no resource-level permissions',
  'xray:GetSamplingTargets': 'X-Ray tracing (Step Functions): no resource-level permissions',
  'logs:CreateLogDelivery': 'Step Functions logging uses CloudWatch Logs vended delivery: no resource-level permissions',
  'logs:GetLogDelivery': 'vended log delivery, as above',
  'logs:UpdateLogDelivery': 'vended log delivery, as above',
  'logs:DeleteLogDelivery': 'vended log delivery, as above',
  'logs:ListLogDeliveries': 'vended log delivery, as above',
  'logs:PutResourcePolicy': 'vended log delivery writes the log group resource policy, as above',
  'logs:DescribeResourcePolicies': 'vended log delivery, as above',
  'logs:DescribeLogGroups': 'vended log delivery, as above',
};

type Resources = Record<string, { Type: string; Properties: Record<string, any>; DeletionPolicy?: string }>;

let app: App;
let stack: PrmStack;
let template: Template;

const logicalId = (construct: IConstruct) => stack.resolve((construct.node.defaultChild as CfnResource).logicalId) as string;
const asArray = <T>(v: T | T[]) => (Array.isArray(v) ? v : [v]);
const specs = Object.entries(FUNCTIONS) as [FunctionName, FunctionSpec][];
/** STATE_MACHINES entries whose ASL file exists (the others are still being written). */
const deployableStateMachines = () =>
  (Object.keys(STATE_MACHINES) as StateMachineName[]).filter((name) => existsSync(join(ROOT, STATE_MACHINES[name].file)));

beforeAll(() => {
  // Skip esbuild: this checks the template, `npx cdk synth` checks the bundles.
  app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  stack = new PrmStack(app, 'PrmTest');
  template = Template.fromStack(stack);
});

describe('data', () => {
  it('builds the table from TABLE_DEFINITION: keys, GSIs, TTL, PITR, on-demand, retained', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [
          { AttributeName: TABLE_DEFINITION.partitionKey, KeyType: 'HASH' },
          { AttributeName: TABLE_DEFINITION.sortKey, KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: TABLE_DEFINITION.globalSecondaryIndexes.map((g) =>
          Match.objectLike({
            IndexName: g.indexName,
            KeySchema: [
              { AttributeName: g.partitionKey, KeyType: 'HASH' },
              { AttributeName: g.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          }),
        ),
        TimeToLiveSpecification: { AttributeName: TABLE_DEFINITION.timeToLiveAttribute, Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      },
    });
  });

  it('encrypts the buckets, blocks public access and denies non-TLS requests', () => {
    const buckets = template.findResources('AWS::S3::Bucket') as Resources;
    expect(Object.keys(buckets).length).toBeGreaterThan(0);
    for (const bucket of Object.values(buckets)) {
      expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
      expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
    }
    const policies = template.findResources('AWS::S3::BucketPolicy') as Resources;
    expect(Object.keys(policies)).toHaveLength(Object.keys(buckets).length);
    for (const policy of Object.values(policies)) {
      expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
    template.hasResourceProperties('AWS::S3::Bucket', {
      LoggingConfiguration: Match.objectLike({ DestinationBucketName: Match.anyValue() }),
      VersioningConfiguration: { Status: 'Enabled' },
    });
  });
});

describe('auth', () => {
  it('has the role groups, the partnerId attribute and an app client', () => {
    template.resourceCountIs('AWS::Cognito::UserPoolGroup', ROLES.length);
    for (const role of ROLES) template.hasResourceProperties('AWS::Cognito::UserPoolGroup', { GroupName: role });
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      Schema: Match.arrayWith([Match.objectLike({ Name: 'partnerId', AttributeDataType: 'String' })]),
      MfaConfiguration: 'ON',
    });
    template.resourceCountIs('AWS::Cognito::UserPoolClient', 1);
    // Users must not be able to set their own tenant.
    const client = Object.values(template.findResources('AWS::Cognito::UserPoolClient') as Resources)[0]!;
    expect(client.Properties.WriteAttributes).not.toContain('custom:partnerId');
    expect(client.Properties.ReadAttributes).toContain('custom:partnerId');
  });
});

describe('functions', () => {
  it('has one Node.js 22 arm64 function per FUNCTIONS entry, traced, with its own log group', () => {
    const fns = template.findResources('AWS::Lambda::Function') as Resources;
    expect(Object.keys(fns)).toHaveLength(specs.length);
    for (const fn of Object.values(fns)) {
      expect(fn.Properties.Runtime).toBe('nodejs22.x');
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
      expect(fn.Properties.Handler).toBe('index.handler');
      expect(fn.Properties.LoggingConfig.LogGroup).toBeDefined();
    }
  });

  it('sets the environment each grant and each started state machine needs', () => {
    const deployed = deployableStateMachines();
    const fns = template.findResources('AWS::Lambda::Function') as Resources;
    const envFor: Record<string, string> = { table: 'TABLE_NAME', bucket: 'BUCKET_NAME', linkSecret: 'LINK_SECRET_ARN', events: 'EVENT_BUS_NAME' };
    for (const [name, spec] of specs) {
      const env = fns[logicalId(stack.functions.get(name)!)]!.Properties.Environment.Variables as Record<string, unknown>;
      const prmConfig = JSON.stringify(stack.resolve(env.PRM_CONFIG));
      expect(prmConfig, name).toContain('baseUrl');
      // A payout run leaves sales posted in the last seconds to the next run: longer than a sales request can take.
      const settle = Number(/\\"salesSettleSeconds\\":(\d+)/.exec(prmConfig)?.[1]);
      expect(settle, name).toBeGreaterThan(FUNCTIONS.incentivesApi.timeoutSeconds);
      for (const grant of spec.grants) if (envFor[grant]) expect(env, `${name} ${grant}`).toHaveProperty(envFor[grant]!);
      for (const machine of spec.starts ?? []) {
        if (deployed.includes(machine)) expect(env, `${name} starts ${machine}`).toHaveProperty(STATE_MACHINES[machine].arnEnv);
      }
    }
  });
});

describe('api', () => {
  it('has one route per ROUTES entry, JWT or none as declared', () => {
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route') as Resources);
    expect(routes).toHaveLength(ROUTES.length);
    for (const route of ROUTES) {
      const found = routes.filter((r) => r.Properties.RouteKey === routeKey(route));
      expect(found, routeKey(route)).toHaveLength(1);
      expect(found[0]!.Properties.AuthorizationType, routeKey(route)).toBe(route.auth === 'jwt' ? 'JWT' : 'NONE');
      if (route.auth === 'jwt') expect(found[0]!.Properties.AuthorizerId).toBeDefined();
    }
  });

  it('reuses one Lambda integration per function', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Integration', new Set(ROUTES.map((r) => r.fn)).size);
  });

  it('uses a Cognito JWT authorizer and logs access', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: { Audience: [Match.anyValue()], Issuer: Match.anyValue() },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
    });
  });

  it('outputs the API URL, user pool id and client id', () => {
    for (const name of ['ApiUrl', 'UserPoolId', 'UserPoolClientId']) template.hasOutput(name, {});
  });
});

describe('workflows', () => {
  it('deploys a Standard, logged, traced machine per existing ASL file, with substitutions', () => {
    const deployed = deployableStateMachines();
    const machines = template.findResources('AWS::StepFunctions::StateMachine') as Resources;
    expect(Object.keys(machines)).toHaveLength(deployed.length);
    for (const machine of Object.values(machines)) {
      expect(machine.Properties.StateMachineType).toBe('STANDARD');
      expect(machine.Properties.DefinitionS3Location).toBeDefined();
      expect(Object.keys(machine.Properties.DefinitionSubstitutions ?? {}).length).toBeGreaterThan(0);
      expect(machine.Properties.LoggingConfiguration.Level).toBe('ALL');
      expect(machine.Properties.TracingConfiguration).toEqual({ Enabled: true });
    }
  });

  it('substitutes every ${…} of an ASL file and lets the machine invoke exactly those functions', () => {
    const bySubstitution = new Map(specs.filter(([, s]) => s.substitution).map(([name, s]) => [s.substitution!, name]));
    const machines = template.findResources('AWS::StepFunctions::StateMachine') as Resources;
    const policies = template.findResources('AWS::IAM::Policy') as Resources;
    for (const name of deployableStateMachines()) {
      const asl = readFileSync(join(ROOT, STATE_MACHINES[name].file), 'utf8');
      const used = [...new Set([...asl.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]!))].sort();
      const machine = Object.values(machines).find((m) => JSON.stringify(m.Properties.StateMachineName).includes(name))!;
      expect(Object.keys(machine.Properties.DefinitionSubstitutions).sort()).toEqual(used);

      const expected = used.map((s) => ({ 'Fn::GetAtt': [logicalId(stack.functions.get(bySubstitution.get(s)!)!), 'Arn'] }));
      const roleId = machine.Properties.RoleArn['Fn::GetAtt'][0];
      const invokes = Object.values(policies)
        .filter((p) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === roleId))
        .flatMap((p) => p.Properties.PolicyDocument.Statement)
        .filter((s) => asArray(s.Action).includes('lambda:InvokeFunction'))
        .flatMap((s) => asArray(s.Resource));
      expect(invokes).toEqual(expect.arrayContaining(expected));
      expect(invokes).toHaveLength(expected.length);
    }
  });
});

describe('least privilege', () => {
  it('puts no action on Resource "*" except the justified ones', () => {
    const unjustified: string[] = [];
    for (const [id, policy] of Object.entries(template.findResources('AWS::IAM::Policy') as Resources)) {
      for (const statement of policy.Properties.PolicyDocument.Statement) {
        if (!asArray(statement.Resource).includes('*')) continue;
        for (const action of asArray<string>(statement.Action)) if (!JUSTIFIED_STAR_ACTIONS[action]) unjustified.push(`${id}: ${action}`);
      }
    }
    expect(unjustified).toEqual([]);
  });

  it('grants the Cognito admin actions of the user lifecycle to the users function only, on the pool only', () => {
    const lifecycle = ['AdminCreateUser', 'AdminGetUser', 'AdminEnableUser', 'AdminAddUserToGroup', 'AdminRemoveUserFromGroup', 'AdminDisableUser', 'AdminUserGlobalSignOut'].map((a) => `cognito-idp:${a}`);
    const poolId = Object.keys(template.findResources('AWS::Cognito::UserPool'))[0]!;
    const usersRole = stack.resolve((stack.functions.get('usersApi')!.role!.node.defaultChild as CfnResource).logicalId) as string;
    const holders: string[] = [];
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy') as Resources)) {
      for (const statement of policy.Properties.PolicyDocument.Statement) {
        const actions = asArray<string>(statement.Action).filter((a) => a.startsWith('cognito-idp:'));
        if (actions.length === 0) continue;
        holders.push(...policy.Properties.Roles.map((r: { Ref: string }) => r.Ref));
        expect(actions.sort()).toEqual([...lifecycle].sort());
        expect(asArray(statement.Resource)).toEqual([{ 'Fn::GetAtt': [poolId, 'Arn'] }]);
      }
    }
    expect([...new Set(holders)]).toEqual([usersRole]);
    const usersFn = Object.values(template.findResources('AWS::Lambda::Function') as Resources).find((f) => f.Properties.Role['Fn::GetAtt']?.[0] === usersRole)!;
    expect(usersFn.Properties.Environment.Variables.USER_POOL_ID).toEqual({ Ref: poolId });
  });

  it('keeps ID and access tokens short-lived (a disabled user’s token dies within 15 minutes)', () => {
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', { IdTokenValidity: 15, AccessTokenValidity: 15, TokenValidityUnits: Match.objectLike({ IdToken: 'minutes', AccessToken: 'minutes' }) });
  });

  it('scopes ses:SendEmail to the configured identity', () => {
    const sesStatements = Object.values(template.findResources('AWS::IAM::Policy') as Resources)
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((s) => asArray(s.Action).includes('ses:SendEmail'));
    expect(sesStatements.length).toBe(specs.filter(([, s]) => s.grants.includes('mail')).length);
    for (const s of sesStatements) expect(JSON.stringify(s.Resource)).toContain(':identity/');
  });
});

describe('cdk-nag', () => {
  it('has no unacknowledged AwsSolutions finding', () => {
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(app);
    const findings = report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
    expect(findings).toEqual([]);
  });

  it('gives every acknowledgement a concrete reason', () => {
    const acks: [string, string][] = [];
    const visit = (c: IConstruct) => {
      for (const entry of c.node.metadata) {
        if (entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY) acks.push(...Object.entries(entry.data as Record<string, string>));
      }
      c.node.children.forEach(visit);
    };
    visit(stack);
    expect(acks.length).toBeGreaterThan(0);
    for (const [id, reason] of acks) expect(reason.length, id).toBeGreaterThan(60);
  });
});

describe('monthly payout schedule', () => {
  it('runs on the 1st of each month and invokes the incentives task function with scheduledRun', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const template = Template.fromStack(new PrmStack(app, 'ScheduleTest'));
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 6 1 * ? *)',
      Target: Match.objectLike({ Input: JSON.stringify({ task: 'scheduledRun' }) }),
    });
  });
});
