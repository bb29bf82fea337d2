import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { PrmStack } from '../lib/prm-stack.ts';

const app = new App();
new PrmStack(app, (app.node.tryGetContext('stackName') as string | undefined) ?? 'Prm', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  description: 'PRM: partner applications, MDF and incentive payouts (serverless)',
});
// cdk-nag 3 is a policy-validation plugin: an unacknowledged AwsSolutions finding fails the synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
