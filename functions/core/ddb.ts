import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

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
    client = DynamoDBDocumentClient.from(base, { marshallOptions: { removeUndefinedValues: true } });
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
