import { lazy, port } from './port.ts';
import { traced } from './tracing.ts';

/** A domain event third-party apps subscribe to: the record's id and its new status. */
export interface DomainEvent {
  type: string;
  id: string;
  status: string;
  partnerId?: string;
  at: string;
}

export interface EventPublisher {
  publish(event: DomainEvent): Promise<void>;
}

/** Deployed: EventBridge, its client imported on first use (see `lazy`). */
function eventBridgePublisher(): EventPublisher {
  const sdk = lazy(async () => {
    const { EventBridgeClient, PutEventsCommand } = await import('./aws/eventbridge.ts');
    return { client: traced(new EventBridgeClient({})), PutEventsCommand };
  });
  return {
    async publish(event) {
      const { client, PutEventsCommand } = await sdk();
      await client.send(
        new PutEventsCommand({
          Entries: [{ EventBusName: process.env.EVENT_BUS_NAME, Source: 'prm', DetailType: event.type, Detail: JSON.stringify(event) }],
        }),
      );
    },
  };
}

export const events = port<EventPublisher>(eventBridgePublisher);

export async function publishEvent(type: string, id: string, status: string, partnerId?: string): Promise<void> {
  await events.get().publish({ type, id, status, ...(partnerId ? { partnerId } : {}), at: new Date().toISOString() });
}
