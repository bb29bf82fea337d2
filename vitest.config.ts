import { defineConfig } from 'vitest/config';

/**
 * One run, five kinds of test (docs/design.md, "Layout"): unit (no I/O), integration (one DynamoDB Local for
 * the run, a table per file), workflows (real ASL files), infra (synthesized template), e2e (local
 * server over HTTP). DynamoDB Local is started once by test/global-setup.ts and stopped at the end.
 */
export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    exclude: ['test/scale/**', 'node_modules/**'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'SILENT' },
  },
});
