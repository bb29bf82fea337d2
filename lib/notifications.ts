import { EmailIdentity, Identity } from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';

export const DEFAULT_EMAIL_IDENTITY = 'prm@example.com';

/** The SESv2 identity mail is sent from (context `emailIdentity`). */
export class Notifications extends Construct {
  readonly identity: EmailIdentity;
  readonly fromAddress: string;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.fromAddress = (this.node.tryGetContext('emailIdentity') as string | undefined) ?? DEFAULT_EMAIL_IDENTITY;
    this.identity = new EmailIdentity(this, 'Sender', { identity: Identity.email(this.fromAddress) });
  }
}
