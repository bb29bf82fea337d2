import { html } from '../core/html.ts';
import { mailer, type EmailMessage } from './mailer.ts';

export interface EmailContent {
  to: string[];
  subject: string;
  /** Plain sentences; every one is escaped in the HTML part. */
  paragraphs: string[];
  facts?: { label: string; value: string }[];
  action?: { label: string; url: string };
}

/** One layout for every email: the same content as plain text and as escaped HTML. */
export function renderEmail(content: EmailContent): EmailMessage {
  const facts = content.facts ?? [];
  const text = [
    ...content.paragraphs,
    ...(facts.length ? [facts.map((f) => `${f.label}: ${f.value}`).join('\n')] : []),
    ...(content.action ? [`${content.action.label}: ${content.action.url}`] : []),
  ].join('\n\n');
  const body = html`<div style="font-family:system-ui,sans-serif;line-height:1.5">
${content.paragraphs.map((p) => html`<p>${p}</p>`)}
${facts.length ? html`<table>${facts.map((f) => html`<tr><th align="left">${f.label}</th><td>${f.value}</td></tr>`)}</table>` : ''}
${content.action ? html`<p><a href="${content.action.url}">${content.action.label}</a></p>` : ''}
</div>`;
  return { to: content.to, subject: content.subject, text, html: body.value };
}

export async function sendEmail(content: EmailContent): Promise<void> {
  await mailer.get().send(renderEmail(content));
}
