import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import { blobs } from '../core/blobs.ts';
import { formatDecimal, money } from '../core/money.ts';
import { neutraliseCell } from './model.ts';
import { runPayments, type RunRecord } from './store.ts';

export const EXPORT_COLUMNS = ['payment_id', 'run_id', 'period', 'partner_id', 'partner_legal_name', 'payee_reference', 'currency', 'amount', 'amount_minor', 'line_count'];
export const LINE_COLUMNS = ['line_id', 'payment_id', 'partner_id', 'source_type', 'source_id', 'description', 'currency', 'amount', 'amount_minor'];

/** The payments finance pays: PENDING ones, and the same ones once PAID (so every pull is identical). */
const exported = (status: string) => status === 'PENDING' || status === 'PAID';

async function* paymentRows(run: RunRecord) {
  for await (const p of runPayments(run.runId, 'export')) {
    if (!exported(p.status)) continue;
    yield [p.paymentId, p.runId, p.period, p.partnerId, neutraliseCell(p.partnerLegalName), neutraliseCell(p.payeeReference ?? ''), p.currency, formatDecimal(money(p.amount, p.currency)), String(p.amount), String(p.lineCount)];
  }
}

async function* lineRows(run: RunRecord) {
  for await (const p of runPayments(run.runId)) {
    if (!exported(p.status)) continue;
    for (const l of p.lines) {
      yield [l.lineId, p.paymentId, p.partnerId, l.sourceType, neutraliseCell(l.sourceId), neutraliseCell(l.description), l.amount.currency, formatDecimal(l.amount), String(l.amount.amount)];
    }
  }
}

/**
 * Writes a run's CSV (RFC 4180: CRLF, quoted where needed, header row) to the blob store once,
 * streaming rows from DynamoDB through csv-stringify into a temporary file, and returns its key.
 * An approved run's payments no longer change, so the first file is the file: every pull is identical.
 */
export async function ensureExport(run: RunRecord, kind: 'export' | 'lines'): Promise<string> {
  const key = `exports/${run.runId}/${kind}.csv`;
  const store = blobs.get();
  if (await store.exists(key)) return key;
  const dir = mkdtempSync(join(tmpdir(), 'prm-export-'));
  try {
    const file = join(dir, `${kind}.csv`);
    const rows = kind === 'export' ? paymentRows(run) : lineRows(run);
    await pipeline(Readable.from(rows), stringify({ header: true, columns: kind === 'export' ? EXPORT_COLUMNS : LINE_COLUMNS, record_delimiter: 'windows' }), createWriteStream(file));
    await store.putFile(key, file, 'text/csv; charset=utf-8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return key;
}
