/**
 * `npm run bench [-- part...]`: runs the benchmark parts (cost, coldstart, overhead, scale,
 * concurrency, users), each in a fresh Node process of its own (so one part's memory, modules and
 * environment cannot colour another's numbers), prints their tables and a summary of targets, and
 * writes bench/results/latest.json. Missed targets do not fail the run; a crash does (exit 1).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PART_NAMES, heading, round, targetsTable, type PartName, type PartResult, type Target } from './lib/report.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const RESULTS = join(HERE, 'results', 'latest.json');
/** A part that runs longer than this is stopped and reported as crashed. */
const PART_TIMEOUT_MS = Number(process.env.BENCH_PART_TIMEOUT_MS ?? 12 * 60_000);

async function runPartHere(part: PartName): Promise<PartResult> {
  switch (part) {
    case 'cost':
      return (await import('./cost.ts')).run();
    case 'coldstart':
      return (await import('./coldstart.ts')).run();
    case 'overhead':
      return (await import('./overhead.ts')).run();
    case 'scale':
      return (await import('./scale.ts')).run();
    case 'concurrency':
      return (await import('./concurrency.ts')).run();
    case 'users':
      return (await import('./users.ts')).run();
  }
}

/** Child mode: `index.ts --child <part> --out <file>`. */
async function child(part: PartName, out: string): Promise<void> {
  const result = await runPartHere(part);
  writeFileSync(out, JSON.stringify(result));
}

interface Outcome {
  part: PartName;
  result?: PartResult;
  crashed?: string;
  seconds: number;
  /** 1-minute load average before and after the part: other work on the machine skews timings. */
  load: [number, number];
}

function runChild(part: PartName, work: string): Promise<Outcome> {
  const out = join(work, `${part}.json`);
  const started = performance.now();
  const loadBefore = round(loadavg()[0]!, 2);
  if (loadBefore > cpus().length) console.log(`(load average ${loadBefore} on ${cpus().length} CPUs before ${part}: something else is running, timings will be noisy)`);
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', part, '--out', out], {
      stdio: 'inherit',
      detached: true,
      env: { ...process.env, TMPDIR: work, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    current = proc.pid;
    const timer = setTimeout(() => {
      console.error(`\n${part}: still running after ${PART_TIMEOUT_MS / 1000} s, stopping it`);
      killGroup(proc.pid);
    }, PART_TIMEOUT_MS);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      current = undefined;
      killGroup(proc.pid); // anything it left running in its group (it should have left nothing)
      const seconds = round((performance.now() - started) / 1000, 1);
      const load: [number, number] = [loadBefore, round(loadavg()[0]!, 2)];
      if (code === 0 && existsSync(out)) resolve({ part, result: JSON.parse(readFileSync(out, 'utf8')) as PartResult, seconds, load });
      else resolve({ part, crashed: `exit ${code ?? signal}`, seconds, load });
    });
  });
}

let current: number | undefined;
function killGroup(pid: number | undefined) {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    // already gone
  }
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    await child(args[1] as PartName, args[3]!);
    return 0;
  }
  const unknown = args.filter((a) => !(PART_NAMES as readonly string[]).includes(a));
  if (unknown.length) {
    console.error(`Unknown part(s): ${unknown.join(', ')}. Parts: ${PART_NAMES.join(', ')}`);
    return 2;
  }
  const parts = (args.length ? PART_NAMES.filter((p) => args.includes(p)) : [...PART_NAMES]) as PartName[];
  console.log(`PRM benchmarks: ${parts.join(', ')} on ${cpus().length} CPU(s), ${Math.round(totalmem() / 2 ** 30)} GB, Node ${process.version}`);

  const work = mkdtempSync(join(tmpdir(), 'prm-bench-'));
  const cleanup = () => rmSync(work, { recursive: true, force: true });
  const onSignal = (signal: NodeJS.Signals) => {
    killGroup(current);
    cleanup();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const started = performance.now();
  const outcomes: Outcome[] = [];
  try {
    for (const part of parts) outcomes.push(await runChild(part, work));
  } finally {
    cleanup();
  }

  // latest.json keeps the newest result of every part (a single-part run replaces only that part).
  const previous = existsSync(RESULTS) ? (JSON.parse(readFileSync(RESULTS, 'utf8')) as { parts?: Record<string, unknown> }) : {};
  const now = new Date().toISOString();
  const partsJson: Record<string, unknown> = { ...(previous.parts ?? {}) };
  for (const o of outcomes) {
    partsJson[o.part] = o.result
      ? { generatedAt: now, seconds: o.seconds, loadAverage: o.load, notes: o.result.notes, targets: o.result.targets, raw: o.result.raw }
      : { generatedAt: now, seconds: o.seconds, loadAverage: o.load, crashed: o.crashed, targets: [] };
  }
  const targets = PART_NAMES.flatMap((p) => ((partsJson[p] as { targets?: Target[] } | undefined)?.targets ?? []).map((t) => ({ part: p, ...t })));
  mkdirSync(dirname(RESULTS), { recursive: true });
  writeFileSync(
    RESULTS,
    `${JSON.stringify({ generatedAt: now, machine: { cpus: cpus().length, model: cpus()[0]?.model, memoryGB: round(totalmem() / 2 ** 30, 1), node: process.version, platform: process.platform }, targets, parts: partsJson }, null, 2)}\n`,
  );

  heading(`summary (${round((performance.now() - started) / 1000, 1)} s)`);
  for (const o of outcomes) console.log(`${o.part}: ${o.crashed ? `CRASHED (${o.crashed})` : 'done'} in ${o.seconds} s (load average ${o.load[0]} → ${o.load[1]})`);
  const ran = outcomes.flatMap((o) => o.result?.targets.map((t) => ({ ...t, name: `${o.part}: ${t.name}` })) ?? []);
  console.log(`\n${targetsTable(ran)}`);
  const notes = outcomes.flatMap((o) => o.result?.notes.map((n) => `${o.part}: ${n}`) ?? []);
  if (notes.length) console.log(`\nNotes (why a target was missed; what a reported figure stands for):\n${notes.map((n) => `- ${n}`).join('\n')}`);
  console.log(`\nWrote ${RESULTS}`);
  return outcomes.some((o) => o.crashed) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
