import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/runtime.ts';
import { apiClient, bearer, contractLog, contractProblem, type ApiClient } from '../support/api-client.ts';
import { startTestSystem, tokenFor } from '../support/system.ts';

/**
 * The contract check itself: the typed client records every response and checks it against
 * docs/openapi.json (test/support/api-client.ts); here, that it sees responses at all and that it
 * refuses what the contract does not say. Also: `npm start` serves the document and its reference page.
 */
describe('the OpenAPI contract over HTTP', () => {
  let system: LocalSystem;
  let api: ApiClient;

  beforeAll(async () => {
    system = await startTestSystem();
    api = apiClient(system);
  });
  afterAll(() => system?.stop());

  it('serves /openapi.json and a rendered reference at /docs, its script from the local server', async () => {
    const doc = await fetch(`${system.url}/openapi.json`);
    expect(doc.status).toBe(200);
    expect(((await doc.json()) as { openapi: string }).openapi).toBe('3.1.0');
    const page = await fetch(`${system.url}/docs`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('/docs/scalar.js');
    expect(html).toContain('/openapi.json');
    expect(html).not.toMatch(/https?:\/\/(cdn|unpkg|jsdelivr)/);
    const script = await fetch(`${system.url}/docs/scalar.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toContain('javascript');
    await script.arrayBuffer();
  });

  it('records the responses of the typed client and checks them, errors included', async () => {
    const before = contractLog.length;
    expect((await api.GET('/health')).response.status).toBe(200);
    expect((await api.GET('/programs')).response.status).toBe(401);
    const admin = await tokenFor(system, ['admin'], 'admin@example.com');
    expect((await api.GET('/programs', { headers: bearer(admin) })).data).toEqual({ programs: [] });
    expect((await api.GET('/payout-runs/{runId}', { params: { path: { runId: 'run_none' } }, headers: bearer(admin) })).response.status).toBe(404);
    expect(contractLog.slice(before).map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'GET /health 200',
      'GET /programs 401',
      'GET /programs 200',
      'GET /payout-runs/{runId} 404',
    ]);
  });

  it('refuses an undocumented status, an undocumented media type and a body off its schema', () => {
    const json = 'application/json; charset=utf-8';
    expect(contractProblem({ method: 'GET', path: '/health', status: 200, contentType: json, body: { status: 'ok' } })).toBeUndefined();
    expect(contractProblem({ method: 'GET', path: '/health', status: 201, contentType: json, body: {} })).toMatch(/does not document/);
    expect(contractProblem({ method: 'GET', path: '/health', status: 200, contentType: 'text/plain', body: 'ok' })).toMatch(/text\/plain/);
    expect(contractProblem({ method: 'GET', path: '/health', status: 200, contentType: json, body: { status: 'ok', extra: 1 } })).toMatch(/does not match/);
    expect(contractProblem({ method: 'GET', path: '/programs', status: 401, contentType: json, body: { message: 'Unauthorized' } })).toMatch(/does not match/);
    expect(contractProblem({ method: 'GET', path: '/nowhere', status: 200, contentType: json, body: {} })).toMatch(/not in docs\/openapi.json/);
  });
});
