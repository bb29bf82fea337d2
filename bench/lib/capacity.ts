import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { localDynamoClient } from '../../local/dynamodb.ts';
import { TABLE_DEFINITION } from '../../functions/core/table.ts';

/**
 * DynamoDB read and write units, per operation, as AWS would bill them.
 *
 * A middleware on the system's document client (functions/core/ddb.ts `ddb()`) sets
 * `ReturnConsumedCapacity: 'TOTAL'` on every command and adds up what DynamoDB Local reports.
 * Where DynamoDB Local does not report (failed conditional writes) or reports wrongly
 * (TransactWriteItems: it rounds the whole transaction's size up once, so several small items
 * count as one), the units are computed from item sizes by the DynamoDB rules instead: each item
 * rounded up to 1 KB, ×2 for transactional items, +1 write per GSI the item is indexed in.
 * Sizes of items that an Update/Delete/ConditionCheck touches come from what the system read or
 * wrote earlier and from a read of the item after the write, done on a separate, uncounted client
 * and not awaited by the handler (so measured Lambda durations stay unaffected).
 */
export interface OperationUnits {
  calls: number;
  failed: number;
  readUnits: number;
  writeUnits: number;
  /** Units of these calls that were computed from item sizes rather than reported by DynamoDB Local. */
  computedUnits: number;
  /** What DynamoDB Local itself reported for TransactWriteItems (kept to show the difference). */
  localReportedUnits: number;
  /** Sum of the calls' latencies as the caller saw them. */
  ms: number;
}

export type UnitsByOperation = Record<string, OperationUnits>;

const READ_OPS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems']);
const KB = 1024;
const GSI_KEYS = TABLE_DEFINITION.globalSecondaryIndexes.map((g) => g.partitionKey);

type Item = Record<string, unknown>;

/** Approximate DynamoDB item size in bytes (attribute names + values), from plain JS values. */
export function itemSize(item: Item | undefined): number {
  if (!item) return 0;
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue;
    size += Buffer.byteLength(name) + valueSize(value);
  }
  return size;
}

function valueSize(value: unknown): number {
  if (value === null || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number' || typeof value === 'bigint') {
    const digits = String(value).replace(/[-.]/g, '').replace(/^0+/, '').replace(/e.*$/i, '').length || 1;
    return Math.ceil(digits / 2) + 1;
  }
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof Set) return [...value].reduce<number>((s, v) => s + valueSize(v), 0);
  if (Array.isArray(value)) return 3 + value.reduce<number>((s, v) => s + 1 + valueSize(v), 0);
  if (typeof value === 'object') {
    if (typeof (value as { value?: unknown }).value === 'string' && Object.keys(value).length === 1) return valueSize(Number((value as { value: string }).value));
    return 3 + Object.entries(value as Item).reduce((s, [k, v]) => (v === undefined ? s : s + 1 + Buffer.byteLength(k) + valueSize(v)), 0);
  }
  return 0;
}

const writeUnitsFor = (bytes: number) => Math.max(1, Math.ceil(bytes / KB));
const indexed = (item: Item | undefined) => !!item && GSI_KEYS.some((k) => item[k] !== undefined);

interface TxItem {
  Put?: { TableName: string; Item: Item };
  Update?: { TableName: string; Key: Item };
  Delete?: { TableName: string; Key: Item };
  ConditionCheck?: { TableName: string; Key: Item };
}

export class CapacityMeter {
  private readonly ops = new Map<string, OperationUnits>();
  /** Last known size (and GSI membership) of each item the system touched, by table+key. */
  private readonly known = new Map<string, { size: number; indexed: boolean }>();
  private readonly pending = new Set<Promise<void>>();
  private readonly side: DynamoDBDocumentClient;

  /**
   * Off: calls and latencies are still counted, but no item is read back to size it. The request
   * overhead part turns it off, so that the meter's own reads do not load DynamoDB Local while
   * latencies are measured.
   */
  sizeLookups = true;

  constructor(endpoint: string) {
    this.side = DynamoDBDocumentClient.from(localDynamoClient(endpoint));
  }

  /** Installs the counting middleware on the system's document client. */
  attach(client: DynamoDBDocumentClient): void {
    const stack = client.middlewareStack as unknown as {
      add(mw: unknown, options: { step: string; name: string; priority: string; override?: boolean }): void;
    };
    stack.add(
      (next: (args: { input: Item }) => Promise<{ output: Item }>, context: { commandName?: string }) =>
        async (args: { input: Item }) => {
          const op = (context.commandName ?? 'Unknown').replace(/Command$/, '');
          const input = { ...args.input, ReturnConsumedCapacity: 'TOTAL' };
          const started = performance.now();
          try {
            const result = await next({ ...args, input });
            this.record(op, input, result.output, undefined, performance.now() - started);
            return result;
          } catch (error) {
            this.record(op, input, undefined, error as Error, performance.now() - started);
            throw error;
          }
        },
      { step: 'initialize', name: 'benchConsumedCapacity', priority: 'high', override: true },
    );
  }

  /** Waits for the size look-ups still in flight; call before reading totals. */
  async settle(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  async snapshot(): Promise<UnitsByOperation> {
    await this.settle();
    return Object.fromEntries([...this.ops].map(([k, v]) => [k, { ...v }]));
  }

  destroy(): void {
    this.side.destroy();
  }

  private stats(op: string): OperationUnits {
    let s = this.ops.get(op);
    if (!s) {
      s = { calls: 0, failed: 0, readUnits: 0, writeUnits: 0, computedUnits: 0, localReportedUnits: 0, ms: 0 };
      this.ops.set(op, s);
    }
    return s;
  }

  private keyOf(table: string, key: Item): string {
    return `${table}\u0000${String(key[TABLE_DEFINITION.partitionKey])}\u0000${String(key[TABLE_DEFINITION.sortKey])}`;
  }

  private remember(table: string | undefined, item: Item | undefined) {
    if (!table || !item) return;
    this.known.set(this.keyOf(table, item), { size: itemSize(item), indexed: indexed(item) });
  }

  /** Adds units computed once the item's current size is known (read on the side client). */
  private computeLater(op: string, table: string, key: Item, before: Item | undefined, multiplier: number) {
    if (!this.sizeLookups) return;
    const id = this.keyOf(table, key);
    const earlier = this.known.get(id);
    const keyOnly = { [TABLE_DEFINITION.partitionKey]: key[TABLE_DEFINITION.partitionKey], [TABLE_DEFINITION.sortKey]: key[TABLE_DEFINITION.sortKey] };
    const task = this.side
      .send(new GetCommand({ TableName: table, Key: keyOnly, ConsistentRead: true }))
      .then((out) => out.Item as Item | undefined, () => undefined)
      .then((after) => {
        const size = Math.max(itemSize(before), earlier?.size ?? 0, itemSize(after));
        const units = writeUnitsFor(size);
        const gsi = indexed(after) || indexed(before) || !!earlier?.indexed ? units : 0;
        const total = units * multiplier + gsi;
        const s = this.stats(op);
        s.writeUnits += total;
        s.computedUnits += total;
        if (after) this.remember(table, after);
        else this.known.delete(id);
      });
    const tracked = task.finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  private record(op: string, input: Item, output: Item | undefined, error: Error | undefined, ms: number) {
    const s = this.stats(op);
    s.calls++;
    s.ms += ms;
    if (error) s.failed++;
    const table = input.TableName as string | undefined;

    // Remember sizes of what was read or written, for later computations.
    if (output) {
      if (op === 'GetItem') this.remember(table, output.Item as Item | undefined);
      if (op === 'Query' || op === 'Scan') for (const i of (output.Items as Item[] | undefined) ?? []) this.remember(table, i);
      if (op === 'BatchGetItem') {
        for (const [t, items] of Object.entries((output.Responses as Record<string, Item[]> | undefined) ?? {})) for (const i of items) this.remember(t, i);
      }
    }

    if (op === 'TransactWriteItems') {
      const items = (input.TransactItems as TxItem[] | undefined) ?? [];
      const reported = output ? ((output.ConsumedCapacity as { CapacityUnits?: number }[] | undefined) ?? []).reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0) : 0;
      s.localReportedUnits += reported;
      for (const item of items) {
        if (item.Put) {
          const id = this.keyOf(item.Put.TableName, item.Put.Item);
          const size = Math.max(itemSize(item.Put.Item), this.known.get(id)?.size ?? 0);
          const units = writeUnitsFor(size) * 2 + (indexed(item.Put.Item) ? writeUnitsFor(size) : 0);
          s.writeUnits += units;
          s.computedUnits += units;
          if (!error) this.remember(item.Put.TableName, item.Put.Item);
        } else {
          const target = item.Update ?? item.Delete ?? item.ConditionCheck;
          if (target) this.computeLater(op, target.TableName, target.Key, undefined, 2);
        }
      }
      return;
    }

    if (!error) {
      const consumed = output?.ConsumedCapacity as { CapacityUnits?: number } | { CapacityUnits?: number }[] | undefined;
      let units = (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []).reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
      if (op === 'BatchGetItem') {
        // AWS bills every key read, found or not (at least 1 unit consistent, 0.5 eventual); DynamoDB Local reports 0 for keys not found.
        const minimum = Object.values((input.RequestItems as Record<string, { Keys?: unknown[]; ConsistentRead?: boolean }> | undefined) ?? {}).reduce((m, r) => m + (r.Keys?.length ?? 0) * (r.ConsistentRead ? 1 : 0.5), 0);
        if (minimum > units) {
          s.computedUnits += minimum - units;
          units = minimum;
        }
      }
      if (READ_OPS.has(op)) s.readUnits += units;
      else s.writeUnits += units;
      if (op === 'PutItem') this.remember(table, input.Item as Item);
      if (op === 'DeleteItem' && table) this.known.delete(this.keyOf(table, input.Key as Item));
      return;
    }

    // A conditional write that was refused still consumes write units (reported by nobody locally).
    if (error.name === 'ConditionalCheckFailedException' && table) {
      if (op === 'PutItem') this.computeLater(op, table, input.Item as Item, input.Item as Item, 1);
      else if (input.Key) this.computeLater(op, table, input.Key as Item, undefined, 1);
    }
  }
}

export function totalUnits(units: UnitsByOperation): { readUnits: number; writeUnits: number; computedUnits: number; calls: number } {
  return Object.values(units).reduce(
    (t, u) => ({ readUnits: t.readUnits + u.readUnits, writeUnits: t.writeUnits + u.writeUnits, computedUnits: t.computedUnits + u.computedUnits, calls: t.calls + u.calls }),
    { readUnits: 0, writeUnits: 0, computedUnits: 0, calls: 0 },
  );
}

export function diffUnits(after: UnitsByOperation, before: UnitsByOperation): UnitsByOperation {
  const out: UnitsByOperation = {};
  for (const [op, a] of Object.entries(after)) {
    const b = before[op] ?? { calls: 0, failed: 0, readUnits: 0, writeUnits: 0, computedUnits: 0, localReportedUnits: 0, ms: 0 };
    const d = {
      calls: a.calls - b.calls,
      failed: a.failed - b.failed,
      readUnits: a.readUnits - b.readUnits,
      writeUnits: a.writeUnits - b.writeUnits,
      computedUnits: a.computedUnits - b.computedUnits,
      localReportedUnits: a.localReportedUnits - b.localReportedUnits,
      ms: a.ms - b.ms,
    };
    if (d.calls || d.readUnits || d.writeUnits) out[op] = d;
  }
  return out;
}
