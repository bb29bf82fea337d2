import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal, type DynamoDbLocal } from '../local/dynamodb.ts';

let dynamo: DynamoDbLocal | undefined;

/** One DynamoDB Local (in memory, random port) for the whole run; each test file makes its own table. */
export async function setup(project: TestProject) {
  dynamo = await startDynamoDbLocal();
  project.provide('ddbEndpoint', dynamo.endpoint);
}

export async function teardown() {
  await dynamo?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    ddbEndpoint: string;
  }
}
