import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, loadDefinition, localSubstitutions } from '../../local/definitions.ts';

/** asl-validator 4 is CommonJS without type declarations: `validator(definition, options?)`. */
interface AslValidationResult {
  isValid: boolean;
  errors: { 'Error code': string; Message: string }[];
  errorsText(separator?: string): string;
}
type AslValidator = (definition: unknown, options?: { checkPaths?: boolean; checkArn?: boolean }) => AslValidationResult;
const aslValidator = createRequire(import.meta.url)('asl-validator') as AslValidator;

type State = Record<string, unknown> & {
  Type?: string;
  Resource?: string;
  Retry?: { ErrorEquals: string[] }[];
  Catch?: { ErrorEquals: string[]; Next: string }[];
  Next?: string;
  Default?: string;
  Choices?: { Next: string; StringEquals?: string }[];
  TimeoutSeconds?: number;
  TimeoutSecondsPath?: string;
  HeartbeatSeconds?: number;
  HeartbeatSecondsPath?: string;
};
interface Definition {
  StartAt: string;
  States: Record<string, State>;
}

const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';
const WAIT_FOR_TOKEN = '.waitForTaskToken';

const files = readdirSync(join(ROOT, 'workflows'))
  .filter((f) => f.endsWith('.asl.json'))
  .sort()
  .map((f) => `workflows/${f}`);

/** Every state, nested ones (Map item processors, Parallel branches) included. */
function allStates(states: Record<string, State>, prefix = ''): [string, State][] {
  return Object.entries(states).flatMap(([name, state]) => {
    const nested: [string, State][] = [];
    const processor = (state.ItemProcessor ?? state.Iterator) as { States?: Record<string, State> } | undefined;
    if (processor?.States) nested.push(...allStates(processor.States, `${prefix}${name}/`));
    for (const [i, branch] of ((state.Branches as { States: Record<string, State> }[] | undefined) ?? []).entries()) {
      nested.push(...allStates(branch.States, `${prefix}${name}[${i}]/`));
    }
    return [[`${prefix}${name}`, state] as [string, State], ...nested];
  });
}

/** True when a Retry/Catch rule would match `error` ("States.ALL" matches every error but States.Runtime). */
const matches = (errorEquals: string[], error: string) => errorEquals.includes(error) || errorEquals.includes('States.ALL');

const load = (file: string) => loadDefinition(file, localSubstitutions()) as Definition;

describe('workflow definitions (workflows/*.asl.json)', () => {
  it('there is at least one, and the partner application is among them', () => {
    expect(files).toContain('workflows/partner-application.asl.json');
  });

  describe.each(files)('%s', (file) => {
    it('substitutes every ${…} and passes asl-validator (paths and ARNs checked)', () => {
      const definition = load(file);
      expect(JSON.stringify(definition)).not.toMatch(/\$\{\w+\}/);
      const result = aslValidator(structuredClone(definition), { checkPaths: true, checkArn: true });
      expect(result.errorsText('\n')).toBe('');
      expect(result.isValid).toBe(true);
    });

    it('the validator is not vacuous: a broken copy of the file fails', () => {
      const broken = structuredClone(load(file));
      const first = broken.States[broken.StartAt]!;
      delete first.End;
      first.Next = 'NoSuchState';
      expect(aslValidator(broken).isValid).toBe(false);
    });

    it('every lambda:invoke task retries TransientError and has a Catch', () => {
      const tasks = allStates(load(file).States).filter(([, s]) => s.Type === 'Task' && s.Resource === LAMBDA_INVOKE);
      expect(tasks.length).toBeGreaterThan(0);
      const problems = tasks.flatMap(([name, s]) => [
        ...((s.Retry ?? []).some((r) => matches(r.ErrorEquals, 'TransientError')) ? [] : [`${name}: no Retry matching "TransientError"`]),
        ...((s.Catch ?? []).length > 0 ? [] : [`${name}: no Catch`]),
      ]);
      expect(problems).toEqual([]);
    });

    it('every .waitForTaskToken task has a timeout or heartbeat and catches it', () => {
      const waits = allStates(load(file).States).filter(([, s]) => s.Type === 'Task' && String(s.Resource).endsWith(WAIT_FOR_TOKEN));
      const catches = (s: State, error: string) => (s.Catch ?? []).some((c) => c.ErrorEquals.includes(error));
      const problems = waits.flatMap(([name, s]) => {
        const timeout = s.TimeoutSeconds !== undefined || s.TimeoutSecondsPath !== undefined;
        const heartbeat = s.HeartbeatSeconds !== undefined || s.HeartbeatSecondsPath !== undefined;
        return [
          ...(timeout || heartbeat ? [] : [`${name}: no TimeoutSeconds(Path) or HeartbeatSeconds(Path)`]),
          ...(catches(s, 'States.Timeout') ? [] : [`${name}: no Catch for "States.Timeout"`]),
          // AWS matches a missed heartbeat with States.Timeout too; the local runner needs the exact name.
          ...(!heartbeat || catches(s, 'States.HeartbeatTimeout') ? [] : [`${name}: no Catch for "States.HeartbeatTimeout"`]),
        ];
      });
      expect(problems).toEqual([]);
    });
  });

  it('every approval wait follows the escalation rule: entered through its Start pass, times out into advance, which loops back or expires', () => {
    let approvalWaits = 0;
    for (const file of files) {
      const { States } = load(file);
      const waits = Object.entries(States).filter(([, s]) => String(s.Resource).endsWith(WAIT_FOR_TOKEN) && (s.Parameters as { Payload?: { task?: string } })?.Payload?.task === 'request');
      for (const [name, state] of waits) {
        approvalWaits++;
        const payload = (state.Parameters as { Payload: Record<string, unknown> }).Payload;
        expect(payload['wait.$'], `${file} ${name}`).toBe('$.wait');
        expect(state.TimeoutSecondsPath, `${file} ${name}`).toBe('$.wait.seconds');
        expect(state.HeartbeatSecondsPath).toBeUndefined();
        // Only the Start pass (first entry) and the loop's choice lead into the waiting state.
        const into = Object.entries(States).filter(([, s]) => s.Next === name || s.Default === name || (s.Choices ?? []).some((c) => c.Next === name));
        expect(into.map(([n]) => n).sort(), `${file} ${name}`).toEqual([`After${name}Timeout`, `Start${name}`]);
        expect(States[`Start${name}`]).toMatchObject({ Type: 'Pass', ResultPath: '$.wait', Parameters: { step: 'first', 'seconds.$': '$.timeouts.approvalHalfSeconds' } });
        const onTimeout = state.Catch!.find((c) => c.ErrorEquals.includes('States.Timeout'))!.Next;
        expect(onTimeout).toBe(`Advance${name}`);
        const advance = States[onTimeout]!;
        expect((advance.Parameters as { Payload: Record<string, unknown> }).Payload).toMatchObject({ task: 'advance', subjectType: payload.subjectType, 'subjectId.$': payload['subjectId.$'] });
        expect(advance.ResultPath).toBe('$.wait');
        const loop = States[advance.Next!]!;
        expect(loop.Type).toBe('Choice');
        expect(loop.Default).toBe(name);
        const expire = loop.Choices!.find((c) => (c as { StringEquals?: string }).StringEquals === 'expire')!.Next;
        expect(States[expire!]!.Type).toBe('Task');
        expect(expire).not.toBe(name);
      }
    }
    // applications, fund requests, claims, payout runs
    expect(approvalWaits).toBe(4);
  });

});
