import { config } from '../core/config.ts';
import { lazy, port } from '../core/port.ts';
import { traced } from '../core/tracing.ts';

export interface EmailMessage {
  to: string[];
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  send(message: EmailMessage): Promise<void>;
}

/** Deployed: SES, its client imported on first use (see `lazy` in core/port.ts). */
function sesMailer(): Mailer {
  const sdk = lazy(async () => {
    const { SESv2Client, SendEmailCommand } = await import('../core/aws/sesv2.ts');
    return { ses: traced(new SESv2Client({})), SendEmailCommand };
  });
  return {
    async send(message) {
      const { ses, SendEmailCommand } = await sdk();
      await ses.send(
        new SendEmailCommand({
          FromEmailAddress: config().emailFrom,
          Destination: { ToAddresses: message.to },
          Content: {
            Simple: {
              Subject: { Data: message.subject, Charset: 'UTF-8' },
              Body: { Text: { Data: message.text, Charset: 'UTF-8' }, Html: { Data: message.html, Charset: 'UTF-8' } },
            },
          },
        }),
      );
    },
  };
}

export const mailer = port<Mailer>(sesMailer);
