import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { config } from '../core/config.ts';
import { port } from '../core/port.ts';

export interface EmailMessage {
  to: string[];
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  send(message: EmailMessage): Promise<void>;
}

function sesMailer(): Mailer {
  const ses = new SESv2Client({});
  return {
    async send(message) {
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
