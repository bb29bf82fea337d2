import { inject } from 'vitest';
import { ulid } from 'ulid';
import { startLocal, type LocalOptions, type LocalSystem } from '../../local/runtime.ts';
import type { Role } from '../../functions/core/auth.ts';

/** The local system on a free port, on the run's shared DynamoDB Local with a table of its own. */
export function startTestSystem(options: LocalOptions = {}): Promise<LocalSystem> {
  return startLocal({ port: 0, ddbEndpoint: inject('ddbEndpoint'), tableName: `e2e-${ulid().toLowerCase()}`, ...options });
}

export interface Client {
  get(path: string, token?: string): Promise<{ status: number; body: any; text: string; headers: Headers }>;
  post(path: string, body: unknown, options?: { token?: string; headers?: Record<string, string> }): Promise<{ status: number; body: any; text: string; headers: Headers }>;
  put(path: string, body: unknown, options?: { token?: string; headers?: Record<string, string> }): Promise<{ status: number; body: any; text: string; headers: Headers }>;
  raw(path: string, init: RequestInit): Promise<{ status: number; body: any; text: string; headers: Headers }>;
}

export function client(system: Pick<LocalSystem, 'url'>): Client {
  const call = async (path: string, init: RequestInit) => {
    const res = await fetch(`${system.url}${path}`, init);
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, body, text, headers: res.headers };
  };
  const withBody = (method: string) => (path: string, body: unknown, options: { token?: string; headers?: Record<string, string> } = {}) =>
    call(path, {
      method,
      headers: { 'content-type': 'application/json', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...(options.headers ?? {}) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  return {
    get: (path, token) => call(path, { headers: token ? { authorization: `Bearer ${token}` } : {} }),
    post: withBody('POST'),
    put: withBody('PUT'),
    raw: call,
  };
}

export const tokenFor = (system: LocalSystem, groups: Role[], email: string, partnerId?: string) =>
  system.token({ sub: `user-${email}`, email, groups, ...(partnerId ? { partnerId } : {}) });

/** Polls until `check` returns a value (workflows run asynchronously). */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The approval link in the newest outbox message to `to` that mentions `recordId`. */
export function approvalLinkFor(system: LocalSystem, to: string, recordId: string): { approvalId: string; token: string; url: string } | undefined {
  const message = [...system.outbox.all()].reverse().find((m) => m.to.includes(to) && m.text.includes(recordId) && m.text.includes('/approvals/'));
  const url = message?.text.match(/https?:\/\/\S+\/approvals\/(apr_[0-9A-Z]+)\?t=(\S+)/);
  return url ? { url: url[0], approvalId: url[1]!, token: decodeURIComponent(url[2]!) } : undefined;
}

export const applicationBody = (overrides: { legalName?: string; website?: string; taxId?: string; country?: string; revenue?: number; email?: string } = {}) => ({
  company: {
    legalName: overrides.legalName ?? 'Acme Networks',
    website: overrides.website ?? 'https://acme.example',
    country: overrides.country ?? 'US',
    taxId: overrides.taxId ?? '12-3456789',
  },
  contact: { name: 'Ada Lovelace', email: overrides.email ?? 'ada@acme.example' },
  partnerType: 'reseller' as const,
  businessPlan: {
    targetSegments: ['smb'],
    projectedAnnualRevenue: { amount: overrides.revenue ?? 150_000_000, currency: 'USD' },
    marketingPlan: 'Webinars and trade shows',
  },
});
