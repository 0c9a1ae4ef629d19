import type { BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');

/**
 * How a Lambda entry is bundled, as plain data: the CDK functions (lib/stream-function.ts),
 * the bundle benchmark (bench/bundles.ts) and the Node 22 load test (test/bundles) all read it,
 * so what we measure is what we deploy.
 */
export interface BundleSettings {
  readonly minify: boolean;
  /** esbuild target, matching the Lambda runtime. */
  readonly target: string;
  readonly format: 'cjs' | 'esm';
  /** package.json fields esbuild resolves, in order ('module' reads the SDK's ESM build). */
  readonly mainFields: readonly string[];
  /**
   * 'none': no map; 'external': a .js.map next to the bundle without a sourceMappingURL
   * comment (kept to map traces offline); 'linked': .js.map plus the comment.
   */
  readonly sourceMap: 'none' | 'external' | 'linked';
  /** NODE_OPTIONS=--enable-source-maps: traces mapped at runtime, paid for on every cold start. */
  readonly enableSourceMaps: boolean;
  /** Modules left to the runtime; empty: the pinned SDK is bundled (the runtime's copy changes under us). */
  readonly externalModules: readonly string[];
  /** Module replacements: package name to a file relative to the project root. */
  readonly alias: Readonly<Record<string, string>>;
}

/** The options the functions were deployed with before issue 12 §5 (the benchmark's baseline). */
export const NAIVE_BUNDLE: BundleSettings = {
  minify: true,
  target: 'node22',
  format: 'cjs',
  mainFields: ['main', 'module'],
  sourceMap: 'linked',
  enableSourceMaps: true,
  externalModules: [],
  alias: {},
};

/**
 * The options the functions are deployed with (figures in BENCHMARKS.md, `npx tsx bench/bundles.ts`):
 * - the SDK's and Powertools' ESM builds ('module' first): esbuild tree-shakes them, the CJS
 *   builds it cannot (e.g. bowser, pulled in by the CJS user-agent code);
 * - the environment-only credential provider (lambda/shared/env-credentials.ts) instead of the
 *   default chain, which Lambda never gets past its first link;
 * - an external source map and no --enable-source-maps: the flag made Node parse the map on every
 *   cold start. Logged stack traces then point into the minified bundle (`at u (index.js:6:29409)`;
 *   errors about a record still name its eventID, PK and SK); the index.js.map beside it (cdk.out,
 *   or the deployed package) maps a frame offline with Node's own SourceMap:
 *   `node -e 'const {SourceMap}=require("node:module"); const m=new SourceMap(JSON.parse(require("fs").readFileSync("index.js.map","utf8"))); console.log(m.findOrigin(6, 29409))'`
 */
export const BUNDLE: BundleSettings = {
  ...NAIVE_BUNDLE,
  mainFields: ['module', 'main'],
  sourceMap: 'external',
  enableSourceMaps: false,
  alias: { '@aws-sdk/credential-provider-node': './lambda/shared/env-credentials.ts' },
};

/** CDK NodejsFunction bundling options for the settings (CDK runs esbuild in the project root). */
export function cdkBundling(settings: BundleSettings = BUNDLE): BundlingOptions {
  const alias = Object.entries(settings.alias).map(([name, file]) => `${name}=${file}`);
  return {
    minify: settings.minify,
    target: settings.target,
    format: settings.format === 'esm' ? OutputFormat.ESM : OutputFormat.CJS,
    mainFields: [...settings.mainFields],
    sourceMap: settings.sourceMap !== 'none',
    ...(settings.sourceMap === 'none'
      ? {}
      : { sourceMapMode: settings.sourceMap === 'external' ? SourceMapMode.EXTERNAL : SourceMapMode.DEFAULT }),
    externalModules: [...settings.externalModules],
    ...(alias.length > 0 ? { esbuildArgs: { '--alias': alias } } : {}),
  };
}

/** The function environment the settings need (merged into the function's own). */
export function bundleEnvironment(settings: BundleSettings = BUNDLE): Record<string, string> {
  return settings.enableSourceMaps ? { NODE_OPTIONS: '--enable-source-maps' } : {};
}

/** The same settings as an esbuild build of one entry (what CDK runs, for benchmarks and tests). */
export function esbuildOptions(settings: BundleSettings, entry: string, outfile: string): BuildOptions {
  const sourcemap = { none: false, external: 'external', linked: 'linked' } as const;
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: settings.target,
    format: settings.format,
    minify: settings.minify,
    mainFields: [...settings.mainFields],
    sourcemap: sourcemap[settings.sourceMap],
    external: [...settings.externalModules],
    alias: Object.fromEntries(Object.entries(settings.alias).map(([name, file]) => [name, join(ROOT, file)])),
    metafile: true,
    logLevel: 'silent',
  };
}
