import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Annotations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { STATE_MACHINES, type StateMachineName } from '../functions/catalog.ts';
import { ROOT, stateMachineName } from './functions.ts';

export interface WorkflowsProps {
  /** Task functions by their ASL substitution name (FUNCTIONS[*].substitution). */
  taskFunctions: ReadonlyMap<string, IFunction>;
}

/** STATE_MACHINES entries whose ASL file exists; the others are not deployed yet. */
export function deployableStateMachines(): StateMachineName[] {
  return (Object.keys(STATE_MACHINES) as StateMachineName[]).filter((name) => existsSync(join(ROOT, STATE_MACHINES[name].file)));
}

/** One Standard state machine per ASL file, its `${…}` substitutions resolved to function ARNs. */
export class Workflows extends Construct {
  readonly machines = new Map<StateMachineName, StateMachine>();

  constructor(scope: Construct, id: string, { taskFunctions }: WorkflowsProps) {
    super(scope, id);
    for (const name of Object.keys(STATE_MACHINES) as StateMachineName[]) {
      const file = join(ROOT, STATE_MACHINES[name].file);
      if (!existsSync(file)) {
        Annotations.of(this).addWarningV2(`prm:missing-asl:${name}`, `${STATE_MACHINES[name].file} does not exist yet: state machine '${name}' is not deployed.`);
        continue;
      }

      // Only the functions this ASL names: each machine may invoke exactly those.
      const used = [...new Set([...readFileSync(file, 'utf8').matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]!))];
      const unknown = used.filter((s) => !taskFunctions.has(s));
      if (unknown.length > 0) {
        throw new Error(`${STATE_MACHINES[name].file} uses \${${unknown.join('}, ${')}} but no FUNCTIONS entry has that substitution`);
      }
      const invoked = used.map((s) => taskFunctions.get(s)!);

      const machine = new StateMachine(this, name, {
        stateMachineName: stateMachineName(this, name),
        stateMachineType: StateMachineType.STANDARD,
        definitionBody: DefinitionBody.fromFile(file),
        definitionSubstitutions: Object.fromEntries(used.map((s, i) => [s, invoked[i]!.functionArn])),
        tracingEnabled: true,
        logs: {
          destination: new LogGroup(this, `${name}Logs`, { retention: RetentionDays.ONE_MONTH }),
          level: LogLevel.ALL,
          // Execution data carries task tokens: whoever can read them could decide an approval.
          includeExecutionData: false,
        },
      });
      if (invoked.length > 0) {
        machine.addToRolePolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: invoked.map((f) => f.functionArn) }));
      }
      this.machines.set(name, machine);
    }
  }
}
