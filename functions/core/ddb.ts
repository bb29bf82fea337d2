import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, TransactWriteCommand, type QueryCommandInput, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from './errors.ts';
import { traced } from './tracing.ts';

let client: DynamoDBDocumentClient | undefined;

/** The document client. `DDB_ENDPOINT` points it at DynamoDB Local; deployed it uses the Lambda's role. */
export function ddb(): DynamoDBDocumentClient {
  if (!client) {
    const endpoint = process.env.DDB_ENDPOINT;
    const base = new DynamoDBClient(
      endpoint
        ? { endpoint, region: process.env.AWS_REGION ?? 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
        : {},
    );
    client = DynamoDBDocumentClient.from(traced(base), { marshallOptions: { removeUndefinedValues: true } });
  }
  return client;
}

export function tableName(): string {
  const name = process.env.TABLE_NAME;
  if (!name) throw new Error('TABLE_NAME is not set');
  return name;
}

/** Drops the cached client (tests that switch endpoint). */
export function resetDdbClient(): void {
  client?.destroy();
  client = undefined;
}

export const nowIso = () => new Date().toISOString();

/** Every item of a Query, following LastEvaluatedKey page by page. */
export async function queryAll(input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey'>): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await ddb().send(new QueryCommand({ ...input, TableName: tableName(), ExclusiveStartKey: startKey }));
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/** Runs a transaction; `false` when one of its conditions refused it (nothing was written), other errors throw. */
export async function transactUnlessRefused(items: TransactWriteCommandInput['TransactItems']): Promise<boolean> {
  try {
    await ddb().send(new TransactWriteCommand({ TransactItems: items }));
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}
