import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import base from '../../vitest.config.ts';

/**
 * The slow tests kept out of the default run (the root config excludes test/scale/**): the same
 * global setup (one DynamoDB Local for the run) and environment as the root config.
 *
 *   npx vitest run --config test/scale/vitest.config.ts
 */
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    ...base.test,
    include: ['test/scale/**/*.test.ts'],
    exclude: ['node_modules/**'],
    testTimeout: 15 * 60_000,
    hookTimeout: 5 * 60_000,
    // Errors of the handlers are printed here: in a run of minutes a bare 500 or FAILED is hard to explain.
    env: { ...base.test?.env, POWERTOOLS_LOG_LEVEL: 'ERROR' },
  },
});
