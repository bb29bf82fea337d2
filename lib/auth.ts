import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  AccountRecovery,
  ClientAttributes,
  Mfa,
  StringAttribute,
  UserPool,
  UserPoolClient,
  UserPoolGroup,
} from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { ROLES } from '../functions/core/auth.ts';

/**
 * Staff and partner users. Handlers read `cognito:groups` and `custom:partnerId` from the ID token,
 * so clients send the ID token as the bearer token (its `aud` is the app client id).
 */
export class Auth extends Construct {
  readonly userPool: UserPool;
  readonly client: UserPoolClient;

  constructor(scope: Construct, id: string) {
    super(scope, id);

    this.userPool = new UserPool(this, 'Users', {
      selfSignUpEnabled: false, // partners apply through POST /applications; accounts follow approval
      signInAliases: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      customAttributes: { partnerId: new StringAttribute({ minLen: 1, maxLen: 64, mutable: true }) },
      passwordPolicy: { minLength: 12, requireLowercase: true, requireUppercase: true, requireDigits: true, requireSymbols: true },
      mfa: Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.userPool).acknowledge({
      id: 'AwsSolutions-COG8',
      reason:
        'The Plus feature plan (threat protection) is billed per monthly active user, against the per-invocation cost model of a PRM for thousands of dealers; MFA is required and the password policy is strong instead.',
    });

    for (const role of ROLES) new UserPoolGroup(this, `Group-${role}`, { userPool: this.userPool, groupName: role });

    this.client = this.userPool.addClient('Client', {
      authFlows: { userSrp: true },
      disableOAuth: true,
      preventUserExistenceErrors: true,
      // A disabled user's ID token dies within 15 minutes (the API refuses it at once anyway: core/revocations.ts).
      idTokenValidity: Duration.minutes(15),
      accessTokenValidity: Duration.minutes(15),
      readAttributes: new ClientAttributes()
        .withStandardAttributes({ email: true, emailVerified: true, fullname: true })
        .withCustomAttributes('partnerId'),
      // Users must never write custom:partnerId (tenant scoping) or email (approver identity).
      writeAttributes: new ClientAttributes().withStandardAttributes({ fullname: true }),
    });
  }
}
