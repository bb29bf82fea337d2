import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import { callerFromEvent, partnerCallerFor, requireRole, type Caller, type Role } from './auth.ts';
import { config } from './config.ts';
import { AppError, badRequest, errorBody, notFound } from './errors.ts';
import type { fingerprint, once } from './idempotency.ts';
import { MoneyError } from './money.ts';
import { logger } from './log.ts';
import { metrics } from './metrics.ts';
import { findUnsafeText } from './text.ts';

export const MAX_BODY_BYTES = 256 * 1024;

export interface Reply {
  status: number;
  json?: unknown;
  html?: string;
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface ApiRequest<B> {
  body: B;
  params: Record<string, string>;
  query: Record<string, string>;
  headers: Record<string, string>;
  caller: Caller | undefined;
  requestId: string;
  event: APIGatewayProxyEventV2;
}

export interface Route<B = unknown> {
  /** 'public' needs no token; otherwise the caller must hold one of these roles. */
  auth: 'public' | readonly Role[];
  body?: z.ZodType<B>;
  /** Also accept application/x-www-form-urlencoded (HTML forms). */
  form?: boolean;
  /** Honour the Idempotency-Key header. */
  idempotent?: boolean;
  /**
   * Whose Idempotency-Keys these are when the caller is anonymous (an authenticated caller's keys are
   * its own, by `sub`): a scope derived from the applicant in the body, so that another caller using
   * the same key neither receives this caller's reply nor is refused for it. Required on a public
   * idempotent route.
   */
  idempotencyScope?: (req: ApiRequest<B>) => string;
  handle: (req: ApiRequest<B>) => Promise<Reply>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type RouteTable = Record<string, Route<any>>;

/** A browser form post, or a caller asking for HTML: answer with a page rather than JSON. */
export function wantsHtml(headers: Record<string, string>): boolean {
  const contentType = headers['content-type'] ?? '';
  return contentType.startsWith('application/x-www-form-urlencoded') || (headers.accept ?? '').includes('text/html');
}

export const json = (status: number, body: unknown, headers?: Record<string, string>): Reply => ({ status, json: body, ...(headers ? { headers } : {}) });

function lowerCaseHeaders(event: APIGatewayProxyEventV2): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.headers ?? {})) if (v !== undefined) out[k.toLowerCase()] = v;
  return out;
}

export function zodDetails(error: z.ZodError) {
  return error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
}

export function parseWith<T>(schema: z.ZodType<T>, value: unknown, what = 'Request body'): T {
  const unsafe = findUnsafeText(value);
  if (unsafe) throw badRequest('invalid_text', `${what} has text that is not allowed: ${unsafe.path || 'the value'} ${unsafe.message}`, [unsafe]);
  const result = schema.safeParse(value);
  if (!result.success) throw badRequest('validation_failed', `${what} is invalid`, zodDetails(result.error));
  return result.data;
}

/**
 * The API's own origins: the one the request came in on (`https://<domainName>` on API Gateway, which
 * sets x-forwarded-proto; the local server sets it to http) and the configured public base URL, which
 * emailed links and the pages they open use.
 */
export function ownOrigins(event: APIGatewayProxyEventV2, headers: Record<string, string>): string[] {
  const origins: string[] = [];
  const proto = (headers['x-forwarded-proto'] ?? 'https').split(',')[0]!.trim().toLowerCase();
  const domain = event.requestContext?.domainName;
  if (domain && (proto === 'https' || proto === 'http')) origins.push(`${proto}://${domain.toLowerCase()}`);
  try {
    origins.push(new URL(config().baseUrl).origin.toLowerCase());
  } catch {
    // no usable base URL configured: the request's own origin alone
  }
  return origins;
}

/**
 * A state-changing request from a browser page of another site (cross-site form POST) is refused with
 * 403 foreign_origin: an `Origin` header, when present, must be one of the API's own origins.
 * `Origin: null` (sandboxed frames, opaque redirects, file: pages) is refused; no Origin at all
 * (curl, server-to-server) passes.
 */
export function requireSameOrigin(req: Pick<ApiRequest<unknown>, 'event' | 'headers'>): void {
  const origin = req.headers.origin;
  if (origin === undefined) return;
  if (!ownOrigins(req.event, req.headers).includes(origin.trim().toLowerCase())) {
    throw new AppError(403, 'foreign_origin', 'This request came from a page of another site (Origin header); open the link from the email and decide there');
  }
}

/** Body parsing: size limit (413), media type (415), JSON or form syntax (400). */
function readBody(event: APIGatewayProxyEventV2, headers: Record<string, string>, allowForm: boolean): unknown {
  const raw = event.body ?? '';
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (Buffer.byteLength(text, 'utf8') > MAX_BODY_BYTES) {
    throw new AppError(413, 'payload_too_large', `Request body is larger than ${MAX_BODY_BYTES} bytes`);
  }
  const mediaType = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (mediaType === 'application/json' || mediaType.endsWith('+json')) {
    if (text.trim() === '') throw badRequest('invalid_json', 'Request body is empty; a JSON object is required');
    try {
      return JSON.parse(text);
    } catch {
      throw badRequest('invalid_json', 'Request body is not valid JSON');
    }
  }
  if (allowForm && mediaType === 'application/x-www-form-urlencoded') {
    return Object.fromEntries(new URLSearchParams(text));
  }
  const accepted = allowForm ? 'application/json or application/x-www-form-urlencoded' : 'application/json';
  throw new AppError(415, 'unsupported_media_type', `Content-Type must be ${accepted}`);
}

const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'strict-transport-security': 'max-age=63072000; includeSubDomains',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'",
};

export function toResult(reply: Reply, requestId: string): APIGatewayProxyStructuredResultV2 {
  const headers: Record<string, string> = { ...SECURITY_HEADERS, 'x-request-id': requestId, ...(reply.headers ?? {}) };
  let body: string | undefined;
  if (reply.html !== undefined) {
    headers['content-type'] = 'text/html; charset=utf-8';
    body = reply.html;
  } else if (reply.text !== undefined) {
    headers['content-type'] = reply.contentType ?? 'text/plain; charset=utf-8';
    body = reply.text;
  } else if (reply.json !== undefined) {
    headers['content-type'] = 'application/json; charset=utf-8';
    body = JSON.stringify(reply.json);
  }
  return { statusCode: reply.status, headers, ...(body !== undefined ? { body } : {}) };
}

/** DynamoDB cancelled a transaction because another one touched the same item: nothing was written. */
function isTransactionConflict(error: unknown): boolean {
  const e = error as { name?: string; CancellationReasons?: { Code?: string }[] };
  return e?.name === 'TransactionConflictException' || (e?.name === 'TransactionCanceledException' && (e.CancellationReasons ?? []).some((r) => r.Code === 'TransactionConflict'));
}

export function errorReply(error: unknown): Reply {
  if (error instanceof AppError) return json(error.status, errorBody(error));
  if (error instanceof z.ZodError) return json(400, errorBody(badRequest('validation_failed', 'Request is invalid', zodDetails(error))));
  if (error instanceof MoneyError) return json(400, errorBody(badRequest(error.code, error.message)));
  if (isTransactionConflict(error)) {
    return json(409, { error: { code: 'concurrent_update', message: 'Another request changed the same records at the same moment; nothing was written, retry' } });
  }
  logger.error('unhandled error', { error: error as Error });
  return json(500, { error: { code: 'internal_error', message: 'Something went wrong on our side; it has been logged' } });
}

type Event = APIGatewayProxyEventV2;
type Result = APIGatewayProxyStructuredResultV2;

/** Added to the function's remaining time for the IN_PROGRESS expiry: clocks of two invocations may differ a little. */
const IN_PROGRESS_MARGIN_MS = 1000;

/**
 * What needs the table, passed in by http.ts: Idempotency-Key support (idempotency.ts) and the
 * check that refuses a disabled user's still valid token (revocations.ts).
 */
export interface TableServices {
  once: typeof once;
  fingerprint: typeof fingerprint;
  isRevoked: (sub: string) => Promise<boolean>;
}

/**
 * One Lambda handler for a context's routes, dispatched on API Gateway's `routeKey`
 * ("POST /applications"). The same function serves API Gateway deployed and the local server.
 * Use `httpApi` from http.ts; this is for a function with no idempotent route (health), so that
 * idempotency.ts, and with it the DynamoDB client, stay out of its bundle.
 */
export function httpRoutes(routes: RouteTable, services?: TableServices) {
  const unsupported = services ? undefined : Object.keys(routes).find((k) => routes[k]!.idempotent);
  if (unsupported) throw new Error(`${unsupported} is idempotent: serve it with httpApi from core/http.ts`);
  const unscoped = Object.keys(routes).find((k) => routes[k]!.idempotent && routes[k]!.auth === 'public' && !routes[k]!.idempotencyScope);
  if (unscoped) throw new Error(`${unscoped} is public and idempotent: give it an idempotencyScope, or every anonymous caller shares its keys`);
  const dispatch = async (event: Event, context?: Context): Promise<Result> => {
    const requestId = event.requestContext?.requestId ?? randomUUID();
    const route = routes[event.routeKey];
    if (!route) throw notFound('Route');
    const headers = lowerCaseHeaders(event);
    const params = (event.pathParameters ?? {}) as Record<string, string>;
    const caller = partnerCallerFor(callerFromEvent(event), event.routeKey, params.partnerId);
    if (caller && services && (await services.isRevoked(caller.sub))) throw new AppError(401, 'user_disabled', 'This user was disabled; ask your partner administrator');
    if (route.auth !== 'public') requireRole(caller, route.auth);
    const method = event.requestContext.http.method.toUpperCase();
    const hasBody = method === 'POST' || method === 'PUT' || method === 'PATCH';
    const rawBody = hasBody && route.body ? readBody(event, headers, route.form ?? false) : undefined;
    const body = route.body ? parseWith(route.body, rawBody) : undefined;
    const req: ApiRequest<unknown> = {
      body,
      params,
      query: (event.queryStringParameters ?? {}) as Record<string, string>,
      headers,
      caller,
      requestId,
      event,
    };
    const key = headers['idempotency-key'];
    if (route.idempotent && key !== undefined && services) {
      const { once, fingerprint } = services;
      const scope = caller?.sub ?? route.idempotencyScope!(req);
      // The record holds the key until this invocation's deadline: a crashed request does not block it for the TTL.
      const remaining = context?.getRemainingTimeInMillis?.();
      const options = typeof remaining === 'number' && remaining > 0 ? { inProgressMs: remaining + IN_PROGRESS_MARGIN_MS } : {};
      const reply = await once(
        scope,
        key,
        fingerprint(method, event.rawPath, rawBody),
        async () => {
          const r = await route.handle(req);
          return { status: r.status, json: r.json, ...(r.headers ? { headers: r.headers } : {}) };
        },
        options,
      );
      const { replayed, ...stored } = reply;
      return toResult({ ...stored, headers: { ...(stored.headers ?? {}), ...(replayed ? { 'idempotent-replayed': 'true' } : {}) } }, requestId);
    }
    return toResult(await route.handle(req), requestId);
  };

  return middy<Event, Result, Error, Context>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .use({
      // Errors become the API's error JSON; nothing of a stack trace leaves the function.
      onError: async (request) => {
        const requestId = request.event?.requestContext?.requestId ?? randomUUID();
        request.response = toResult(errorReply(request.error), requestId);
      },
    })
    .handler(dispatch);
}
