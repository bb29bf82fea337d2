import { STATE_MACHINES, type StateMachineName } from '../catalog.ts';
import { lazy, port } from './port.ts';
import { traced } from './tracing.ts';

/** The task behind a token is over (decided, timed out, or never existed): not a server error. */
export class TaskClosedError extends Error {
  constructor(message = 'The workflow task is already closed') {
    super(message);
    this.name = 'TaskClosedError';
  }
}

export interface WorkflowClient {
  start(machine: StateMachineName, input: unknown, name?: string): Promise<string>;
  sendTaskSuccess(taskToken: string, output: unknown): Promise<void>;
  sendTaskFailure(taskToken: string, error: string, cause: string): Promise<void>;
  /** Restarts the waiting task's heartbeat clock (its HeartbeatSeconds), e.g. when a link is handed on. */
  sendTaskHeartbeat(taskToken: string): Promise<void>;
}

const CLOSED_TASK_ERRORS = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

/** Deployed: Step Functions, its client imported on first use (see `lazy`). */
function sfnWorkflowClient(): WorkflowClient {
  const sdk = lazy(async () => {
    const commands = await import('./aws/sfn.ts');
    return { sfn: traced(new commands.SFNClient({})), ...commands };
  });
  const closedTaskAware = async (send: (s: Awaited<ReturnType<typeof sdk>>) => Promise<unknown>) => {
    try {
      await send(await sdk());
    } catch (error) {
      if (CLOSED_TASK_ERRORS.has((error as Error).name)) throw new TaskClosedError();
      throw error;
    }
  };
  return {
    async start(machine, input, name) {
      const arn = process.env[STATE_MACHINES[machine].arnEnv];
      if (!arn) throw new Error(`${STATE_MACHINES[machine].arnEnv} is not set`);
      const { sfn, StartExecutionCommand } = await sdk();
      const out = await sfn.send(new StartExecutionCommand({ stateMachineArn: arn, input: JSON.stringify(input), ...(name ? { name } : {}) }));
      return out.executionArn!;
    },
    sendTaskSuccess: (taskToken, output) =>
      closedTaskAware(({ sfn, SendTaskSuccessCommand }) => sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }))),
    sendTaskFailure: (taskToken, error, cause) =>
      closedTaskAware(({ sfn, SendTaskFailureCommand }) => sfn.send(new SendTaskFailureCommand({ taskToken, error, cause }))),
    sendTaskHeartbeat: (taskToken) => closedTaskAware(({ sfn, SendTaskHeartbeatCommand }) => sfn.send(new SendTaskHeartbeatCommand({ taskToken }))),
  };
}

export const workflows = port<WorkflowClient>(sfnWorkflowClient);
