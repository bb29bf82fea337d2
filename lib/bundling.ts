import type { BuildOptions } from 'esbuild';

/** CommonJS dependencies bundled into ESM still call require(): every output file gets one. */
export const BANNER = "import { createRequire as __prmCreateRequire } from 'node:module'; const require = __prmCreateRequire(import.meta.url);";

/**
 * Left out of the bundles although the SDK refers to them, because nothing reaches them on Lambda.
 * Each is referred to only by a dynamic `import()` inside a function (checked in the SDK sources;
 * bench/coldstart.ts lists them as "loaded only if used", never at load), so a bundle without them
 * initialises and runs normally:
 * - the credential providers after `fromEnv` in the default chain of @aws-sdk/credential-provider-node
 *   (SSO, ini, process, web identity, HTTP, container/instance metadata, login), and with them what
 *   only they import (@aws-sdk/nested-clients, @aws-sdk/token-providers). Lambda puts the role's
 *   credentials in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN and sets no AWS_PROFILE,
 *   so `fromEnv` answers and the chain stops there (verified with a bundle run in a directory with no
 *   node_modules: S3 presigning and DynamoDB/SES/S3 calls sign and send). Only with AWS_PROFILE set
 *   would the chain go on; on Lambda it would fail then anyway (no shared config files, no instance
 *   metadata), here with "Cannot find package '@aws-sdk/credential-provider-ini'".
 * - bowser, a browser user-agent parser imported by browser-only code of @aws-sdk/core that the
 *   bundler drops anyway; external, esbuild's code splitting no longer emits it as an unused chunk.
 * Together 104-130 KB of each function's bundle.
 */
export const LAZY_EXTERNALS = [
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-web-identity',
  '@aws-sdk/credential-provider-http',
  '@aws-sdk/credential-provider-login',
  '@smithy/credential-provider-imds',
  'bowser',
];

/**
 * The esbuild options of every Lambda bundle (lib/functions.ts builds with them, bench/coldstart.ts
 * analyses with them). ESM with code splitting: `index.mjs` holds what the handler needs at load;
 * modules the code loads with `import()` (the S3, SES, EventBridge and Secrets Manager adapters,
 * see functions/core/port.ts `lazy`) become files of their own, read and compiled only when first
 * used. Without splitting, esbuild inlines an `import()`ed module into the one file, where it is
 * still parsed at load and, wrapped for lazy evaluation, no longer tree-shaken (bigger, not faster).
 */
export const BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  mainFields: ['module', 'main'],
  banner: { js: BANNER },
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  splitting: true,
  entryNames: '[name]',
  chunkNames: '[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  external: LAZY_EXTERNALS,
  logLevel: 'warning',
} as const satisfies BuildOptions;
