import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '../../functions/catalog.ts';
import { buildOpenApi, buildOpenApiTypes, OPENAPI_TYPES_FILE } from '../../scripts/openapi.ts';

describe('docs/openapi.json', () => {
  it('is generated from the current schemas (run `npm run openapi` after changing them)', () => {
    const committed = JSON.parse(readFileSync('docs/openapi.json', 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(buildOpenApi())));
  });

  it('the generated client types are up to date (run `npm run openapi`)', async () => {
    expect(readFileSync(OPENAPI_TYPES_FILE, 'utf8')).toBe(await buildOpenApiTypes());
  });

  it('documents every route of the catalog, with a 4xx error response and operationIds that are camelCase', () => {
    const doc = buildOpenApi();
    for (const r of ROUTES) {
      const op = doc.paths[r.path]?.[r.method.toLowerCase()] as { operationId: string; responses: Record<string, unknown> } | undefined;
      expect(op, `${r.method} ${r.path}`).toBeDefined();
      expect(op!.operationId).toMatch(/^[a-z][A-Za-z0-9]*$/);
      expect(Object.keys(op!.responses).some((s) => s.startsWith('4'))).toBe(true);
    }
  });
});
