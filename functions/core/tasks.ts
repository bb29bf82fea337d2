import type { Context } from 'aws-lambda';
import { logger } from './log.ts';
import { flushMetrics } from './metrics.ts';

/**
 * Step Functions task handlers: one Lambda per context, dispatched on `task`. Failures the
 * workflow should retry (throttling, 5xx, transaction conflicts) are renamed `TransientError`, the
 * name every ASL `Retry` lists; anything else keeps its name and reaches the workflow's `Catch`.
 */
const TRANSIENT = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TransactionConflictException',
  'TimeoutError',
  'TooManyRequestsException',
]);

export function isTransient(error: unknown): boolean {
  const e = error as { name?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  if (e?.name === 'TransactionCanceledException') {
    const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
    return reasons.some((r) => r.Code === 'TransactionConflict' || r.Code === 'ThrottlingError');
  }
  return Boolean(e?.$retryable) || TRANSIENT.has(e?.name ?? '') || (e?.$metadata?.httpStatusCode ?? 0) >= 500;
}

export class TransientError extends Error {
  constructor(cause: unknown) {
    super((cause as Error)?.message ?? String(cause));
    this.name = 'TransientError';
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Task = (input: any) => Promise<unknown>;

export function taskHandler(tasks: Record<string, Task>) {
  return async (event: { task?: string }, context?: Context): Promise<unknown> => {
    const task = event?.task ? tasks[event.task] : undefined;
    if (!task) throw Object.assign(new Error(`Unknown task ${String(event?.task)}`), { name: 'UnknownTask' });
    if (context?.awsRequestId) logger.addContext(context);
    logger.appendKeys({ task: event.task });
    try {
      return (await task(event)) ?? {};
    } catch (error) {
      if (isTransient(error)) throw new TransientError(error);
      logger.warn('task failed; the workflow decides what follows', { error: error as Error });
      throw error;
    } finally {
      flushMetrics();
      logger.resetKeys();
    }
  };
}
