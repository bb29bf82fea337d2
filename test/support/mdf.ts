import { createHash } from 'node:crypto';
import type { LocalSystem } from '../../local/runtime.ts';
import { seedDemo } from '../../local/demo.ts';
import { approvalLinkFor, client, eventually, startTestSystem, type Client } from './system.ts';

export const quarterNow = () => {
  const d = new Date();
  return `${d.getUTCFullYear()}-Q${Math.floor(d.getUTCMonth() / 3) + 1}`;
};
export const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);

export const fundRequestBody = (amount: number, period = quarterNow(), currency = 'USD') => ({
  activity: { type: 'webinar', name: 'Q4 webinar series', description: 'Three webinars for SMB buyers', startDate: daysAgo(20), endDate: daysAgo(10) },
  requested: { amount, currency },
  period,
});

export function proofFile(content: string, fileName = 'invoice.pdf') {
  return { fileName, contentType: 'application/pdf', sha256: createHash('sha256').update(content).digest('hex'), sizeBytes: Buffer.byteLength(content) };
}

export const claimBody = (fundRequestId: string, amount: number, invoiceNumber: string, content = 'proof') => ({
  fundRequestId,
  invoiceNumber,
  amount: { amount, currency: 'USD' },
  activityCompletedOn: daysAgo(10),
  proofOfPerformance: [proofFile(content)],
});

/** Uploads every file of a claim response to its presigned URL, with the headers signed into it. */
export async function uploadAll(uploads: { url: string; headers: Record<string, string> }[], content = 'proof') {
  for (const u of uploads) {
    const res = await fetch(u.url, { method: 'PUT', headers: u.headers, body: content });
    if (res.status !== 200) throw new Error(`upload failed: ${res.status} ${await res.text()}`);
  }
}

/** Decides the newest approval for `recordId` sent to `approver`. */
export async function decide(system: LocalSystem, api: Client, approver: string, recordId: string, decision: Record<string, unknown>, notApprovalId?: string) {
  const link = await eventually(async () => {
    const found = approvalLinkFor(system, approver, recordId);
    return found && found.approvalId !== notApprovalId ? found : undefined;
  });
  const res = await api.post(`/approvals/${link.approvalId}/decision`, { t: link.token, ...decision });
  if (res.status !== 200) throw new Error(`decision failed: ${res.status} ${res.text}`);
  return { ...link, reply: res.body as { approvalId: string; status: string; next?: { approvalId: string; approverRole: string } } };
}

export { seedDemo };

/** The e2e suites' start: a local system with the demo partner, proof uploads checked every second. */
export async function startDemoSystem() {
  const system = await startTestSystem({ config: { claims: { uploadPollSeconds: 1 } } as never });
  const demo = await seedDemo(system);
  return { system, api: client(system), partnerId: demo.partnerId, partner: demo.tokens.partner };
}
