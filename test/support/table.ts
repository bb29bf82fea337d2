import { inject } from 'vitest';
import { ulid } from 'ulid';
import { resetDdbClient } from '../../functions/core/ddb.ts';
import { ensureTable } from '../../local/dynamodb.ts';

/** Points the handlers' DynamoDB client at the shared DynamoDB Local and a fresh table of this file's own. */
export async function useFreshTable(): Promise<string> {
  const endpoint = inject('ddbEndpoint');
  const tableName = `test-${ulid().toLowerCase()}`;
  process.env.DDB_ENDPOINT = endpoint;
  process.env.TABLE_NAME = tableName;
  process.env.AWS_REGION = 'us-east-1';
  resetDdbClient();
  await ensureTable(endpoint, tableName);
  return tableName;
}
