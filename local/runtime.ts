import { randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { FUNCTIONS, ROUTES, routeKey, type FunctionName, type FunctionSpec, type RouteSpec } from '../functions/catalog.ts';
import { blobs } from '../functions/core/blobs.ts';
import { DEFAULT_CONFIG, type PrmConfig } from '../functions/core/config.ts';
import { resetDdbClient } from '../functions/core/ddb.ts';
import { events } from '../functions/core/events.ts';
import { MAX_BODY_BYTES } from '../functions/core/http.ts';
import { secrets } from '../functions/core/secrets.ts';
import { workflows } from '../functions/core/workflow-client.ts';
import { mailer } from '../functions/notifications/mailer.ts';
import { LocalBlobStore } from './blobs.ts';
import { ROOT, localSubstitutions } from './definitions.ts';
import { startDynamoDbLocal, ensureTable, type DynamoDbLocal } from './dynamodb.ts';
import { LocalEventLog } from './event-log.ts';
import { LocalJwt, type TokenRequest } from './jwt.ts';
import { Outbox } from './outbox.ts';
import { localDirectory } from './identity.ts';
import { userDirectory } from '../functions/users/directory.ts';
import { LocalWorkflowEngine } from './workflows.ts';

type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

export interface LocalOptions {
  /** 0 picks a free port. */
  port?: number;
  /** Where data persists between runs; omit to keep everything in memory. */
  dataDir?: string;
  /** Wipe `dataDir` first. */
  reset?: boolean;
  /** Overrides merged over the default configuration (e.g. short timeouts in tests). */
  config?: Partial<Omit<PrmConfig, 'baseUrl'>> & Record<string, unknown>;
  tableName?: string;
  /** Use an already running DynamoDB Local (tests share one) instead of starting one. */
  ddbEndpoint?: string;
}

/** Per-function Lambda invocation counts and durations, as AWS would bill them. */
export type InvocationStats = Map<string, { invocations: number; durationsMs: number[] }>;

export interface LocalSystem {
  url: string;
  port: number;
  engine: LocalWorkflowEngine;
  outbox: Outbox;
  eventLog: LocalEventLog;
  blobStore: LocalBlobStore;
  ddbEndpoint: string;
  token(request: TokenRequest): Promise<string>;
  /** Calls a Lambda handler in-process, as Step Functions would (used by the engine). */
  invoke(functionArnOrName: string, payload: unknown): Promise<unknown>;
  /** Every handler call so far (HTTP and workflow tasks), by function name. */
  invocations: InvocationStats;
  stop(): Promise<void>;
}

interface Matcher {
  spec: RouteSpec;
  regex: RegExp;
  names: string[];
}

function compileRoutes(): Matcher[] {
  return ROUTES.map((spec) => {
    const names: string[] = [];
    const pattern = spec.path.replace(/\{(\w+)\}/g, (_, name: string) => {
      names.push(name);
      return '([^/]+)';
    });
    return { spec, regex: new RegExp(`^${pattern}$`), names };
  });
}

export function lambdaContext(functionName: string): Context {
  const deadline = Date.now() + Math.max(30, (FUNCTIONS as Record<string, FunctionSpec>)[functionName]?.timeoutSeconds ?? 0) * 1000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:prm-${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/prm-${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Presigned uploads (S3's stand-in) take proof files up to 50 MiB; API requests are held to 256 KiB. */
const MAX_UPLOAD_BYTES = 50 * 1024 * 1024;

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too_large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return 'too_large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function sendJson(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

const errorJson = (code: string, message: string) => ({ error: { code, message } });

/** The blob routes answer as S3 does: an XML <Error> with S3's code. */
function sendS3Error(res: ServerResponse, status: number, code: string, message: string) {
  const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  res.writeHead(status, { 'content-type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${escape(message)}</Message></Error>`);
}

function loadSecrets(dataDir: string | undefined): { jwt: string; link: string } {
  const fresh = () => ({ jwt: randomBytes(32).toString('base64url'), link: randomBytes(32).toString('base64url') });
  if (!dataDir) return fresh();
  const file = join(dataDir, 'secrets.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as { jwt: string; link: string };
  const created = fresh();
  writeFileSync(file, JSON.stringify(created), { mode: 0o600 });
  return created;
}

/**
 * The whole system on one machine: DynamoDB Local, the HTTP API calling the same Lambda handlers
 * with API Gateway v2 events, the ASL runner, outbox, blob store and event log.
 */
export async function startLocal(options: LocalOptions = {}): Promise<LocalSystem> {
  const dataDir = options.dataDir ? resolve(options.dataDir) : undefined;
  if (dataDir && options.reset) rmSync(dataDir, { recursive: true, force: true });
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const sub = (name: string) => (dataDir ? join(dataDir, name) : undefined);
  const keys = loadSecrets(dataDir);

  let dynamo: DynamoDbLocal | undefined;
  let server: Server | undefined;
  let engine: LocalWorkflowEngine | undefined;
  try {
    dynamo = options.ddbEndpoint
      ? { endpoint: options.ddbEndpoint, port: Number(new URL(options.ddbEndpoint).port), stop: async () => undefined }
      : await startDynamoDbLocal({ ...(sub('dynamodb') ? { dataDir: sub('dynamodb') } : {}) });
    const tableName = options.tableName ?? 'prm';
    process.env.DDB_ENDPOINT = dynamo.endpoint;
    process.env.TABLE_NAME = tableName;
    process.env.AWS_REGION ??= 'us-east-1';
    process.env.LINK_SECRET = keys.link;
    resetDdbClient();
    await ensureTable(dynamo.endpoint, tableName);

    const handlers = new Map<FunctionName, LambdaHandler>();
    for (const [name, spec] of Object.entries(FUNCTIONS) as [FunctionName, (typeof FUNCTIONS)[FunctionName]][]) {
      const mod = (await import(pathToFileURL(join(ROOT, spec.entry)).href)) as { handler: LambdaHandler };
      handlers.set(name, mod.handler);
    }
    const invocations: InvocationStats = new Map();
    const timed = async (name: FunctionName, event: unknown) => {
      const started = performance.now();
      try {
        return await handlers.get(name)!(event, lambdaContext(name));
      } finally {
        const stats = invocations.get(name) ?? { invocations: 0, durationsMs: [] };
        stats.invocations++;
        stats.durationsMs.push(performance.now() - started);
        invocations.set(name, stats);
      }
    };
    const invoke = async (functionArnOrName: string, payload: unknown) => {
      const name = functionArnOrName.replace(/^.*function:prm-/, '') as FunctionName;
      if (!handlers.has(name)) throw Object.assign(new Error(`No local function ${functionArnOrName}`), { name: 'Lambda.ResourceNotFoundException' });
      return timed(name, structuredClone(payload));
    };

    let baseUrl = '';
    const outbox = new Outbox(sub('outbox'));
    const eventLog = new LocalEventLog(dataDir);
    const blobStore = new LocalBlobStore(() => baseUrl, sub('blobs'));
    const jwt = new LocalJwt(keys.jwt);
    engine = new LocalWorkflowEngine({ invoke, substitutions: localSubstitutions, ...(sub('executions') ? { dir: sub('executions') } : {}) });
    mailer.set(outbox);
    workflows.set(engine);
    blobs.set(blobStore);
    events.set(eventLog);
    userDirectory.set(localDirectory(jwt));
    secrets.set(undefined);

    const matchers = compileRoutes();
    const localEngine = engine;

    const handle = async (req: IncomingMessage, res: ServerResponse) => {
      const url = new URL(req.url ?? '/', baseUrl);
      const method = (req.method ?? 'GET').toUpperCase();
      const limit = url.pathname.startsWith('/_local/blobs/') ? MAX_UPLOAD_BYTES : MAX_BODY_BYTES;
      const body = await readBody(req, limit);
      if (body === 'too_large') return sendJson(res, 413, errorJson('payload_too_large', `Request body is larger than ${limit} bytes`));

      if (url.pathname === '/_local/token' && method === 'POST') {
        try {
          const request = JSON.parse(body.toString('utf8')) as TokenRequest & { groups?: unknown };
          if (!request.sub || !request.email || !Array.isArray(request.groups)) throw new Error('sub, email and groups are required');
          return sendJson(res, 200, { token: await jwt.sign(request) });
        } catch (error) {
          return sendJson(res, 400, errorJson('invalid_token_request', (error as Error).message));
        }
      }
      if (url.pathname === '/_local/outbox' && method === 'GET') {
        return sendJson(res, 200, { messages: outbox.all().map(({ id, to, subject, text, html, sentAt }) => ({ id, to, subject, text, html, sentAt })) });
      }
      if (url.pathname === '/_local/outbox/view' && method === 'GET') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return res.end(outbox.renderPage());
      }
      if (url.pathname === '/_local/executions' && method === 'GET') {
        return sendJson(res, 200, {
          executions: localEngine.list().map(({ events: _e, ...rest }) => rest),
        });
      }
      if (url.pathname.startsWith('/_local/blobs/') && (method === 'PUT' || method === 'GET')) {
        const key = decodePathPart(url.pathname.slice('/_local/blobs/'.length));
        if (key === undefined) return malformedPath(res);
        const refused = blobStore.verify(method, key, url.searchParams, req.headers, body.length) ?? (method === 'PUT' ? blobStore.receive(key, url.searchParams, body) : undefined);
        if (refused) return sendS3Error(res, refused.status, refused.code, refused.message);
        if (method === 'PUT') {
          res.writeHead(200);
          return res.end();
        }
        const path = blobStore.pathOf(key);
        if (!path) return sendS3Error(res, 404, 'NoSuchKey', 'The specified key does not exist.');
        res.writeHead(200, { 'content-type': key.endsWith('.csv') ? 'text/csv; charset=utf-8' : 'application/octet-stream' });
        return pipeline(createReadStream(path), res);
      }

      if (method === 'GET' && url.pathname === '/openapi.json') {
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
        return pipeline(createReadStream(join(ROOT, 'docs/openapi.json')), res);
      }
      if (method === 'GET' && (url.pathname === '/docs' || url.pathname === '/docs/')) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        return res.end(API_REFERENCE_PAGE);
      }
      if (method === 'GET' && url.pathname === '/docs/scalar.js') {
        // Scalar's standalone bundle, from node_modules: the reference page loads nothing from a CDN.
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'max-age=3600' });
        return pipeline(createReadStream(SCALAR_BUNDLE), res);
      }

      const matched = matchers
        .filter((m) => m.spec.method === method)
        .map((m) => ({ m, groups: m.regex.exec(url.pathname) }))
        .find((x) => x.groups);
      if (!matched) return sendJson(res, 404, errorJson('not_found', `No route for ${method} ${url.pathname}`));
      const { m, groups } = matched as { m: Matcher; groups: RegExpExecArray };

      let claims: Record<string, string> | undefined;
      if (m.spec.auth === 'jwt') {
        const header = req.headers.authorization ?? '';
        const token = /^Bearer\s+(.+)$/i.exec(header)?.[1];
        if (!token) return sendJson(res, 401, errorJson('unauthorized', 'A bearer token is required'));
        try {
          claims = await jwt.verify(token);
        } catch {
          return sendJson(res, 401, errorJson('unauthorized', 'The bearer token is invalid or expired'));
        }
      }

      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
      // API Gateway sets x-forwarded-proto (https) itself, overriding the caller's; the local server speaks http.
      headers['x-forwarded-proto'] = 'http';
      const query: Record<string, string> = {};
      for (const [k, v] of url.searchParams) query[k] = query[k] === undefined ? v : `${query[k]},${v}`;
      const decoded = m.names.map((_, i) => decodePathPart(groups[i + 1] ?? ''));
      // API Gateway refuses a path it cannot decode before any Lambda runs; so does the local server.
      if (decoded.some((v) => v === undefined)) return malformedPath(res);
      const pathParameters = Object.fromEntries(m.names.map((n, i) => [n, decoded[i] as string]));
      const now = new Date();
      const event: APIGatewayProxyEventV2 = {
        version: '2.0',
        routeKey: routeKey(m.spec),
        rawPath: url.pathname,
        rawQueryString: url.search.replace(/^\?/, ''),
        headers,
        ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
        ...(m.names.length ? { pathParameters } : {}),
        requestContext: {
          accountId: '000000000000',
          apiId: 'local',
          domainName: url.host,
          domainPrefix: 'local',
          http: { method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: req.socket.remoteAddress ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
          requestId: randomUUID(),
          routeKey: routeKey(m.spec),
          stage: '$default',
          time: now.toUTCString(),
          timeEpoch: now.getTime(),
          ...(claims ? { authorizer: { jwt: { claims, scopes: [] } } } : {}),
        } as APIGatewayProxyEventV2['requestContext'],
        ...(body.length ? { body: body.toString('utf8') } : {}),
        isBase64Encoded: false,
      };
      const result = (await timed(m.spec.fn, event)) as APIGatewayProxyStructuredResultV2;
      res.writeHead(result.statusCode ?? 200, (result.headers ?? {}) as Record<string, string>);
      res.end(result.body ?? '');
    };

    server = createServer((req, res) => {
      handle(req, res).catch((error: unknown) => {
        console.error('local server error', error);
        if (!res.headersSent) sendJson(res, 500, errorJson('internal_error', 'Local server error'));
        else res.end();
      });
    });
    const port = await new Promise<number>((resolvePort, reject) => {
      server!.once('error', reject);
      server!.listen(options.port ?? 3000, '127.0.0.1', () => {
        const address = server!.address();
        resolvePort(typeof address === 'object' && address ? address.port : 0);
      });
    });
    baseUrl = `http://127.0.0.1:${port}`;
    process.env.PRM_CONFIG = JSON.stringify({ ...(options.config ?? {}), baseUrl });
    engine.resumeSaved();

    const openServer = server;
    const openDynamo = dynamo;
    return {
      url: baseUrl,
      port,
      engine,
      outbox,
      eventLog,
      blobStore,
      ddbEndpoint: dynamo.endpoint,
      token: (request) => jwt.sign(request),
      invoke,
      invocations,
      async stop() {
        localEngine.stop();
        await new Promise<void>((r) => {
          openServer.close(() => r());
          openServer.closeAllConnections();
        });
        resetDdbClient();
        await openDynamo.stop();
        blobStore.dispose();
      },
    };
  } catch (error) {
    engine?.stop();
    server?.close();
    await dynamo?.stop();
    throw error;
  }
}

export { DEFAULT_CONFIG };

/** `GET /docs`: the API reference, rendered by Scalar from /openapi.json (served locally, no CDN, no default web fonts). */
const SCALAR_BUNDLE = join(ROOT, 'node_modules/@scalar/api-reference/dist/browser/standalone.js');
const API_REFERENCE_PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>PRM API reference</title>
  </head>
  <body>
    <div id="app"></div>
    <script src="/docs/scalar.js"></script>
    <script>
      Scalar.createApiReference('#app', { url: '/openapi.json', withDefaultFonts: false, hideClientButton: true });
    </script>
  </body>
</html>
`;

const malformedPath = (res: ServerResponse) => sendJson(res, 400, errorJson('invalid_path', 'The path holds malformed percent-encoding'));

function decodePathPart(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}
