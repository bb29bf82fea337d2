import { spawn } from 'node:child_process';
import { isBuiltin } from 'node:module';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { FUNCTIONS, STATE_MACHINES, type FunctionSpec } from '../functions/catalog.ts';
import { BUNDLE_OPTIONS } from '../lib/bundling.ts';
import { ROOT } from '../local/definitions.ts';
import { atMost, fmtNumber, heading, median, round, table, targetsTable, type PartResult, type Target } from './lib/report.ts';

/**
 * Cold start: `cdk synth` into a temporary directory, every Lambda asset's bundle (mapped to its
 * function through the template's Code.S3Key, the asset manifest and the construct path), its size,
 * and the median module-initialisation time of each bundle in a fresh `node` process (10 runs).
 * A bundle is `index.mjs` and the chunks code splitting made: its size is all of its .mjs files;
 * init imports `index.mjs` (which loads the chunks it imports statically); the chunks loaded only
 * by `import()` are then imported too, in the same process, and timed as "init + lazy chunks": the
 * most a first invocation can add by loading code.
 * Then esbuild, with the bundling options of lib/bundling.ts, on the largest function's entry,
 * to show from its metafile what the bytes are.
 */
const RUNS = Number(process.env.BENCH_COLDSTART_RUNS ?? 10);
const MAX_KB = 200;
const MAX_INIT_MS = 100;

interface Bundle {
  fn: string;
  logicalId: string;
  asset: string;
  file: string;
  /** Every .mjs file of the asset: index.mjs and its chunks. */
  bundleKB: number;
  /** index.mjs and the chunks it imports statically: what init reads and compiles. */
  initKB: number;
  /** Chunks loaded only through import(), i.e. on first use. */
  lazyFiles: string[];
  /** .mjs files in the asset. */
  files: number;
  assetKB: number;
  memoryMB: number;
  env: Record<string, string>;
  initMs: number[];
  /** init, then every lazy chunk imported as well. */
  allLoadedMs: number[];
  processMs: number[];
  /** Bare module specifiers the bundle imports at load (left out of it, e.g. the AWS SDK). */
  externals: string[];
  /** Left out too, but only loaded if the code that needs them runs. */
  lazyExternals: string[];
}

const isPackage = (spec: string) => !isBuiltin(spec) && /^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*(\/[\w.-]+)*$/.test(spec);

/** The files a module graph loads when its entry is imported: the entry and its static imports, transitively. */
function staticClosure(entry: string, importsOf: (file: string) => { path: string; kind: string; external?: boolean }[]): Set<string> {
  const seen = new Set<string>([entry]);
  const todo = [entry];
  while (todo.length) {
    for (const i of importsOf(todo.pop()!)) {
      if (i.external || i.kind !== 'import-statement' || seen.has(i.path)) continue;
      seen.add(i.path);
      todo.push(i.path);
    }
  }
  return seen;
}

/**
 * Bare specifiers a bundle leaves to the runtime, found by esbuild parsing it (not by text search:
 * the SDK's error messages quote import statements): `static` ones are loaded when the module is
 * imported (they count in init); `lazy` ones (import() or require() in code) only when that runs.
 * Bare specifiers found only in lazily loaded chunks count as lazy. Also the bundle's own files
 * that `index.mjs` loads statically (`initFiles`, absolute paths).
 */
async function externalsOf(file: string): Promise<{ static: string[]; lazy: string[]; initFiles: string[] }> {
  const result = await build({
    entryPoints: [file],
    bundle: true,
    platform: 'node',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [{ name: 'bare-is-external', setup: (b) => b.onResolve({ filter: /^[^./]/ }, (args) => ({ path: args.path, external: true })) }],
  });
  const stat = new Set<string>();
  const lazy = new Set<string>();
  const inputs = result.metafile.inputs;
  const entry = Object.keys(inputs).find((p) => join(process.cwd(), p) === file || p === file);
  if (!entry) throw new Error(`${file}: not among the inputs esbuild reports for it`);
  const initInputs = staticClosure(entry, (p) => inputs[p]?.imports ?? []);
  for (const [path, input] of Object.entries(inputs)) {
    for (const i of input.imports) {
      if (!i.external || !isPackage(i.path)) continue;
      if (i.kind === 'import-statement' && initInputs.has(path)) stat.add(i.path);
      else lazy.add(i.path);
    }
  }
  for (const p of stat) lazy.delete(p);
  return { static: [...stat].sort(), lazy: [...lazy].sort(), initFiles: [...initInputs].map((p) => join(process.cwd(), p)) };
}

function exec(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

const dirKB = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((s, e) => s + (e.isDirectory() ? dirKB(join(dir, e.name)) * 1024 : statSync(join(dir, e.name)).size), 0) / 1024;

/** The Lambda functions of the synthesized template, each with its asset directory. */
function bundlesOf(out: string): Bundle[] {
  const templateFile = readdirSync(out).find((f) => f.endsWith('.template.json'));
  if (!templateFile) throw new Error(`cdk synth wrote no template into ${out}`);
  const stack = templateFile.replace(/\.template\.json$/, '');
  const template = JSON.parse(readFileSync(join(out, templateFile), 'utf8')) as { Resources: Record<string, { Type: string; Properties: Record<string, any>; Metadata?: Record<string, any> }> };
  const assets = JSON.parse(readFileSync(join(out, `${stack}.assets.json`), 'utf8')) as { files: Record<string, { source: { path: string; packaging?: string } }> };
  const bundles: Bundle[] = [];
  for (const [logicalId, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const s3Key = r.Properties.Code?.S3Key as string | undefined;
    const hash = s3Key?.replace(/\.zip$/, '');
    const asset = (hash && assets.files[hash]?.source.path) ?? (r.Metadata?.['aws:asset:path'] as string | undefined);
    if (!asset) continue; // an inline or CDK-internal function without a bundled asset
    const path = String(r.Metadata?.['aws:cdk:path'] ?? logicalId);
    const fn = path.split('/')[1] ?? logicalId;
    const dir = join(out, asset);
    const handlerFile = `${String(r.Properties.Handler ?? 'index.handler').split('.')[0]}.mjs`;
    const file = join(dir, handlerFile);
    const jsKB = readdirSync(dir).filter((f) => f.endsWith('.mjs')).reduce((s, f) => s + statSync(join(dir, f)).size, 0) / 1024;
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries((r.Properties.Environment?.Variables ?? {}) as Record<string, unknown>)) env[k] = typeof v === 'string' ? v : `dummy-${k.toLowerCase()}`;
    bundles.push({ fn, logicalId, asset, file, bundleKB: jsKB, initKB: 0, lazyFiles: [], files: 0, assetKB: dirKB(dir), memoryMB: Number(r.Properties.MemorySize ?? 128), env, initMs: [], allLoadedMs: [], processMs: [], externals: [], lazyExternals: [] });
  }
  return bundles;
}

/**
 * Imports each argument in turn (a bundle file, or bare specifiers) and prints how long it took in
 * all (ms) and until the first one was loaded (firstMs). The first .mjs must export a handler.
 */
const RUNNER = `
const t0 = performance.now();
let firstMs;
for (const [i, spec] of process.argv.slice(2).entries()) {
  const mod = await import(spec);
  if (i === 0 && spec.endsWith('.mjs') && typeof mod.handler !== 'function') { console.error('no handler export'); process.exit(3); }
  firstMs ??= performance.now() - t0;
}
process.stdout.write(JSON.stringify({ ms: performance.now() - t0, firstMs }));
`;

/** Size of the smallest bundle a DynamoDB-using function could have: the document client and one command. */
async function documentClientFloorKB(): Promise<number> {
  const out = await build({
    ...BUNDLE_OPTIONS,
    stdin: {
      contents: "import { DynamoDBClient } from '@aws-sdk/client-dynamodb'; import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb'; export const client = DynamoDBDocumentClient.from(new DynamoDBClient({})); export { GetCommand };",
      resolveDir: ROOT,
      loader: 'js',
    },
    entryNames: 'floor',
    outdir: join(tmpdir(), 'prm-floor'),
    write: false,
  });
  return out.outputFiles.filter((f) => f.path.endsWith('.mjs')).reduce((t, f) => t + f.contents.byteLength, 0) / 1024;
}

async function timeImports(runner: string, b: Bundle, specs: string[], flags: string[]): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const env = lambdaEnv(b);
    delete env.NODE_OPTIONS;
    const r = await exec(process.execPath, [...flags, runner, ...specs], { env, timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`${b.fn}: importing ${specs.join(' ')} failed (exit ${r.code}): ${r.stderr.slice(-2000)}`);
    out.push((JSON.parse(r.stdout) as { ms: number }).ms);
  }
  return out;
}

/** Lambda-like environment: the function's own variables (references replaced by dummies), no network. */
function lambdaEnv(b: Bundle): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_LAMBDA_FUNCTION_NAME: b.fn,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(b.memoryMB),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    TABLE_NAME: 'prm-bench',
    BUCKET_NAME: 'prm-bench',
    LINK_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:bench',
    EVENT_BUS_NAME: 'prm-bench',
    ...Object.fromEntries(Object.values(STATE_MACHINES).map((m) => [m.arnEnv, 'arn:aws:states:us-east-1:000000000000:stateMachine:bench'])),
    ...b.env,
    PRM_CONFIG: JSON.stringify({ baseUrl: 'https://bench.example' }),
  };
}

/**
 * Bytes of the bundle (every output .mjs: index and chunks) by input file and by package, and how
 * many of them init loads, from esbuild's metafile (the options of lib/bundling.ts).
 */
async function analyse(entry: string, external: string[]) {
  const result = await build({
    ...BUNDLE_OPTIONS,
    external: [...new Set([...BUNDLE_OPTIONS.external, ...external])],
    entryPoints: { index: join(ROOT, entry) },
    metafile: true,
    write: false,
    outdir: 'out',
    logLevel: 'silent',
  });
  const outputs: Metafile['outputs'] = Object.fromEntries(Object.entries(result.metafile.outputs).filter(([p]) => p.endsWith('.mjs')));
  const index = Object.keys(outputs).find((p) => outputs[p]!.entryPoint)!;
  const atInit = staticClosure(index, (p) => outputs[p]?.imports ?? []);
  const pkgOf = (path: string) => {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
    return m ? m[1]! : '(project code)';
  };
  const inputBytes = new Map<string, number>();
  const byPackage = new Map<string, { bytes: number; initBytes: number }>();
  for (const [out, o] of Object.entries(outputs)) {
    for (const [path, i] of Object.entries(o.inputs)) {
      inputBytes.set(path, (inputBytes.get(path) ?? 0) + i.bytesInOutput);
      const p = byPackage.get(pkgOf(path)) ?? { bytes: 0, initBytes: 0 };
      p.bytes += i.bytesInOutput;
      if (atInit.has(out)) p.initBytes += i.bytesInOutput;
      byPackage.set(pkgOf(path), p);
    }
  }
  const family = (pkg: string) => (pkg.startsWith('@aws-sdk/') ? '@aws-sdk/*' : pkg.startsWith('@smithy/') ? '@smithy/*' : pkg.startsWith('@aws-lambda-powertools/') ? '@aws-lambda-powertools/*' : pkg);
  const byFamily = new Map<string, { bytes: number; initBytes: number }>();
  for (const [pkg, b] of byPackage) {
    const f = byFamily.get(family(pkg)) ?? { bytes: 0, initBytes: 0 };
    f.bytes += b.bytes;
    f.initBytes += b.initBytes;
    byFamily.set(family(pkg), f);
  }
  const sum = (paths: string[]) => paths.reduce((s, p) => s + outputs[p]!.bytes, 0);
  return {
    totalBytes: sum(Object.keys(outputs)),
    initBytes: sum([...atInit]),
    files: Object.keys(outputs).length,
    topInputs: [...inputBytes].map(([path, bytes]) => ({ path, bytes })).sort((a, b) => b.bytes - a.bytes).slice(0, 5),
    byPackage: [...byPackage].map(([pkg, b]) => ({ pkg, ...b })).sort((a, b) => b.bytes - a.bytes),
    byFamily: [...byFamily].map(([family, b]) => ({ family, ...b })).sort((a, b) => b.bytes - a.bytes),
  };
}

export async function run(): Promise<PartResult> {
  const t0 = performance.now();
  heading(`coldstart: cdk synth, bundle sizes, module init (${RUNS} fresh node processes per bundle)`);
  const work = mkdtempSync(join(tmpdir(), 'prm-coldstart-'));
  try {
    const out = join(work, 'cdk.out');
    const synth = await exec(join(ROOT, 'node_modules', '.bin', 'cdk'), ['synth', '--quiet', '-o', out], { cwd: ROOT, env: { ...process.env, CDK_DISABLE_VERSION_CHECK: 'true' }, timeoutMs: 300_000 });
    if (synth.code !== 0) throw new Error(`cdk synth failed (exit ${synth.code}):\n${synth.stderr.slice(-3000)}`);
    console.log(`cdk synth: ${round(synth.ms / 1000, 1)} s`);
    const bundles = bundlesOf(out);
    for (const b of bundles) {
      const ext = await externalsOf(b.file);
      b.externals = ext.static;
      b.lazyExternals = ext.lazy;
      const dir = join(out, b.asset);
      const files = readdirSync(dir).filter((f) => f.endsWith('.mjs')).map((f) => join(dir, f));
      b.initKB = files.filter((f) => ext.initFiles.includes(f)).reduce((s, f) => s + statSync(f).size, 0) / 1024;
      b.lazyFiles = files.filter((f) => !ext.initFiles.includes(f));
      b.files = files.length;
    }
    // What a bundle leaves out must come from the runtime. Node.js 22 Lambda provides the AWS SDK v3
    // (@aws-sdk/*); here it resolves to the project's copy, and nothing else is made resolvable.
    const externals = [...new Set(bundles.flatMap((b) => b.externals))];
    const lazyExternals = [...new Set(bundles.flatMap((b) => b.lazyExternals))];
    const packages = [...new Set(externals.map((e) => e.split('/')[0]!))];
    mkdirSync(join(work, 'node_modules'), { recursive: true });
    for (const p of packages) if (p === '@aws-sdk') symlinkSync(join(ROOT, 'node_modules', p), join(work, 'node_modules', p), 'dir');
    const runner = join(work, 'runner.mjs');
    writeFileSync(runner, RUNNER);
    for (const b of bundles) {
      for (let i = 0; i < RUNS; i++) {
        const flags = b.env.NODE_OPTIONS ? b.env.NODE_OPTIONS.split(/\s+/) : [];
        const env = lambdaEnv(b);
        delete env.NODE_OPTIONS; // passed as flags, exactly as the function's NODE_OPTIONS says
        const r = await exec(process.execPath, [...flags, runner, b.file, ...b.lazyFiles], { env, timeoutMs: 60_000 });
        if (r.code !== 0) throw new Error(`${b.fn}: importing ${b.file} failed (exit ${r.code}): ${r.stderr.slice(-2000)}`);
        const t = JSON.parse(r.stdout) as { ms: number; firstMs: number };
        b.initMs.push(t.firstMs);
        b.allLoadedMs.push(t.ms);
        b.processMs.push(r.ms);
      }
    }
    console.log(
      table(
        ['function', 'bundle KB (all .mjs)', 'read at init KB', 'files', 'asset KB (+ source maps)', 'memory MB', 'init median ms', 'init min-max ms', 'init + lazy chunks median ms', 'process median ms', 'imported from the runtime at load'],
        bundles.map((b) => [
          b.fn,
          fmtNumber(round(b.bundleKB, 1)),
          fmtNumber(round(b.initKB, 1)),
          b.files,
          fmtNumber(round(b.assetKB, 1)),
          b.memoryMB,
          fmtNumber(round(median(b.initMs), 1)),
          `${round(Math.min(...b.initMs), 1)}-${round(Math.max(...b.initMs), 1)}`,
          fmtNumber(round(median(b.allLoadedMs), 1)),
          fmtNumber(round(median(b.processMs), 1)),
          b.externals.map((e) => e.replace('@aws-sdk/', '')).join(' ') || 'none',
        ]),
        ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
      ),
    );
    console.log(
      `Init = import() of the bundle in a fresh node ${process.version} process with the function's environment (NODE_OPTIONS as deployed); deployed runtime is Node.js 22 on arm64. Process = spawn to exit.\n` +
        `Imported at load, not bundled: ${externals.length ? externals.join(', ') : 'nothing'}${packages.includes('@aws-sdk') ? ' (the runtime provides @aws-sdk/*; here the project\'s copy, so init includes loading it)' : ''}.` +
        (lazyExternals.length ? ` Left out and loaded only if used: ${lazyExternals.join(', ')}.` : ''),
    );

    const largest = [...bundles].sort((a, b) => b.bundleKB - a.bundleKB)[0]!;
    const spec = (FUNCTIONS as Record<string, FunctionSpec>)[largest.fn];
    let analysis: Awaited<ReturnType<typeof analyse>> | undefined;
    if (spec) {
      analysis = await analyse(spec.entry, [...largest.externals, ...largest.lazyExternals]);
      const kb = (n: number) => fmtNumber(round(n / 1024, 1));
      console.log(
        `\nWhat the largest bundle (${largest.fn}, ${spec.entry}) is made of; esbuild with the options of lib/bundling.ts gives ${kb(analysis.totalBytes)} KB in ${analysis.files} files, ${kb(analysis.initBytes)} KB of them read at init (synth: ${fmtNumber(round(largest.bundleKB, 1))} KB):`,
      );
      console.log(table(['top inputs', 'KB in bundle'], analysis.topInputs.map((i) => [i.path.replace(/^.*node_modules\//, ''), kb(i.bytes)]), ['l', 'r']));
      console.log(
        table(
          ['by package family', 'KB in bundle', 'share', 'KB read at init'],
          analysis.byFamily.slice(0, 8).map((f) => [f.family, kb(f.bytes), `${Math.round((f.bytes / analysis!.totalBytes) * 100)}%`, kb(f.initBytes)]),
          ['l', 'r', 'r', 'r'],
        ),
      );
    }

    // Where the slowest bundle's init goes: without source maps, and its runtime imports alone.
    const slow = [...bundles].sort((a, b) => median(b.initMs) - median(a.initMs))[0]!;
    // Source maps are opt-in (lib/functions.ts, -c sourceMaps=true): time the slowest bundle both ways.
    const deployedFlags = slow.env.NODE_OPTIONS ? slow.env.NODE_OPTIONS.split(/\s+/) : [];
    const mapsDeployed = deployedFlags.includes('--enable-source-maps');
    const withMaps = mapsDeployed ? slow.initMs : await timeImports(runner, slow, [slow.file], [...deployedFlags, '--enable-source-maps']);
    const noMaps = mapsDeployed ? await timeImports(runner, slow, [slow.file], deployedFlags.filter((f) => f !== '--enable-source-maps')) : slow.initMs;
    const sdkOnly = slow.externals.length ? await timeImports(runner, slow, slow.externals, []) : [];
    const breakdown = {
      fn: slow.fn,
      asDeployedMs: round(median(slow.initMs), 1),
      sourceMapsDeployed: mapsDeployed,
      withSourceMapsMs: round(median(withMaps), 1),
      withoutSourceMapsMs: round(median(noMaps), 1),
      runtimeImportsAloneMs: sdkOnly.length ? round(median(sdkOnly), 1) : 0,
    };
    console.log(
      `\nWhere ${slow.fn}'s init goes (medians of ${RUNS}): as deployed ${breakdown.asDeployedMs} ms (source maps ${mapsDeployed ? 'on' : 'off'}); without --enable-source-maps ${breakdown.withoutSourceMapsMs} ms, with it ${breakdown.withSourceMapsMs} ms` +
        (slow.externals.length
          ? `; its runtime-provided imports alone (${slow.externals.join(', ')}) ${breakdown.runtimeImportsAloneMs} ms; so the bundle's own code ~${round(breakdown.withoutSourceMapsMs - breakdown.runtimeImportsAloneMs, 0)} ms`
          : ' (all of it the bundle itself: nothing is imported from the runtime)') +
        `. Source maps are on only with -c sourceMaps=true (lib/functions.ts).`,
    );

    const maxKB = Math.max(...bundles.map((b) => b.bundleKB));
    const maxInit = Math.max(...bundles.map((b) => median(b.initMs)));
    const slowest = bundles.find((b) => median(b.initMs) === maxInit)!;
    const targets: Target[] = [atMost(`largest bundle (${largest.fn}); every bundle must be`, round(maxKB, 1), MAX_KB, 'KB'), atMost(`slowest median init (${slowest.fn}); every bundle must be`, round(maxInit, 1), MAX_INIT_MS, 'ms')];
    console.log(`\nTargets:\n${targetsTable(targets)}`);
    const notes: string[] = [];
    if (maxKB > MAX_KB && analysis) {
      const over = bundles.filter((b) => b.bundleKB > MAX_KB).length;
      const fam = analysis.byFamily.slice(0, 3).map((f) => `${f.family} ${Math.round((f.bytes / analysis!.totalBytes) * 100)}%`).join(', ');
      const sdkBundled = analysis.byFamily.some((f) => f.family === '@aws-sdk/*');
      const floorKB = sdkBundled ? await documentClientFloorKB() : undefined;
      notes.push(
        `${over} of ${bundles.length} bundles are over ${MAX_KB} KB (largest ${fmtNumber(round(maxKB, 1))} KB, ${largest.fn}): by esbuild's metafile the bytes are ${fam}` +
          `${sdkBundled ? '; lib/functions.ts bundles the AWS SDK rather than leaving it to the runtime' : ''}` +
          `${floorKB ? `. The DynamoDB document client and the SDK core alone, bundled with the same options, are ${fmtNumber(round(floorKB, 1))} KB: no function that uses DynamoDB can be under ${MAX_KB} KB with the SDK bundled` : ''}.`,
      );
    }
    if (maxInit > MAX_INIT_MS) {
      const over = bundles.filter((b) => median(b.initMs) > MAX_INIT_MS).map((b) => `${b.fn} ${round(median(b.initMs), 0)} ms`);
      notes.push(
        `median init over ${MAX_INIT_MS} ms: ${over.join(', ')}. ${breakdown.fn}: ${breakdown.asDeployedMs} ms as deployed (${fmtNumber(round(slow.initKB, 0))} KB read at init), ${breakdown.withoutSourceMapsMs} ms without --enable-source-maps` +
          `${slow.externals.length ? `, ${breakdown.runtimeImportsAloneMs} ms for its runtime-provided imports alone` : ''}: compiling and evaluating the module graph read at init (SDK clients, zod schemas) dominates.`,
      );
    }
    for (const n of notes) console.log(`MISSED: ${n}`);
    return {
      part: 'coldstart',
      targets,
      notes,
      raw: {
        runs: RUNS,
        synthSeconds: round(synth.ms / 1000, 1),
        node: process.version,
        bundles: bundles.map((b) => ({ fn: b.fn, logicalId: b.logicalId, asset: b.asset, externals: b.externals, lazyExternals: b.lazyExternals, bundleKB: round(b.bundleKB, 1), initKB: round(b.initKB, 1), files: b.files, assetKB: round(b.assetKB, 1), memoryMB: b.memoryMB, initMs: b.initMs.map((x) => round(x, 1)), initMedianMs: round(median(b.initMs), 1), initPlusLazyChunksMedianMs: round(median(b.allLoadedMs), 1), processMedianMs: round(median(b.processMs), 1) })),
        initBreakdown: breakdown,
        largestBundleAnalysis: analysis ? { fn: largest.fn, totalBytes: analysis.totalBytes, initBytes: analysis.initBytes, files: analysis.files, topInputs: analysis.topInputs, byFamily: analysis.byFamily, byPackage: analysis.byPackage.slice(0, 20) } : undefined,
      },
      seconds: round((performance.now() - t0) / 1000, 1),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
