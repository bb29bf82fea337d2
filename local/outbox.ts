import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ulid } from 'ulid';
import type { EmailMessage, Mailer } from '../functions/notifications/mailer.ts';
import { escapeHtml } from '../functions/core/html.ts';

export interface OutboxMessage extends EmailMessage {
  id: string;
  sentAt: string;
}

/** Email stand-in: every message is kept (and written to `dir` as JSON when given), oldest first. */
export class Outbox implements Mailer {
  private readonly messages: OutboxMessage[] = [];

  constructor(private readonly dir?: string) {
    if (dir) {
      mkdirSync(dir, { recursive: true });
      for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
        this.messages.push(JSON.parse(readFileSync(join(dir, file), 'utf8')) as OutboxMessage);
      }
    }
  }

  async send(message: EmailMessage): Promise<void> {
    const stored: OutboxMessage = { id: ulid(), ...message, sentAt: new Date().toISOString() };
    this.messages.push(stored);
    if (this.dir) writeFileSync(join(this.dir, `${stored.id}.json`), JSON.stringify(stored, null, 2));
  }

  all(): OutboxMessage[] {
    return [...this.messages];
  }

  renderPage(): string {
    const items = [...this.messages]
      .reverse()
      .map((m) => {
        const linked = escapeHtml(m.text).replace(/(https?:\/\/[^\s<]+)/g, '<a href="$1">$1</a>');
        return `<article><h2>${escapeHtml(m.subject)}</h2><p class="note">To ${escapeHtml(m.to.join(', '))} · ${escapeHtml(m.sentAt)}</p><pre>${linked}</pre></article>`;
      })
      .join('<hr>');
    return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>PRM local outbox</title>
<style>body{font-family:system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem}pre{white-space:pre-wrap;background:#f6f8fa;padding:1rem}.note{color:#57606a}</style>
</head><body><h1>Local outbox</h1><p class="note">${this.messages.length} message(s), newest first. Links open the approval pages of the local server.</p>${items || '<p>No email sent yet.</p>'}</body></html>`;
  }
}
