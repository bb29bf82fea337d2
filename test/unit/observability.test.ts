import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';

/** What a task invocation writes to stdout (EMF metric documents and JSON log lines), parsed. */
async function run(task: (input: unknown) => Promise<unknown>, context?: Partial<Context>) {
  const written: string[] = [];
  const capture = (chunk: unknown) => (written.push(String(chunk)), true);
  // Metrics write to stdout, the logger's warnings to stderr.
  const spies = [vi.spyOn(process.stdout, 'write').mockImplementation(capture), vi.spyOn(process.stderr, 'write').mockImplementation(capture)];
  try {
    const { taskHandler } = await import('../../functions/core/tasks.ts');
    await taskHandler({ work: task })({ task: 'work' }, context as Context).catch(() => undefined);
  } finally {
    spies.forEach((s) => s.mockRestore());
  }
  return written.flatMap((w) => w.split('\n')).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('observability of task handlers', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('flushes the business metrics a task records, once per invocation, as CloudWatch EMF', async () => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    vi.resetModules();
    const { recordMetric } = await import('../../functions/core/metrics.ts');
    const docs = await run(async () => {
      recordMetric('ClaimsApproved');
      recordMetric('ClaimsApproved');
      recordMetric('PayoutTotalMinor', 123_456, { currency: 'EUR' });
    });
    const emf = docs.filter((d) => d._aws !== undefined);
    const approved = emf.find((d) => 'ClaimsApproved' in d)!;
    expect(approved.ClaimsApproved).toEqual([1, 1]);
    expect((approved._aws as { CloudWatchMetrics: { Namespace: string }[] }).CloudWatchMetrics[0]!.Namespace).toBe('PRM');
    const payout = emf.find((d) => 'PayoutTotalMinor' in d)!;
    expect(payout).toMatchObject({ PayoutTotalMinor: 123_456, currency: 'EUR' });
    // The dimension stays on its own document.
    expect(approved.currency).toBeUndefined();
  });

  it('logs a failing task with the Lambda context and the task name', async () => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'INFO'); // the suite runs with SILENT
    vi.resetModules();
    const docs = await run(
      async () => {
        throw Object.assign(new Error('budget row missing'), { name: 'NotFound' });
      },
      { functionName: 'prm-mdf-tasks', awsRequestId: 'req-1', invokedFunctionArn: 'arn:aws:lambda:eu-west-1:1:function:prm-mdf-tasks', memoryLimitInMB: '512', functionVersion: '$LATEST' },
    );
    const line = docs.find((d) => d.message === 'task failed; the workflow decides what follows')!;
    expect(line).toMatchObject({ level: 'WARN', function_name: 'prm-mdf-tasks', function_request_id: 'req-1', task: 'work' });
  });
});
