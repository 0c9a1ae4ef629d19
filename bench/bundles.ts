/**
 * Benchmark: Lambda bundle size and cold init on Node 22 (the nodejs22.x runtime), the
 * naive options (NAIVE_BUNDLE: CJS main fields, linked source map, --enable-source-maps)
 * against the deployed ones (BUNDLE), built from the same sources in the same run.
 *
 * Cold init: a fresh Node 22 process per sample loads the bundle the way the runtime
 * does (require, then read `handler`), timed inside the process with performance.now
 * around require; the median of RUNS samples is reported. Goals (issue 12 §5): <= 300 KB,
 * <= 50 ms. Also the per-record log line's CPU cost in typesense-sync (benchRecordLog).
 * Times are reported, never asserted. Run alone: `npx tsx bench/bundles.ts [samples]`.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { buildSync, type Metafile } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { Console } from 'node:console';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { BUNDLE, esbuildOptions, NAIVE_BUNDLE, type BundleSettings } from '../lib/bundling';
import { createTypesenseHandler } from '../lambda/typesense-sync/handler';
import { FUNCTION_NAMES } from '../lib/function-names';
import { ensureNode22, node22Unavailable } from '../local/node22';
import { insertRecord, streamEvent } from '../test/support/events';

const ROOT = resolve(__dirname, '..');
const RUNS = 15;

/** The Lambda entries that get bundled: every function the construct deploys. */
export const BUNDLE_ENTRIES: string[] = [...FUNCTION_NAMES].filter((name) => existsSync(join(ROOT, 'lambda', name, 'index.ts')));

/** Values for variables the entries require at init; anything else gets a placeholder. */
const SAMPLE_ENV: Record<string, string> = {
  TABLE_NAME: 'bench-table',
  TYPESENSE_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/typesense.fifo',
};

/** Variables an entry reads through requireEnv, found in its own and the shared sources. */
export function requiredEnv(entry: string): string[] {
  const names = new Set<string>();
  for (const dir of [join(ROOT, 'lambda', entry), join(ROOT, 'lambda', 'shared')]) {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const text = readFileSync(join(dir, file), 'utf8');
      for (const match of text.matchAll(/requireEnv\(\s*'([A-Z0-9_]+)'/g)) names.add(match[1]!);
      // requireEnv(AUDIT_ENV.historyTable, ...): the name is in that constant, in the same folder.
      for (const match of text.matchAll(/requireEnv\(\s*[A-Z_]+\.(\w+)/g)) {
        const literal = new RegExp(`\\b${match[1]}:\\s*'([A-Z0-9_]+)'`).exec(text);
        if (literal) names.add(literal[1]!);
      }
    }
  }
  // Required in one mode only (AUDIT_SENSITIVE=hash), so not at every init.
  names.delete('AUDIT_HASH_SECRET_ARN');
  return [...names].sort();
}

/** The environment a Lambda function of this entry gets: region, service name, its required variables. */
export function lambdaEnv(entry: string, settings: BundleSettings): Record<string, string> {
  const env: Record<string, string> = { AWS_REGION: 'us-east-1', POWERTOOLS_SERVICE_NAME: entry, LOG_LEVEL: 'INFO' };
  for (const name of requiredEnv(entry)) env[name] = SAMPLE_ENV[name] ?? `bench-${name.toLowerCase()}`;
  if (settings.enableSourceMaps) env.NODE_OPTIONS = '--enable-source-maps';
  return env;
}

export interface BuiltBundle {
  readonly file: string;
  readonly bytes: number;
  readonly mapBytes: number;
  /** Names of the packages with code in the bundle. */
  readonly packages: string[];
  /** Packages bundled from more than one folder (two versions, or one nested twice). */
  readonly duplicates: string[];
  /** esbuild's warnings (e.g. import.meta in a CJS bundle): each is a bug in the bundle. */
  readonly warnings: string[];
}

export function buildBundle(entry: string, settings: BundleSettings, outDir: string): BuiltBundle {
  const file = join(outDir, entry, 'index.js');
  const { metafile, warnings } = buildSync(esbuildOptions(settings, join(ROOT, 'lambda', entry, 'index.ts'), file));
  return {
    file,
    bytes: statSync(file).size,
    mapBytes: existsSync(`${file}.map`) ? statSync(`${file}.map`).size : 0,
    packages: [...packageRoots(metafile!).keys()].sort(),
    duplicates: duplicatePackages(metafile!),
    warnings: warnings.map((w) => `${w.location?.file ?? ''}: ${w.text}`),
  };
}

/** Package name to the node_modules folders its bundled code comes from (tree-shaken files excluded). */
function packageRoots(metafile: Metafile): Map<string, Set<string>> {
  const roots = new Map<string, Set<string>>();
  const inputs = Object.values(metafile.outputs).flatMap((output) => Object.entries(output.inputs));
  for (const [path] of inputs.filter(([, input]) => input.bytesInOutput > 0)) {
    const match = /^(.*node_modules\/((?:@[^/]+\/)?[^/]+))\//.exec(path);
    if (!match) continue;
    const set = roots.get(match[2]!) ?? new Set<string>();
    set.add(match[1]!);
    roots.set(match[2]!, set);
  }
  return roots;
}

/** Package names whose files come from more than one node_modules folder. */
export function duplicatePackages(metafile: Metafile): string[] {
  return [...packageRoots(metafile)].filter(([, set]) => set.size > 1).map(([name]) => name).sort();
}

/** Loads the bundle in a fresh Node process; returns the ms require took, or throws what the load threw. */
export function loadBundle(node: string, file: string, env: Record<string, string>): number {
  const script = [
    "const { performance } = require('node:perf_hooks');",
    'const start = performance.now();',
    `const mod = require(${JSON.stringify(file)});`,
    'const ms = performance.now() - start;',
    "if (typeof mod.handler !== 'function') throw new Error('handler export is ' + typeof mod.handler);",
    'process.stdout.write(JSON.stringify({ ms }));',
  ].join('\n');
  // Only the function's environment (plus PATH): no NODE_COMPILE_CACHE or other local flags.
  const run = spawnSync(node, ['-e', script], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`loading ${file} failed: ${run.stderr.trim() || run.error?.message}`);
  return (JSON.parse(run.stdout) as { ms: number }).ms;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const kb = (bytes: number) => Math.round(bytes / 102.4) / 10;
const ms = (value: number) => Math.round(value * 10) / 10;
const camel = (name: string) => name.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());

/**
 * typesense-sync's CPU per record on a 100-record batch, at LOG_LEVEL=INFO (the per-record line
 * off: the default since it moved to DEBUG) and at DEBUG (one 'stream record' line per record,
 * which INFO used to print). Lines go through Powertools to /dev/null with synchronous writes, as
 * stdout does on Lambda; SQS is a fake that accepts every entry. Alternating batches.
 */
export async function benchRecordLog(iterations = 300): Promise<Record<string, number>> {
  const fd = openSync('/dev/null', 'w');
  const lines = { INFO: 0, DEBUG: 0 };
  const logger = (level: 'INFO' | 'DEBUG') => {
    const log = new Logger({ serviceName: 'typesense-sync', logLevel: level });
    const stdout = new Writable({ write: (chunk, _encoding, done) => (lines[level]++, writeSync(fd, chunk), done()) });
    // Powertools keeps its Console in a plain property; point it at /dev/null.
    return Object.assign(log, { console: new Console({ stdout, stderr: stdout }) });
  };
  const sqs = {
    send: async (command: SendMessageBatchCommand) => ({
      Successful: (command.input.Entries ?? []).map((e) => ({ Id: e.Id!, MessageId: e.Id!, MD5OfMessageBody: '' })),
      Failed: [],
      $metadata: {},
    }),
  };
  const records = 100;
  const event: DynamoDBStreamEvent = streamEvent(
    ...Array.from({ length: records }, (_, i) =>
      insertRecord({ PK: 'AIRCRAFT#REGISTRY#FAA', SK: `DETAIL#N${10_000 + i}`, registration: `N${10_000 + i}`, manufacturer: 'CESSNA', model: '172S', owner_name: `OWNER ${i}` }),
    ),
  );
  type Handler = (e: DynamoDBStreamEvent) => Promise<unknown>;
  const handlers = {
    INFO: createTypesenseHandler({ sqs: sqs as never, queueUrl: SAMPLE_ENV.TYPESENSE_QUEUE_URL!, logger: logger('INFO') }) as Handler,
    DEBUG: createTypesenseHandler({ sqs: sqs as never, queueUrl: SAMPLE_ENV.TYPESENSE_QUEUE_URL!, logger: logger('DEBUG') }) as Handler,
  };
  const elapsed = { INFO: 0, DEBUG: 0 };
  const warmup = 30;
  try {
    for (let i = 0; i < warmup + iterations; i++) {
      if (i === warmup) (lines.INFO = 0), (lines.DEBUG = 0);
      for (const level of ['INFO', 'DEBUG'] as const) {
        const start = performance.now();
        await handlers[level](event);
        if (i >= warmup) elapsed[level] += performance.now() - start;
      }
    }
  } finally {
    closeSync(fd);
  }
  const usPerRecord = (level: 'INFO' | 'DEBUG') => ms((elapsed[level] * 1000) / (iterations * records));
  return {
    typesenseSyncUsPerRecordAtInfo: usPerRecord('INFO'),
    typesenseSyncLinesPerBatchAtInfo: lines.INFO / iterations,
    typesenseSyncUsPerRecordAtDebug: usPerRecord('DEBUG'),
    typesenseSyncLinesPerBatchAtDebug: lines.DEBUG / iterations,
  };
}

export async function benchBundles(runs = RUNS): Promise<Record<string, number | string>> {
  const skip = node22Unavailable();
  const node = skip ? undefined : ensureNode22();
  const dir = mkdtempSync(join(tmpdir(), 'bench-bundles-'));
  const figures: Record<string, number | string> = { node: node ? 'v22 (local/node22.ts)' : `skipped: ${skip}`, initSamples: runs };
  try {
    const variants = { naive: NAIVE_BUNDLE, lean: BUNDLE } as const;
    const built = Object.fromEntries(
      Object.entries(variants).map(([variant, settings]) => [
        variant,
        Object.fromEntries(BUNDLE_ENTRIES.map((entry) => [entry, buildBundle(entry, settings, join(dir, variant))])),
      ]),
    ) as Record<keyof typeof variants, Record<string, BuiltBundle>>;

    for (const entry of BUNDLE_ENTRIES) {
      const key = camel(entry);
      const samples: Record<string, number[]> = { naive: [], lean: [] };
      // Interleaved, so machine noise lands on both variants alike.
      for (let i = 0; node && i < runs; i++) {
        for (const variant of ['naive', 'lean'] as const) {
          samples[variant]!.push(loadBundle(node, built[variant][entry]!.file, lambdaEnv(entry, variants[variant])));
        }
      }
      for (const variant of ['naive', 'lean'] as const) {
        const bundle = built[variant][entry]!;
        const prefix = `${key}${variant === 'naive' ? 'Naive' : 'Lean'}`;
        figures[`${prefix}KB`] = kb(bundle.bytes);
        figures[`${prefix}MapKB`] = kb(bundle.mapBytes);
        figures[`${prefix}DuplicatePackages`] = bundle.duplicates.join(' ') || 'none';
        if (!node) continue;
        figures[`${prefix}InitMs`] = ms(median(samples[variant]!));
        // The minimum as well: on a shared machine it moves less with load than the median.
        figures[`${prefix}InitMsMin`] = ms(Math.min(...samples[variant]!));
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { ...figures, ...(await benchRecordLog()) };
}

if (require.main === module) {
  const runs = Number(process.argv[2] ?? RUNS);
  benchBundles(runs).then(
    (result) => console.log(JSON.stringify(result, null, 2)),
    (error) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
