import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '../../functions/catalog.ts';
import { buildOpenApi } from '../../scripts/openapi.ts';

describe('docs/openapi.json', () => {
  it('is generated from the current schemas (run `npm run openapi` after changing them)', () => {
    const committed = JSON.parse(readFileSync('docs/openapi.json', 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(buildOpenApi())));
  });

  it('documents every route of the catalog', () => {
    const doc = buildOpenApi();
    for (const r of ROUTES) expect(doc.paths[r.path]?.[r.method.toLowerCase()]).toBeDefined();
  });
});
