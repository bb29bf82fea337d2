import { SFNClient, SendTaskFailureCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { STATE_MACHINES, type StateMachineName } from '../catalog.ts';
import { port } from './port.ts';

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

function sfnWorkflowClient(): WorkflowClient {
  const sfn = new SFNClient({});
  const closedTaskAware = async (send: () => Promise<unknown>) => {
    try {
      await send();
    } catch (error) {
      if (CLOSED_TASK_ERRORS.has((error as Error).name)) throw new TaskClosedError();
      throw error;
    }
  };
  return {
    async start(machine, input, name) {
      const arn = process.env[STATE_MACHINES[machine].arnEnv];
      if (!arn) throw new Error(`${STATE_MACHINES[machine].arnEnv} is not set`);
      const out = await sfn.send(new StartExecutionCommand({ stateMachineArn: arn, input: JSON.stringify(input), ...(name ? { name } : {}) }));
      return out.executionArn!;
    },
    sendTaskSuccess: (taskToken, output) =>
      closedTaskAware(() => sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }))),
    sendTaskFailure: (taskToken, error, cause) =>
      closedTaskAware(() => sfn.send(new SendTaskFailureCommand({ taskToken, error, cause }))),
    sendTaskHeartbeat: (taskToken) => closedTaskAware(() => sfn.send(new SendTaskHeartbeatCommand({ taskToken }))),
  };
}

export const workflows = port<WorkflowClient>(sfnWorkflowClient);
