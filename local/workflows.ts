import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import { ulid } from 'ulid';
import { FUNCTIONS, STATE_MACHINES, type FunctionSpec, type StateMachineName } from '../functions/catalog.ts';
import { TaskClosedError, type WorkflowClient } from '../functions/core/workflow-client.ts';
import { loadDefinition } from './definitions.ts';

// aws-local-stepfunctions 3 calls Promise.withResolvers, which Node 20 lacks.
if (!(Promise as { withResolvers?: unknown }).withResolvers) {
  Object.assign(Promise, {
    withResolvers<T>() {
      let resolve!: (v: T) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

/** One entry of the runner's execution event log (the library's event shape). */
export interface EventLog {
  type: string;
  timestamp: number;
  state?: { name: string; type: string; input: unknown; output?: unknown };
  [key: string]: unknown;
}

export type LambdaInvoker = (functionArnOrName: string, payload: unknown) => Promise<unknown>;

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED';

interface PendingWait {
  stateName: string;
  rawInput: unknown;
  token: string;
  /** Epoch ms when the state times out (from TimeoutSeconds / TimeoutSecondsPath). */
  deadline?: number;
  /** HeartbeatSeconds / HeartbeatSecondsPath: the task times out this long after its last heartbeat. */
  heartbeatSeconds?: number;
  /** Epoch ms when the heartbeat clock runs out (restarted by sendTaskHeartbeat). */
  heartbeatDeadline?: number;
}

export interface ExecutionRecord {
  executionArn: string;
  stateMachine: StateMachineName;
  name: string;
  input: unknown;
  status: ExecutionStatus;
  output?: unknown;
  error?: { Error: string; Cause: unknown };
  startedAt: string;
  stoppedAt?: string;
  /** Billable state transitions so far: states entered plus retries. */
  stateTransitions: number;
  events: EventLog[];
  pendingWait?: PendingWait;
}

interface Waiter {
  executionArn: string;
  wait: PendingWait;
  resolve: (output: unknown) => void;
  reject: (error: Error) => void;
  /** Restarts the heartbeat clock (tasks with HeartbeatSeconds only). */
  heartbeat?: () => void;
}

const CONTEXT_TOKEN = '__local_task_token__';
const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';
const LAMBDA_INVOKE_WAIT = 'arn:aws:states:::lambda:invoke.waitForTaskToken';
/** Local stand-in for "no timeout of its own": the runner enforces the real deadline itself. */
const LONG_TIMEOUT_SECONDS = 2_000_000;

const namedError = (name: string, message: string) => Object.assign(new Error(message), { name });

type StateDef = Record<string, unknown> & { Type?: string; Resource?: string };

function forEachState(states: Record<string, StateDef>, visit: (name: string, state: StateDef) => void) {
  for (const [name, state] of Object.entries(states)) {
    visit(name, state);
    const processor = (state.ItemProcessor ?? state.Iterator) as { States?: Record<string, StateDef> } | undefined;
    if (processor?.States) forEachState(processor.States, visit);
    for (const branch of (state.Branches as { States: Record<string, StateDef> }[] | undefined) ?? []) forEachState(branch.States, visit);
  }
}

function readPath(value: unknown, path: string): unknown {
  if (path === '$') return value;
  return path
    .replace(/^\$\./, '')
    .split('.')
    .reduce<unknown>((v, key) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined), value);
}

function replaceDeep(value: unknown, from: string, to: string): unknown {
  if (value === from) return to;
  if (Array.isArray(value)) return value.map((v) => replaceDeep(v, from, to));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceDeep(v, from, to)]));
  }
  return value;
}

/**
 * Runs `workflows/*.asl.json` in-process with aws-local-stepfunctions, standing in for Step Functions:
 * Lambda tasks call the same handlers the deployed functions run, `.waitForTaskToken` tasks wait for
 * `sendTaskSuccess`/`sendTaskFailure` (the path the approval handler takes), and each execution's
 * event log is kept. With a `dir`, executions are saved there, and an execution that was waiting for a
 * task token when the process stopped is resumed at that state on the next start, with the same token.
 */
export class LocalWorkflowEngine implements WorkflowClient {
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly waiters = new Map<string, Waiter>();
  private readonly aborts = new Map<string, () => void>();
  private readonly finished = new Map<string, { promise: Promise<ExecutionRecord>; resolve: (r: ExecutionRecord) => void }>();
  private stopped = false;
  private readonly validated = new Set<StateMachineName>();

  constructor(
    private readonly options: {
      invoke: LambdaInvoker;
      substitutions: () => Record<string, string>;
      /** Where executions are saved; omit for an in-memory engine. */
      dir?: string;
    },
  ) {
    if (options.dir) mkdirSync(options.dir, { recursive: true });
  }

  async start(machine: StateMachineName, input: unknown, name: string = ulid()): Promise<string> {
    const executionArn = `arn:aws:states:us-east-1:000000000000:execution:prm-${machine}:${name}`;
    if (this.executions.has(executionArn)) throw namedError('ExecutionAlreadyExists', `Execution ${name} already exists`);
    const record: ExecutionRecord = {
      executionArn,
      stateMachine: machine,
      name,
      input,
      status: 'RUNNING',
      startedAt: new Date().toISOString(),
      stateTransitions: 0,
      events: [],
    };
    this.executions.set(executionArn, record);
    this.save(record);
    this.run(record);
    return executionArn;
  }

  async sendTaskSuccess(taskToken: string, output: unknown): Promise<void> {
    this.takeWaiter(taskToken).resolve(output);
  }

  async sendTaskFailure(taskToken: string, error: string, cause: string): Promise<void> {
    this.takeWaiter(taskToken).reject(namedError(error, cause));
  }

  async sendTaskHeartbeat(taskToken: string): Promise<void> {
    const waiter = this.openWaiter(taskToken);
    if (!waiter.heartbeat) return; // like AWS: a heartbeat to a task without HeartbeatSeconds is accepted and changes nothing
    waiter.heartbeat();
  }

  /** Resumes the executions that were saved as running (call once at start-up). */
  resumeSaved(): number {
    if (!this.options.dir) return 0;
    let resumed = 0;
    for (const file of readdirSync(this.options.dir).filter((f) => f.endsWith('.json'))) {
      const record = JSON.parse(readFileSync(join(this.options.dir, file), 'utf8')) as ExecutionRecord;
      if (this.executions.has(record.executionArn)) continue;
      this.executions.set(record.executionArn, record);
      if (record.status !== 'RUNNING') continue;
      if (!record.pendingWait) {
        // Stopped between two states: nothing external is owed, so it is marked failed rather than re-run.
        this.finish(record, 'FAILED', undefined, { Error: 'Local.Interrupted', Cause: 'The local runtime stopped while this execution was running' });
        continue;
      }
      this.run(record, record.pendingWait);
      resumed++;
    }
    return resumed;
  }

  list(): ExecutionRecord[] {
    return [...this.executions.values()];
  }

  describe(executionArn: string): ExecutionRecord | undefined {
    return this.executions.get(executionArn);
  }

  /** Resolves when the execution stops (tests and benchmarks). */
  waitFor(executionArn: string): Promise<ExecutionRecord> {
    const record = this.executions.get(executionArn);
    if (record && record.status !== 'RUNNING') return Promise.resolve(record);
    return this.finishedSignal(executionArn).promise;
  }

  /** Stops running executions without failing them: waiting ones resume on the next start. */
  stop(): void {
    this.stopped = true;
    for (const abort of this.aborts.values()) abort();
    this.aborts.clear();
  }

  private finishedSignal(executionArn: string) {
    let entry = this.finished.get(executionArn);
    if (!entry) {
      let resolve!: (r: ExecutionRecord) => void;
      const promise = new Promise<ExecutionRecord>((r) => (resolve = r));
      entry = { promise, resolve };
      this.finished.set(executionArn, entry);
    }
    return entry;
  }

  private openWaiter(token: string): Waiter {
    const waiter = this.waiters.get(token);
    if (!waiter) throw new TaskClosedError(`Task token is unknown or already used`);
    const now = Date.now();
    const { deadline, heartbeatDeadline } = waiter.wait;
    if ((deadline !== undefined && now > deadline) || (heartbeatDeadline !== undefined && now > heartbeatDeadline)) {
      throw new TaskClosedError('Task timed out');
    }
    return waiter;
  }

  private takeWaiter(token: string): Waiter {
    const waiter = this.openWaiter(token);
    this.waiters.delete(token);
    return waiter;
  }

  private save(record: ExecutionRecord): void {
    if (!this.options.dir || this.stopped) return;
    writeFileSync(join(this.options.dir, `${record.name}.json`), JSON.stringify(record));
  }

  private finish(record: ExecutionRecord, status: ExecutionStatus, output?: unknown, error?: ExecutionRecord['error']) {
    record.status = status;
    record.stoppedAt = new Date().toISOString();
    if (output !== undefined) record.output = output;
    if (error) record.error = error;
    delete record.pendingWait;
    for (const [token, waiter] of this.waiters) if (waiter.executionArn === record.executionArn) this.waiters.delete(token);
    this.save(record);
    this.finishedSignal(record.executionArn).resolve(record);
  }

  private run(record: ExecutionRecord, resumeFrom?: PendingWait): void {
    const definition = loadDefinition(STATE_MACHINES[record.stateMachine].file, this.options.substitutions()) as {
      StartAt: string;
      States: Record<string, StateDef>;
    };
    const lastEnteredInput = new Map<string, unknown>();
    const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
    let resume = resumeFrom;

    forEachState(definition.States, (stateName, state) => {
      if (state.Type !== 'Task') return;
      const resource = String(state.Resource);
      if (resource === LAMBDA_INVOKE) {
        // Deployed, a Lambda task without TimeoutSeconds is bounded by the function's own timeout;
        // the local engine would stop it after 60 s. Use the function's timeout (at least 60 s,
        // DynamoDB Local being slower than DynamoDB).
        if (state.TimeoutSeconds === undefined && state.TimeoutSecondsPath === undefined) {
          const fn = String((state.Parameters as { FunctionName?: string } | undefined)?.FunctionName ?? '').replace(/^.*function:prm-/, '');
          state.TimeoutSeconds = Math.max(60, (FUNCTIONS as Record<string, FunctionSpec>)[fn]?.timeoutSeconds ?? 0);
        }
        handlers[stateName] = async (input) => {
          const { FunctionName, Payload } = input as { FunctionName: string; Payload: unknown };
          const result = await this.options.invoke(FunctionName, Payload);
          return { ExecutedVersion: '$LATEST', Payload: result ?? null, StatusCode: 200, SdkHttpMetadata: { HttpStatusCode: 200 } };
        };
      } else if (resource === LAMBDA_INVOKE_WAIT) {
        const timeoutPath = state.TimeoutSecondsPath as string | undefined;
        const timeoutSeconds = state.TimeoutSeconds as number | undefined;
        const heartbeatPath = state.HeartbeatSecondsPath as string | undefined;
        const heartbeatSeconds = state.HeartbeatSeconds as number | undefined;
        delete state.TimeoutSecondsPath;
        delete state.HeartbeatSecondsPath;
        delete state.HeartbeatSeconds;
        state.TimeoutSeconds = LONG_TIMEOUT_SECONDS;
        handlers[stateName] = async (input) => {
          let wait: PendingWait;
          let invoke: (() => Promise<unknown>) | undefined;
          if (resume && resume.stateName === stateName) {
            wait = resume;
            resume = undefined;
          } else {
            // Let the event-log reader catch up so the state's raw input is known (needed to resume it).
            await new Promise((r) => setImmediate(r));
            const rawInput = lastEnteredInput.get(stateName);
            const seconds = timeoutPath ? Number(readPath(rawInput, timeoutPath)) : timeoutSeconds;
            const heartbeat = heartbeatPath ? Number(readPath(rawInput, heartbeatPath)) : heartbeatSeconds;
            const token = `tok_${ulid()}`;
            wait = {
              stateName,
              rawInput,
              token,
              ...(seconds ? { deadline: Date.now() + seconds * 1000 } : {}),
              ...(heartbeat ? { heartbeatSeconds: heartbeat, heartbeatDeadline: Date.now() + heartbeat * 1000 } : {}),
            };
            record.pendingWait = wait;
            this.save(record);
            const { FunctionName, Payload } = input as { FunctionName: string; Payload: unknown };
            invoke = () => this.options.invoke(FunctionName, replaceDeep(Payload, CONTEXT_TOKEN, token));
          }
          // The waiter is registered before the function runs: like on AWS, the function may hand the
          // token back (SendTaskSuccess) before it returns.
          const outcome = new Promise((resolve, reject) => {
            const timeOut = (after: number, error: string, message: string) => {
              const timer = setTimeout(() => {
                if (this.waiters.delete(wait.token)) reject(namedError(error, message));
              }, Math.max(0, after - Date.now()));
              timer.unref();
              return timer;
            };
            const waiter: Waiter = { executionArn: record.executionArn, wait, resolve, reject };
            if (wait.deadline !== undefined) timeOut(wait.deadline, 'States.Timeout', 'Task timed out');
            if (wait.heartbeatSeconds !== undefined) {
              // As on AWS, a missed heartbeat is States.HeartbeatTimeout (there, a Catch on States.Timeout also
              // matches it; the ASL lists both, which this runner needs).
              let timer = timeOut(wait.heartbeatDeadline!, 'States.HeartbeatTimeout', 'No heartbeat in time');
              waiter.heartbeat = () => {
                clearTimeout(timer);
                wait.heartbeatDeadline = Date.now() + wait.heartbeatSeconds! * 1000;
                timer = timeOut(wait.heartbeatDeadline, 'States.HeartbeatTimeout', 'No heartbeat in time');
                this.save(record);
              };
            }
            this.waiters.set(wait.token, waiter);
          });
          try {
            if (invoke) {
              try {
                await invoke();
              } catch (error) {
                this.waiters.delete(wait.token);
                outcome.catch(() => undefined);
                delete record.pendingWait;
                this.save(record);
                throw error;
              }
            }
            return await outcome;
          } finally {
            if (record.pendingWait?.token === wait.token) delete record.pendingWait;
          }
        };
      }
    });

    const runDefinition = resumeFrom ? { ...definition, StartAt: resumeFrom.stateName } : definition;
    // Each definition is validated once per engine (it costs 150–450 ms of CPU). A resumed run starts
    // mid-definition, where earlier states are unreachable, so it is never validated again.
    const validate = !resumeFrom && !this.validated.has(record.stateMachine);
    const machine = new StateMachine(runDefinition as never, {
      validationOptions: validate ? { checkPaths: false, checkArn: false } : { noValidate: true },
    });
    this.validated.add(record.stateMachine);
    const execution = machine.run((resumeFrom ? resumeFrom.rawInput : record.input) as never, {
      overrides: { taskResourceLocalHandlers: handlers as never },
      noThrowOnAbort: true,
      context: {
        Execution: { Id: record.executionArn, Input: record.input, Name: record.name, StartTime: record.startedAt },
        StateMachine: { Id: `arn:aws:states:us-east-1:000000000000:stateMachine:prm-${record.stateMachine}`, Name: `prm-${record.stateMachine}` },
        Task: { Token: CONTEXT_TOKEN },
      } as never,
    });
    this.aborts.set(record.executionArn, execution.abort);

    void (async () => {
      for await (const event of execution.eventLogs) {
        const entry = event as EventLog;
        if (entry.type === 'StateEntered' && entry.state) {
          lastEnteredInput.set(entry.state.name, entry.state.input);
          record.stateTransitions++;
        } else if (entry.type === 'StateRetried') {
          record.stateTransitions++;
        }
        record.events.push(entry);
      }
    })();

    execution.result.then(
      (output) => {
        this.aborts.delete(record.executionArn);
        if (this.stopped) return;
        this.finish(record, 'SUCCEEDED', output);
      },
      (error: Error & { cause?: unknown }) => {
        this.aborts.delete(record.executionArn);
        if (this.stopped) return;
        this.finish(record, 'FAILED', undefined, { Error: error.name, Cause: error.message });
      },
    );
  }
}

export function savedExecutionsExist(dir: string): boolean {
  return existsSync(dir) && readdirSync(dir).length > 0;
}
