/** What every part returns, and the small helpers they print with. */
import { readFileSync, writeFileSync } from 'node:fs';

export interface Target {
  name: string;
  /** null when it could not be measured (see `reason`). */
  value: number | null;
  unit: string;
  /** Human form of the bound, e.g. "<= 0.0005". */
  target: string;
  met: boolean;
  reason?: string;
}

export interface PartResult {
  part: string;
  targets: Target[];
  /** The counts behind the targets, as measured. */
  raw: Record<string, unknown>;
  notes: string[];
  seconds: number;
}

export const PART_NAMES = ['cost', 'coldstart', 'overhead', 'scale', 'concurrency', 'users'] as const;
export type PartName = (typeof PART_NAMES)[number];

export function atMost(name: string, value: number | null, bound: number, unit: string, reason?: string): Target {
  return { name, value, unit, target: `<= ${bound}`, met: value !== null && value <= bound, ...(reason ? { reason } : {}) };
}

export function exactly(name: string, value: number | null, wanted: number, unit: string, reason?: string): Target {
  return { name, value, unit, target: `= ${wanted}`, met: value !== null && value === wanted, ...(reason ? { reason } : {}) };
}

export const notMeasured = (name: string, unit: string, target: string, reason: string): Target => ({ name, value: null, unit, target, met: false, reason });

type Align = 'l' | 'r';

/** A plain-text table: `align` per column ('r' for numbers). */
export function table(headers: string[], rows: (string | number)[][], align: Align[] = []): string {
  const cells = rows.map((r) => r.map((c) => String(c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const pad = (s: string, i: number) => ((align[i] ?? 'l') === 'r' ? s.padStart(widths[i]!) : s.padEnd(widths[i]!));
  const line = (r: string[]) => r.map((c, i) => pad(c, i)).join(' | ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('-|-'), ...cells.map(line)].join('\n');
}

export function targetsTable(targets: Target[]): string {
  return table(
    ['target', 'value', 'unit', 'bound', 'met'],
    targets.map((t) => [t.name, t.value === null ? 'n/a' : fmtNumber(t.value), t.unit, t.target, t.met ? 'yes' : t.value === null ? `NO (${t.reason ?? 'not measured'})` : 'NO']),
    ['l', 'r', 'l', 'l', 'l'],
  );
}

export function fmtNumber(n: number): string {
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  const abs = Math.abs(n);
  if (abs >= 100) return n.toFixed(1);
  if (abs >= 1) return n.toFixed(2);
  if (abs === 0) return '0';
  return n.toPrecision(3);
}

/** Dollars with enough digits for fractions of a cent. */
export function usd(n: number | null): string {
  if (n === null) return 'n/a';
  if (n === 0) return '$0';
  if (Math.abs(n) >= 100) return `$${n.toLocaleString('en-US', { maximumFractionDigits: 0 })}`;
  if (Math.abs(n) >= 0.01) return `$${n.toFixed(4)}`;
  return `$${n.toPrecision(3)}`;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

export function heading(text: string): void {
  console.log(`\n=== ${text} ${'='.repeat(Math.max(0, 90 - text.length))}`);
}

/** Runs `fn` over `items` with at most `limit` in flight; results in input order. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(workers);
  return results;
}

/** Peak resident set size of this process since the last reset (Linux VmHWM), in MB. */
export function peakRssMb(): number | undefined {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Resets VmHWM to the current RSS (Linux: write 5 to clear_refs); false where unsupported. */
export function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/** Samples RSS every `everyMs` until stopped; returns the highest sample in MB. */
export function rssSampler(everyMs = 25) {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, everyMs);
  return {
    stop(): number {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage().rss);
      return peak / 1024 / 1024;
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
