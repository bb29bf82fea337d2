import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { LocalSystem } from '../../local/runtime.ts';
import { ROUTES } from '../../functions/catalog.ts';
import type { paths } from './openapi-types.ts';
import type { Client as UntypedClient } from './system.ts';

/**
 * The e2e suites' HTTP client: openapi-fetch over the types openapi-typescript generated from
 * docs/openapi.json (test/support/openapi-types.ts), so a request or response the contract does
 * not describe fails the type check. Every response it receives is also checked against the
 * OpenAPI response of its route and status (the contract middleware below): an undocumented status
 * or a body that does not match its schema makes the call throw, failing the test.
 */
export type ApiClient = Client<paths>;

export interface ContractRecord {
  method: string;
  path: string;
  status: number;
  contentType: string;
  body: unknown;
}

/** Every response the typed client saw in this test file's process, checked or not. */
export const contractLog: ContractRecord[] = [];

interface OpenApiDoc {
  paths: Record<string, Record<string, { responses: Record<string, { $ref?: string; content?: Record<string, { schema?: unknown }> }> }>>;
  components: { schemas: Record<string, unknown>; responses: Record<string, { content?: Record<string, { schema?: unknown }> }> };
}

const DOC_ID = 'https://prm.local/openapi.json';
const doc = JSON.parse(readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8')) as OpenApiDoc;
const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
ajv.addSchema({ $id: DOC_ID, components: { schemas: doc.components.schemas } });

const rebase = (schema: unknown): unknown => JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', `"${DOC_ID}#/components/schemas/`));
const validators = new Map<string, ReturnType<typeof ajv.compile>>();

/** Why a response does not match the contract, or undefined when it does. */
export function contractProblem(r: ContractRecord): string | undefined {
  const operation = doc.paths[r.path]?.[r.method.toLowerCase()];
  if (!operation) return `${r.method} ${r.path} is not in docs/openapi.json`;
  let response = operation.responses[String(r.status)];
  if (response?.$ref) response = doc.components.responses[response.$ref.replace('#/components/responses/', '')];
  if (!response) return `${r.method} ${r.path} answered ${r.status}, which docs/openapi.json does not document (documented: ${Object.keys(operation.responses).join(', ')})`;
  if (!response.content) return undefined;
  const mediaType = r.contentType.split(';')[0]!.trim();
  const media = response.content[mediaType];
  if (!media) return `${r.method} ${r.path} ${r.status} answered ${mediaType || 'no content type'}; documented: ${Object.keys(response.content).join(', ')}`;
  if (mediaType !== 'application/json' || !media.schema) return undefined;
  const key = `${r.method} ${r.path} ${r.status}`;
  let validate = validators.get(key);
  if (!validate) validators.set(key, (validate = ajv.compile(rebase(media.schema) as object)));
  if (validate(r.body)) return undefined;
  return `${key}: the body does not match the schema: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(r.body).slice(0, 2000)}`;
}

/** Records every response and throws when it breaks the contract. */
export const contractMiddleware: Middleware = {
  async onResponse({ request, response, schemaPath }) {
    // A redirect the fetch followed (the CSV exports): the route's own answer was the 302.
    const status = response.redirected ? 302 : response.status;
    const contentType = response.redirected ? '' : (response.headers.get('content-type') ?? '');
    const text = response.redirected ? '' : await response.clone().text();
    let body: unknown = text;
    if (contentType.includes('json')) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    const record = { method: request.method, path: schemaPath, status, contentType, body };
    contractLog.push(record);
    const problem = contractProblem(record);
    if (problem) throw new Error(`Contract drift: ${problem}`);
    return undefined;
  },
};

/** A typed client for the local system, its responses checked against docs/openapi.json. */
export function apiClient(system: Pick<LocalSystem, 'url'>): ApiClient {
  const client = createClient<paths>({ baseUrl: system.url });
  client.use(contractMiddleware);
  return client;
}

/** Request headers with a bearer token. */
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The route template ("/partners/{partnerId}/users") of a concrete path, from the route catalog. */
function templateOf(method: string, path: string): string | undefined {
  const bare = path.split('?')[0]!;
  const route = ROUTES.find((r) => r.method === method && new RegExp(`^${r.path.replace(/\{\w+\}/g, '[^/]+')}$`).test(bare));
  return route?.path;
}

/**
 * The untyped test client (support/system.ts), with every API response checked against the
 * contract like the typed one: for suites that send deliberately odd requests or need raw access.
 */
export function contractChecked(inner: UntypedClient): UntypedClient {
  const check = async <R extends Awaited<ReturnType<UntypedClient['get']>>>(method: string, path: string, reply: Promise<R>): Promise<R> => {
    const res = await reply;
    const template = templateOf(method, path);
    if (!template) return res; // not an API route (presigned uploads, /_local)
    const contentType = res.headers.get('content-type') ?? '';
    const record = { method, path: template, status: res.status, contentType, body: contentType.includes('json') ? res.body : res.text };
    contractLog.push(record);
    const problem = contractProblem(record);
    if (problem) throw new Error(`Contract drift: ${problem}`);
    return res;
  };
  return {
    get: (path, token) => check('GET', path, inner.get(path, token)),
    post: (path, body, options) => check('POST', path, inner.post(path, body, options)),
    put: (path, body, options) => check('PUT', path, inner.put(path, body, options)),
    raw: (path, init) => check((init.method ?? 'GET').toUpperCase(), path, inner.raw(path, init)),
  };
}
