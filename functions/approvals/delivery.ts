import { TaskClosedError, workflows } from '../core/workflow-client.ts';
import { decisionOutput, type Approval } from './model.ts';

/**
 * Hands a decided approval to the waiting task behind `taskToken`. A token that is already closed
 * means the workflow moved on (or the escalation loop re-entered its waiting state, which then
 * delivers the decision itself): not an error.
 */
export async function deliverDecision(approval: Approval, taskToken = approval.taskToken): Promise<boolean> {
  try {
    await workflows.get().sendTaskSuccess(taskToken, decisionOutput(approval));
    return true;
  } catch (error) {
    if (error instanceof TaskClosedError) return false;
    throw error;
  }
}

