import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DomainEvent, EventPublisher } from '../functions/core/events.ts';

/** EventBridge stand-in: domain events appended to `events.jsonl` and kept in memory. */
export class LocalEventLog implements EventPublisher {
  readonly events: DomainEvent[] = [];
  constructor(private readonly dir?: string) {
    if (dir) mkdirSync(dir, { recursive: true });
  }
  async publish(event: DomainEvent) {
    this.events.push(event);
    if (this.dir) appendFileSync(join(this.dir, 'events.jsonl'), `${JSON.stringify(event)}\n`);
  }
}
