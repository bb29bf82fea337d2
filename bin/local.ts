#!/usr/bin/env -S npx tsx
/**
 * `npm start`: the whole PRM on this machine. Flags: --in-memory (throwaway data), --reset (wipe
 * .prm-local first), --no-demo (skip demo data). PORT overrides the port (default 3000).
 */
import { resolve } from 'node:path';
import { startLocal } from '../local/runtime.ts';
import { DEMO_USERS, seedDemo } from '../local/demo.ts';

const args = new Set(process.argv.slice(2));
const inMemory = args.has('--in-memory');
const started = Date.now();
const system = await startLocal({
  port: Number(process.env.PORT ?? 3000),
  ...(inMemory ? {} : { dataDir: resolve('.prm-local'), reset: args.has('--reset') }),
});

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping (DynamoDB Local, server, workflows)…`);
  await system.stop();
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

const demo = args.has('--no-demo') ? undefined : await seedDemo(system);
const seconds = ((Date.now() - started) / 1000).toFixed(1);
console.log(`
PRM is running at ${system.url}  (ready in ${seconds}s, data: ${inMemory ? 'in memory' : '.prm-local/'})

  Health:        ${system.url}/health
  Email outbox:  ${system.url}/_local/outbox/view   (approval links land here)
  Executions:    ${system.url}/_local/executions
`);
if (demo) {
  console.log(`Demo partner ${demo.partnerId} (${demo.legalName}).
Tokens (valid 12 h):
  PARTNER=${demo.tokens.partner}
  ADMIN=${demo.tokens.admin}
  FINANCE=${demo.tokens.finance}
  PARTNER_SALES=${demo.tokens.partnerSales}
  PARTNER_FINANCE=${demo.tokens.partnerFinance}
Its people (invitations in the outbox; accepting one shows that user's own token):
  ${DEMO_USERS.map((u) => `${u.email} (${u.role})`).join(', ')}

Try:
  curl -s ${system.url}/partners/${demo.partnerId} -H "Authorization: Bearer $ADMIN"
  curl -s ${system.url}/me -H "Authorization: Bearer $PARTNER_SALES"
  curl -s ${system.url}/partners/${demo.partnerId}/users -H "Authorization: Bearer $PARTNER"
  curl -s -X POST ${system.url}/applications -H 'Content-Type: application/json' -H 'Idempotency-Key: demo-1' \\
    -d '{"company":{"legalName":"Acme Networks","website":"https://acme.example","country":"US","taxId":"12-3456789"},"contact":{"name":"Ada","email":"ada@acme.example"},"partnerType":"reseller","businessPlan":{"targetSegments":["smb"],"projectedAnnualRevenue":{"amount":150000000,"currency":"USD"},"marketingPlan":"Webinars"}}'
  open ${system.url}/_local/outbox/view   # then click the approval link
`);
}
console.log('Ctrl-C stops everything.');
