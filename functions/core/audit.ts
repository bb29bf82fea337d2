import { ulid } from 'ulid';
import { queryAll, tableName } from './ddb.ts';

export interface AuditEntry {
  at: string;
  actor: string;
  action: string;
  fromStatus: string | null;
  toStatus: string | null;
  comment?: string;
}

const HISTORY_PREFIX = 'HIST#';

/**
 * The Put for one audit entry, to be placed in the same TransactWriteItems as the state change it
 * records. It lives in the record's own partition so one Query returns a record's history in order.
 */
export function auditPut(recordPk: string, entry: Omit<AuditEntry, 'at'> & { at?: string }) {
  const at = entry.at ?? new Date().toISOString();
  return {
    Put: {
      TableName: tableName(),
      Item: {
        pk: recordPk,
        sk: `${HISTORY_PREFIX}${at}#${ulid()}`,
        type: 'audit',
        at,
        actor: entry.actor,
        action: entry.action,
        fromStatus: entry.fromStatus,
        toStatus: entry.toStatus,
        ...(entry.comment ? { comment: entry.comment } : {}),
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
}

export async function readHistory(recordPk: string): Promise<AuditEntry[]> {
  const items = await queryAll({
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
    ExpressionAttributeValues: { ':pk': recordPk, ':prefix': HISTORY_PREFIX },
  });
  return items.map((item) => ({
    at: item.at as string,
    actor: item.actor as string,
    action: item.action as string,
    fromStatus: (item.fromStatus as string | undefined) ?? null,
    toStatus: (item.toStatus as string | undefined) ?? null,
    ...(item.comment ? { comment: item.comment as string } : {}),
  }));
}
